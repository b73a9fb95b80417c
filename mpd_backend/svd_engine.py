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


def generate_svd(pipe, start, end, params: dict, report, should_stop, preview_path: Path | None = None) -> tuple[list, dict]:
    """``params["frames"]`` images from ``start`` to ``end`` (resolved parameters: see
    ``request.resolved_parameters``), and what to record of the run. ``preview_path``: where each
    step's live preview goes (announced by a ``preview`` event)."""
    import torch

    from .preview import write_preview
    from .samplers import get_sampler
    from .timing import fit_to_timeline, resample_times

    sampler = get_sampler(params["sampler"]).with_options(**params["sampler_options"])
    total, done_steps, preview_s = sampler.denoising_steps(params["steps"]), 0, 0.0

    def on_step(pipeline, i, t, tensors):
        nonlocal done_steps, preview_s
        if should_stop():
            raise JobCancelled()
        done_steps += 1
        report.progress("denoise", done_steps, total)
        if preview_path is not None:
            preview_s += write_preview(preview_path, tensors["denoised"])
            elapsed = time.perf_counter() - t0
            report.preview(str(preview_path), done_steps, total, elapsed, elapsed / done_steps * (total - done_steps))
        return tensors

    report.log(f"{sampler.name} on {params['model']}: {params['width']}x{params['height']}, {params['steps']} steps, "
               f"seed {params['seed']}, {pipe.device}, {pipe.dtype}")
    t0 = time.perf_counter()
    video = pipe(
        start, end, sampler=sampler, height=params["height"], width=params["width"], num_frames=params["num_frames"],
        num_inference_steps=params["steps"], fps=params["fps"], motion_bucket_id=params["motion_bucket_id"],
        noise_aug_strength=params["noise_aug_strength"], decode_chunk_size=params["decode_chunk_size"],
        generator=torch.Generator("cpu").manual_seed(params["seed"]), callback_on_step_end=on_step,
    ).frames[0]
    timings = {"generate_s": time.perf_counter() - t0, "preview_s": preview_s}
    if should_stop():
        raise JobCancelled()
    t0 = time.perf_counter()
    frames = fit_to_timeline([frame.resize(start.size, resample=3) for frame in video], params["frames"])  # 3: bicubic
    timings["resample_s"] = time.perf_counter() - t0
    return frames, {
        "generated_frames": len(video),
        "time_map": resample_times(len(video), params["frames"]),
        "settled": {"device": str(pipe.device), "dtype": str(pipe.dtype).removeprefix("torch."), "num_frames": len(video),
                    "offload": pipe.low_vram_mode},
        "model": {"source": params["model"], "folder": str(pipe.config._name_or_path), "num_frames": pipe.unet.config.num_frames},
        "timings": timings,
    }
