"""The job request: what every caller writes as ``job.json`` and the backend reads. Standard
library only: the Blender add-on imports it to write requests.

The caller (the add-on, the CLI's ``generate``, a chain, a farm batch) creates a new job folder and
writes the request there (``job_folder.write_request``); the backend reads it, never rewrites it,
and records what it resolved (seed, size, steps, engine, device...) in the manifest. ``None`` in a request means "the
sampler's, the model's or the machine's default", decided by the backend.

    {"schema": 1, "keys": [{"frame": 10, "image": "/renders/a.png"}, {"frame": 21, "image": "b.png"}],
     "engine": "auto", "sampler": "mpd", "model": "...", "seed": 0, "steps": null, ...}

Key images are absolute, or relative to the job folder. The strip spans the first key's frame to the
last key's, both included: ``frames = last - first + 1``. More than two keys make a chain
(``docs/spec/chains.md``): every key image is exact at its frame.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .errors import RequestError
from .sampler_table import CHAIN_SAMPLERS, DEFAULT_SAMPLER, SAMPLER_NAMES

SCHEMA_VERSION = 1
ENGINES = ("auto", "svd", "rife", "flow")
SAMPLERLESS_ENGINES = ("rife", "flow")  # no sampler, seed or steps: any number of keys
RIFE_SCALES = (0.25, 0.5, 1.0, 2.0)  # RIFE's flow resolution; Practical-RIFE's advice: 0.5 for 4K
RIFE_HALF_SCALE_PIXELS = 2560 * 1440  # above this, "auto" finds RIFE's flows at half resolution
DEFAULT_MODEL_ID = "stabilityai/stable-video-diffusion-img2vid-xt"
NATIVE_SIZE = (1024, 576)  # SVD-XT's own generation size
# Fixed for a worker's life (``serve``): a job may not ask for other values than its worker's.
WORKER_OPTIONS = ("engine", "model", "device", "dtype", "offload", "offline")
DTYPES = ("auto", "float16", "bfloat16", "float32")
DEVICES = ("auto", "cuda", "mps", "cpu")


@dataclass(frozen=True)
class Key:
    frame: int  # the timeline frame this image is exact at
    image: str  # absolute, or relative to the job folder


@dataclass(frozen=True)
class JobRequest:
    """What a job is asked to do. Only the keys are required."""

    keys: tuple[Key, ...]
    engine: str = "auto"  # "svd", "rife" (RIFE v4), "flow" (no weights), or "auto": svd, else rife, else flow
    sampler: str = DEFAULT_SAMPLER
    model: str = DEFAULT_MODEL_ID
    steps: int | None = None
    seed: int | None = None  # None: drawn, and recorded in the manifest
    width: int | None = None  # generation size, multiples of 64; None: near 1024x576 at the keys' aspect
    height: int | None = None
    num_frames: int | None = None  # frames SVD generates; None: the UNet's (25 for XT)
    fps: int | None = None
    motion_bucket_id: int | None = None
    noise_aug_strength: float | None = None
    decode_chunk_size: int | None = None
    rife_scale: float | None = None  # the RIFE engine's flow resolution, one of RIFE_SCALES; None: by frame size
    device: str = "auto"
    dtype: str = "auto"
    offload: bool | None = None  # low-VRAM mode; None: on for GPUs under 16 GB
    offline: bool = False
    reuse: tuple[str, ...] = ()  # earlier job folders that may already hold this result
    shot: str = ""  # the caller's name for the shot (the strip's name)
    source: str = ""  # where the keys came from: SCENE, STRIPS, FILES, MARKERS, CLI
    capture: str = ""  # how the 3D scene's keys were rendered: "" in full, else Quick Capture's overrides ("50%, 16 samples")

    @property
    def frames(self) -> int:
        """G, the strip's length: first key to last key, both included."""
        return self.keys[-1].frame - self.keys[0].frame + 1

    def worker_options(self) -> dict:
        return {name: getattr(self, name) for name in WORKER_OPTIONS}

    def to_dict(self) -> dict:
        data = asdict(self)
        data["keys"], data["reuse"] = [asdict(k) for k in self.keys], list(self.reuse)
        return {"schema": SCHEMA_VERSION, **data}

    @classmethod
    def from_dict(cls, data: dict) -> JobRequest:
        if not isinstance(data, dict):
            raise RequestError("A job request must be a JSON object.")
        if data.get("schema") != SCHEMA_VERSION:
            raise RequestError(f"Unsupported job schema {data.get('schema')!r} (this backend reads {SCHEMA_VERSION}).",
                               "write the request with this version of the add-on or backend")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"schema"})
        if unknown:
            raise RequestError(f"Unknown job fields: {', '.join(unknown)}.", "see mpd_backend/contract/job_request.py")
        try:
            keys = tuple(Key(int(k["frame"]), str(k["image"])) for k in data.get("keys") or ())
        except (KeyError, TypeError, ValueError):
            raise RequestError("Each key needs a whole 'frame' and an 'image' path.") from None
        values = {k: v for k, v in data.items() if k in known}
        request = cls(**{**values, "keys": keys, "reuse": tuple(data.get("reuse") or ())})
        validate(request)
        return request

    def key_path(self, index: int, folder: Path) -> Path:
        """A key's image file: absolute, or relative to the job folder."""
        return Path(folder) / os.path.expanduser(self.keys[index].image)


def validate(request: JobRequest) -> None:
    """The checks that need neither a model nor the images; each raises one RequestError."""
    if len(request.keys) < 2:
        raise RequestError(f"A job needs at least two keys, got {len(request.keys)}.", "give a start and an end keyframe")
    if request.frames < 2:
        raise RequestError(
            f"frames must be at least 2 (the two keyframes), got {request.frames}.",
            "the last key's frame must come after the first key's",
        )
    frames = [key.frame for key in request.keys]
    if any(b <= a for a, b in zip(frames, frames[1:])):
        raise RequestError(f"Key frames must increase, got {frames}.", "give each key its own frame, in timeline order")
    if len(request.keys) > 2 and request.engine not in SAMPLERLESS_ENGINES and request.sampler not in CHAIN_SAMPLERS:
        raise RequestError(
            f"The {request.sampler} sampler takes only two keys; this chain has {len(request.keys)}.",
            "use mpd or vibid for chains (they pin every key), or split the chain into pairs",
        )
    if request.engine not in ENGINES:
        raise RequestError(f"Unknown engine {request.engine!r}.", "choose one of: " + ", ".join(ENGINES))
    if request.sampler not in SAMPLER_NAMES:
        raise RequestError(f"Unknown sampler {request.sampler!r}.", "choose one of: " + ", ".join(SAMPLER_NAMES))
    if request.rife_scale is not None and request.rife_scale not in RIFE_SCALES:
        raise RequestError(f"rife_scale must be one of {', '.join(map(str, RIFE_SCALES))}, got {request.rife_scale}.",
                           "use 1 up to 1440p and 0.5 for 4K, or leave it out")
    if request.device not in DEVICES:
        raise RequestError(f"Unknown device {request.device!r}.", "choose one of: " + ", ".join(DEVICES))
    if request.dtype not in DTYPES:
        raise RequestError(f"Unknown dtype {request.dtype!r}.", "choose one of: " + ", ".join(DTYPES))
    for name in ("num_frames", "steps"):
        value = getattr(request, name)
        if value is not None and value < (2 if name == "num_frames" else 1):
            raise RequestError(f"{name} must be at least {2 if name == 'num_frames' else 1}, got {value}.")
    for name in ("width", "height"):
        value = getattr(request, name)
        if value is not None and (value < 64 or value % 64):
            raise RequestError(f"{name} must be a positive multiple of 64, got {value}.", "try 1024x576 or 576x1024")


def two_key_request(start: str, end: str, frames: int, **options) -> JobRequest:
    """The two-key shorthand (``--start/--end/--frames``): keys at frames 0 and ``frames - 1``."""
    request = JobRequest(keys=(Key(0, str(start)), Key(frames - 1, str(end))), **options)
    validate(request)
    return request


def generation_size(width: int, height: int, native=NATIVE_SIZE, multiple: int = 64) -> tuple[int, int]:
    """A (width, height) of multiples of ``multiple`` with about the native pixel count, keeping
    the aspect ratio: 1920x1080 gives 1024x576, 1080x1920 gives 576x1024. The default size of a job
    whose request leaves width and height None."""
    area = native[0] * native[1]
    aspect = width / height
    w = max(multiple, round((area * aspect) ** 0.5 / multiple) * multiple)
    h = max(multiple, round((area / aspect) ** 0.5 / multiple) * multiple)
    return w, h


def rife_auto_scale(width: int, height: int) -> float:
    """The RIFE scale a request without one gets: half-resolution flows above about 1440p."""
    return 0.5 if width * height > RIFE_HALF_SCALE_PIXELS else 1.0


def resolved_parameters(request: JobRequest, engine: str, seed: int, size: tuple[int, int] | None, sampler=None) -> dict:
    """What the backend settled for this request: every None filled, ready for the manifest.

    ``sampler`` is the sampler object (its defaults) for the svd engine; ``size`` the generation
    size (svd) or the keys' size (rife)."""
    params = {name: getattr(request, name) for name in ("sampler", "model", "device", "dtype", "offload", "offline")}
    params.update(engine=engine, seed=seed, frames=request.frames)
    if engine == "rife":
        params.update(rife_scale=request.rife_scale or rife_auto_scale(*size))
    if engine == "svd":
        params.update(
            width=size[0], height=size[1],
            steps=request.steps or sampler.default_steps,
            num_frames=request.num_frames,
            fps=request.fps if request.fps is not None else sampler.default_fps,
            motion_bucket_id=request.motion_bucket_id if request.motion_bucket_id is not None else sampler.default_motion_bucket_id,
            noise_aug_strength=(request.noise_aug_strength if request.noise_aug_strength is not None
                                else sampler.default_noise_aug_strength),
            decode_chunk_size=request.decode_chunk_size,
            sampler_options=asdict(sampler),
        )
    return params
