"""The RIFE engine: every frame between two keys drawn by RIFE v4 at its own time ``k / span``, at
the keys' own size; keys exact, holds held. A chain of more than two keys moves each pixel by
RIFE's flows along the flow engine's curve through the keys, which measured better than RIFE on
each gap alone (docs/chains-quality.md)."""

from __future__ import annotations

import time

from ..contract.chain_plan import SegmentKind, chain_segments


def rife_dtype(dtype: str, device: str):
    """"auto": half precision on CUDA, else float32 (RIFE's flows in bfloat16 lose detail on a CPU)."""
    import torch

    from ..svd.loading import resolve_dtype

    return torch.float16 if dtype == "auto" and device == "cuda" else resolve_dtype("float32" if dtype == "auto" else dtype, device)


def load_rife(device: str, dtype: str):
    """The network on the job's device ("auto" resolved as the SVD engine resolves it) and
    precision; a BackendError naming the fix when RIFE cannot run here."""
    from ..contract.errors import BackendError
    from ..contract.protocol import ErrorCode
    from ..svd.loading import resolve_device
    from .rife_net import RifeNet, rife_problem

    problem = rife_problem()
    if problem is not None:
        raise BackendError(ErrorCode.MODEL_NOT_FOUND, f"The RIFE engine cannot run: {problem}.", "{reinstall}, or choose {engine_flow}")
    device = resolve_device(device)
    return RifeNet(device, rife_dtype(dtype, device))


def rife_between(device: str):
    """``between(frame_a, frame_b, fraction)`` by RIFE on ``device`` for the SVD engine's temporal
    resampling (docs/quality.md: it beats the flow engine there), or None when RIFE cannot run."""
    from .rife_net import rife_problem

    if rife_problem() is not None:
        return None
    net = load_rife(device, "auto")
    from ..contract.job_request import rife_auto_scale

    def between(frame_a, frame_b, fraction: float):
        return net.between(net.to_tensor(frame_a), net.to_tensor(frame_b), fraction, rife_auto_scale(*frame_a.size))

    return between


def rife_flow_pair(net, start, end, scale: float = 1.0):
    """The flow engine's ``FlowPair`` of two PIL images on RIFE's flows between them."""
    from ..flow.optical_flow import FlowPair, as_array

    return FlowPair(as_array(start), as_array(end), flows=net.flows(net.to_tensor(start), net.to_tensor(end), scale))


def rife_chain(net, images: list, key_frames: list[int], hashes: list[str], scale: float, report, notes: list[str]) -> tuple[list, dict]:
    """A chain of more than two keys: RIFE's flows between neighbouring keys, each pixel moved along
    the flow engine's Catmull-Rom curve through the keys, so speed carries through every key. RIFE
    on each gap alone scores a little lower and stalls at each key (docs/chains-quality.md)."""
    from ..flow.flow_engine import generate_flow_chain

    frames, record = generate_flow_chain(images, key_frames, hashes, report, notes, engine="RIFE engine",
                                         make_pair=lambda start, end: rife_flow_pair(net, start, end, scale))
    return frames, {**record, "chain": "RIFE's flows along the curve through the keys"}


def generate_rife(images: list, key_frames: list[int], hashes: list[str], params: dict, report,
                  should_stop=lambda: False, notes: list[str] | None = None) -> tuple[list, dict]:
    """Every timeline frame from the first key to the last: the keys themselves, a hold's key
    repeated, and RIFE's frame at ``(t - a) / (b - a)`` between keys at frames a and b (a chain of
    more than two keys: ``rife_chain``). ``params``: the job's resolved parameters (device, dtype,
    rife_scale); the settled device and precision go back into them. A chain's note on its flows'
    confidence goes into ``notes``. ``should_stop()`` is checked before each frame (a long strip on
    a CPU takes minutes)."""
    from ..contract.errors import JobCancelled

    t0 = time.perf_counter()
    report.progress("load", 0, 1)
    net = load_rife(params["device"], params["dtype"])
    report.progress("load", 1, 1)
    load_s = time.perf_counter() - t0
    size = images[0].size
    report.log(f"RIFE engine: {key_frames[-1] - key_frames[0] + 1} frames at {size[0]}x{size[1]} on {net.device}, "
               f"{str(net.dtype).removeprefix('torch.')}, scale {params['rife_scale']}")
    params.update(device=str(net.device), dtype=str(net.dtype).removeprefix("torch."))
    if len(key_frames) > 2:
        frames, record = rife_chain(net, images, key_frames, hashes, params["rife_scale"], report, [] if notes is None else notes)
        return frames, {**record, "timings": {"load_s": load_s, **record["timings"]}}
    segments = chain_segments(key_frames, hashes)
    out = {t: image for t, image in zip(key_frames, images)}
    total, done = sum(s.frame_b - s.frame_a - 1 for s in segments), 0
    t0 = time.perf_counter()
    for segment in segments:
        pair = None if segment.kind == SegmentKind.HOLD else (net.to_tensor(images[segment.index]), net.to_tensor(images[segment.index + 1]))
        span = segment.frame_b - segment.frame_a
        for t in range(segment.frame_a + 1, segment.frame_b):
            if should_stop():
                raise JobCancelled()
            out[t] = images[segment.index] if pair is None else net.between(*pair, (t - segment.frame_a) / span, params["rife_scale"])
            done += 1
            report.progress("interpolate", done, total)
    return [out[t] for t in range(key_frames[0], key_frames[-1] + 1)], {
        "segments": [s.to_dict() for s in segments],
        "timings": {"load_s": load_s, "interpolate_s": time.perf_counter() - t0},
    }
