"""The svd engine on a chain of more than two keys (``docs/spec/chains.md``): the keys laid out in
windows (``contract/chain_plan.py``), each one SVD run with every key in it pinned, read back
instead when a finished window with the same keys and parameters exists, then each window's core
retimed onto the timeline with the keys' residuals spread over their neighbours (section 4)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..contract.chain_plan import SegmentKind, Window, chain_segments, is_cycle, plan_windows
from ..contract.errors import JobCancelled
from ..contract.job_folder import find_window, write_window
from .svd_engine import StepReporter, resampler, run_pipeline, run_record


@dataclass
class ChainRun:
    """What a chain's windows share while they run: the pipeline's inputs and what is recorded."""

    pipe: object
    images: list  # every key's PIL image, fitted to the first one's size
    hashes: list[str]  # their content hashes
    params: dict  # the job's resolved parameters
    sampler: object
    num_frames: int
    on_step: StepReporter
    between: object = None  # draws a frame between two generated ones (RIFE, else None: flow)
    generate_s: float = 0.0
    windows: list = field(default_factory=list)  # each window's record


def generate_svd_chain(pipe, images: list, key_frames: list[int], hashes: list[str], params: dict, deciding: dict, report,
                       should_stop, folder: Path, reuse=(), preview_path: Path | None = None,
                       spread_key_residuals: bool = True) -> tuple[list, dict]:
    """The strip's frames, first key to last, every key exact, and what to record. A window whose
    keys and parameters match one already finished (in this job folder, in ``reuse`` folders, or
    earlier in this chain) is read back instead of generated. ``deciding``: the job's fingerprint,
    the parameters that decide a window; ``spread_key_residuals=False`` only to measure what the
    spreading does."""
    from .samplers import get_sampler

    sampler = get_sampler(params["sampler"]).with_options(**params["sampler_options"])
    num_frames = params["num_frames"] or pipe.unet.config.num_frames
    segments = chain_segments(key_frames, hashes)
    windows = plan_windows(key_frames, [s.kind for s in segments], num_frames, is_cycle(hashes))
    steps_per_window = sampler.denoising_steps(params["steps"])
    run = ChainRun(pipe, images, hashes, params, sampler, num_frames,
                   StepReporter(report, should_stop, preview_path, steps_per_window * len(windows)),
                   resampler(pipe, num_frames, 2 * num_frames))
    out = held_frames(images, key_frames, segments)
    report.log(f"{sampler.name} on {params['model']}: a chain of {len(key_frames)} keys in {len(windows)} windows of "
               f"{num_frames} frames, {params['width']}x{params['height']}, {params['steps']} steps, seed {params['seed']}")
    own = {k: v for k, v in deciding.items() if k not in ("keyframes", "frames", "num_frames")}
    for index, window in enumerate(windows):
        video = window_video(run, index, window, {**own, "num_frames": num_frames}, [folder, *reuse], folder, steps_per_window)
        if should_stop():
            raise JobCancelled()
        for t, image in timeline_frames(run, window, video, spread_key_residuals).items():
            out.setdefault(t - key_frames[0], image)
    return [out[t] for t in range(key_frames[-1] - key_frames[0] + 1)], {
        "generated_frames": num_frames * sum(not w["reused"] for w in run.windows),
        "windows": run.windows,
        "segments": [s.to_dict() for s in segments],
        "resampler": "flow" if run.between is None else "rife",
        **run_record(pipe, params, num_frames),
        "timings": {"generate_s": run.generate_s, "preview_s": run.on_step.preview_s},
    }


def held_frames(images: list, key_frames: list[int], segments) -> dict:
    """The frames known before anything is generated, by offset from the first key: every key, and
    the frames of a hold (two identical keys) repeating its image."""
    origin = key_frames[0]
    out = {t - origin: image for t, image in zip(key_frames, images)}
    for segment in segments:
        if segment.kind == SegmentKind.HOLD:
            out.update({t - origin: images[segment.index] for t in range(segment.frame_a + 1, segment.frame_b)})
    return out


def window_video(run: ChainRun, index: int, window: Window, deciding: dict, search, folder: Path, steps: int) -> list:
    """One window's generated frames: a finished window's with the same fingerprint, else a new
    SVD run with every key of the window pinned (written to the job folder, record last)."""
    from PIL import Image

    wanted = {**deciding, "keys": [[k.position, run.hashes[k.key]] for k in window.keys]}
    found = find_window(search, wanted)
    run.windows.append({**window.to_dict(), "reused": found is not None})
    if found is not None:
        run.on_step.skip(steps)
        return [Image.open(f).convert("RGB") for f in found]
    first, *inner, last = window.keys
    t0 = time.perf_counter()
    video = run_pipeline(run.pipe, run.images[first.key], run.images[last.key], run.sampler, run.params, run.num_frames,
                         run.on_step, {k.position: run.images[k.key] for k in inner})
    run.generate_s += time.perf_counter() - t0
    write_window(folder, index, video, wanted)
    return video


def timeline_frames(run: ChainRun, window: Window, video: list, spread_key_residuals: bool) -> dict:
    """The window's core on the timeline, {frame: PIL image}: its generated frames at the keys'
    size, retimed so that each key lands on its own frame, with the keys' residuals spread."""
    import numpy as np
    from PIL import Image

    from ..flow.retiming import frames_at

    resized = [frame.resize(run.images[0].size, resample=3) for frame in video]  # 3: bicubic
    core = window.core
    frames = range(window.frame_a, window.frame_b + 1)
    arrays = [np.asarray(f, dtype=np.float32) for f in frames_at(resized, [window.position(t) for t in frames], run.between)]
    if spread_key_residuals:
        residuals = [np.asarray(run.images[k.key], dtype=np.float32) - np.asarray(resized[k.position], dtype=np.float32) for k in core]
        arrays = spread_residuals(arrays, [k.frame - window.frame_a for k in core], residuals)
    return {t: Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8)) for t, array in zip(frames, arrays)}


def spread_residuals(frames: list, offsets: list[int], residuals: list) -> list:
    """Add each key's residual ``r_j`` (float arrays) to the frames around it, fading linearly to zero
    at the neighbouring keys: frame t between keys j and j+1 gets ``(1 - s) r_j + s r_j+1``. ``frames``
    are float arrays, keys at ``offsets`` (the first and the last frame among them)."""
    out = list(frames)
    for (a, r_a), (b, r_b) in zip(zip(offsets, residuals), zip(offsets[1:], residuals[1:])):
        for t in range(a + 1, b):
            s = (t - a) / (b - a)
            out[t] = out[t] + (1 - s) * r_a + s * r_b
    return out
