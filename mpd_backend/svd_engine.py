"""The SVD engine: SVD-XT with a time-reversal sampler, resized to the keyframes and fitted to the
strip's frames."""

from __future__ import annotations

import time
from pathlib import Path

from .errors import JobCancelled


def load_for(options: dict):
    """The pipeline for a request's worker options (model, device, dtype, offload, offline), quiet:
    our own progress says it all."""
    from .loading import load_pipeline

    pipe = load_pipeline(options["model"], device=options["device"], dtype=options["dtype"], offload=options["offload"],
                         offline=options["offline"])
    pipe.set_progress_bar_config(disable=True)
    return pipe


class StepCallback:
    """``callback_on_step_end`` for every denoising step of a job (all its windows): the cancel check,
    progress over ``total`` steps, and the live preview at ``preview_path`` with the time to go."""

    def __init__(self, report, should_stop, preview_path: Path | None, total: int):
        self.report, self.should_stop, self.preview_path, self.total = report, should_stop, preview_path, total
        self.done, self.preview_s, self.started = 0, 0.0, time.perf_counter()

    def skip(self, steps: int) -> None:
        """Steps not run (a reused window) still count towards the progress."""
        self.done += steps
        self.report.progress("denoise", self.done, self.total)

    def __call__(self, pipeline, i, t, tensors):
        from .preview import write_preview

        if self.should_stop():
            raise JobCancelled()
        self.done += 1
        self.report.progress("denoise", self.done, self.total)
        if self.preview_path is not None:
            self.preview_s += write_preview(self.preview_path, tensors["denoised"])
            elapsed = time.perf_counter() - self.started
            self.report.preview(str(self.preview_path), self.done, self.total, elapsed, elapsed / self.done * (self.total - self.done))
        return tensors


def run_pipeline(pipe, start, end, sampler, params: dict, num_frames: int | None, on_step: StepCallback, inner_keyframes=None) -> list:
    """One SVD run with the resolved parameters: the generated PIL frames."""
    import torch

    return pipe(
        start, end, inner_keyframes=inner_keyframes, sampler=sampler, height=params["height"], width=params["width"],
        num_frames=num_frames, num_inference_steps=params["steps"], fps=params["fps"], motion_bucket_id=params["motion_bucket_id"],
        noise_aug_strength=params["noise_aug_strength"], decode_chunk_size=params["decode_chunk_size"],
        generator=torch.Generator("cpu").manual_seed(params["seed"]), callback_on_step_end=on_step,
    ).frames[0]


def run_record(pipe, params: dict, num_frames: int) -> dict:
    """What the manifest keeps of the model and of what "auto" settled at."""
    return {
        "settled": {"device": str(pipe.device), "dtype": str(pipe.dtype).removeprefix("torch."), "num_frames": num_frames,
                    "offload": pipe.low_vram_mode},
        "model": {"source": params["model"], "folder": str(pipe.config._name_or_path), "num_frames": pipe.unet.config.num_frames},
    }


def generate_svd(pipe, start, end, params: dict, report, should_stop, preview_path: Path | None = None) -> tuple[list, dict]:
    """``params["frames"]`` images from ``start`` to ``end`` (resolved parameters: see
    ``request.resolved_parameters``), and what to record of the run. ``preview_path``: where each
    step's live preview goes (announced by a ``preview`` event)."""
    from .samplers import get_sampler
    from .timing import fit_to_timeline, resample_times

    sampler = get_sampler(params["sampler"]).with_options(**params["sampler_options"])
    on_step = StepCallback(report, should_stop, preview_path, sampler.denoising_steps(params["steps"]))
    report.log(f"{sampler.name} on {params['model']}: {params['width']}x{params['height']}, {params['steps']} steps, "
               f"seed {params['seed']}, {pipe.device}, {pipe.dtype}")
    t0 = time.perf_counter()
    video = run_pipeline(pipe, start, end, sampler, params, params["num_frames"], on_step)
    timings = {"generate_s": time.perf_counter() - t0, "preview_s": on_step.preview_s}
    if should_stop():
        raise JobCancelled()
    t0 = time.perf_counter()
    frames = fit_to_timeline([frame.resize(start.size, resample=3) for frame in video], params["frames"])  # 3: bicubic
    timings["resample_s"] = time.perf_counter() - t0
    return frames, {
        "generated_frames": len(video),
        "time_map": resample_times(len(video), params["frames"]),
        **run_record(pipe, params, len(video)),
        "timings": timings,
    }


def generate_svd_chain(pipe, images: list, key_frames: list[int], hashes: list[str], params: dict, deciding: dict, report,
                       should_stop, folder: Path, reuse=(), preview_path: Path | None = None,
                       spread_key_residuals: bool = True) -> tuple[list, dict]:
    """A chain of more than two keys (``shared/spec/chains.md``): the strip's frames, first key to
    last, every key exact, and what to record. The keys are laid out in windows (``chain``), each
    one SVD run with every key in it pinned; a window whose keys and parameters match one already
    finished (in this job folder, in ``reuse`` folders, or earlier in this chain) is read back
    instead of generated. Each key's residual against its generated frame is spread over its
    neighbours (section 4; ``spread_key_residuals=False`` only to measure what it does).
    ``deciding``: the job's fingerprint, the parameters that decide a window."""
    import numpy as np
    from PIL import Image

    from .chain import SegmentKind, chain_segments, is_cycle, plan_windows, spread_residuals
    from .job_folder import find_window, write_window
    from .samplers import get_sampler
    from .timing import frames_at

    sampler = get_sampler(params["sampler"]).with_options(**params["sampler_options"])
    num_frames = params["num_frames"] or pipe.unet.config.num_frames
    segments = chain_segments(key_frames, hashes)
    windows = plan_windows(key_frames, [s.kind for s in segments], num_frames, is_cycle(hashes))
    steps_per_window = sampler.denoising_steps(params["steps"])
    on_step, generate_s = StepCallback(report, should_stop, preview_path, steps_per_window * len(windows)), 0.0
    origin = key_frames[0]
    out: dict[int, Image.Image] = {t - origin: image for t, image in zip(key_frames, images)}
    for segment in segments:
        if segment.kind == SegmentKind.HOLD:
            out.update({t - origin: images[segment.index] for t in range(segment.frame_a + 1, segment.frame_b)})

    report.log(f"{sampler.name} on {params['model']}: a chain of {len(key_frames)} keys in {len(windows)} windows of "
               f"{num_frames} frames, {params['width']}x{params['height']}, {params['steps']} steps, seed {params['seed']}")
    record_windows = []
    own = {k: v for k, v in deciding.items() if k not in ("keyframes", "frames", "num_frames")}
    for index, window in enumerate(windows):
        wanted = {**own, "num_frames": num_frames, "keys": [[k.position, hashes[k.key]] for k in window.keys]}
        found = find_window([folder, *reuse], wanted)
        if found is not None:
            video = [Image.open(f).convert("RGB") for f in found]
            on_step.skip(steps_per_window)
        else:
            first, *inner, last = window.keys
            t1 = time.perf_counter()
            video = run_pipeline(pipe, images[first.key], images[last.key], sampler, params, num_frames, on_step,
                                 {k.position: images[k.key] for k in inner})
            generate_s += time.perf_counter() - t1
            write_window(folder, index, video, wanted)
        record_windows.append({**window.to_dict(), "reused": found is not None})
        if should_stop():
            raise JobCancelled()
        resized = [frame.resize(images[0].size, resample=3) for frame in video]  # 3: bicubic
        core = window.core
        frames = range(window.frame_a, window.frame_b + 1)
        arrays = [np.asarray(f, dtype=np.float32) for f in frames_at(resized, [window.position(t) for t in frames])]
        residuals = [np.asarray(images[k.key], dtype=np.float32) - np.asarray(resized[k.position], dtype=np.float32) for k in core]
        if spread_key_residuals:
            arrays = spread_residuals(arrays, [k.frame - window.frame_a for k in core], residuals)
        for t, array in zip(frames, arrays):
            out.setdefault(t - origin, Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8)))
    return [out[t] for t in range(key_frames[-1] - origin + 1)], {
        "generated_frames": num_frames * sum(not w["reused"] for w in record_windows),
        "windows": record_windows,
        "segments": [s.to_dict() for s in segments],
        **run_record(pipe, params, num_frames),
        "timings": {"generate_s": generate_s, "preview_s": on_step.preview_s},
    }
