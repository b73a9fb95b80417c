"""The SVD engine: SVD-XT with a time-reversal sampler, resized to the keyframes and fitted to the
strip's frames."""

from __future__ import annotations

import time
from pathlib import Path

from ..contract.errors import JobCancelled


def load_for(options: dict):
    """The pipeline for a request's worker options (model, device, dtype, offload, offline), quiet:
    our own progress says it all."""
    from .loading import load_pipeline

    pipe = load_pipeline(options["model"], device=options["device"], dtype=options["dtype"], offload=options["offload"],
                         offline=options["offline"])
    pipe.set_progress_bar_config(disable=True)
    return pipe


class StepReporter:
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


def run_pipeline(pipe, start, end, sampler, params: dict, num_frames: int | None, on_step: StepReporter, inner_keyframes=None) -> list:
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


def resampler(pipe, generated: int, wanted: int):
    """What draws the frames between generated ones when the strip is longer than the clip: RIFE
    when it can run (None: the flow engine; docs/quality.md measures both)."""
    if generated >= wanted:
        return None
    from ..rife.rife_engine import rife_between

    return rife_between(pipe.device.type)


def generate_svd(pipe, start, end, params: dict, report, should_stop, preview_path: Path | None = None) -> tuple[list, dict]:
    """``params["frames"]`` images from ``start`` to ``end`` (resolved parameters: see
    ``job_request.resolved_parameters``), and what to record of the run. ``preview_path``: where each
    step's live preview goes (announced by a ``preview`` event)."""
    from ..flow.retiming import fit_to_timeline, resample_times
    from .samplers import get_sampler

    sampler = get_sampler(params["sampler"]).with_options(**params["sampler_options"])
    on_step = StepReporter(report, should_stop, preview_path, sampler.denoising_steps(params["steps"]))
    report.log(f"{sampler.name} on {params['model']}: {params['width']}x{params['height']}, {params['steps']} steps, "
               f"seed {params['seed']}, {pipe.device}, {pipe.dtype}")
    t0 = time.perf_counter()
    video = run_pipeline(pipe, start, end, sampler, params, params["num_frames"], on_step)
    timings = {"generate_s": time.perf_counter() - t0, "preview_s": on_step.preview_s}
    if should_stop():
        raise JobCancelled()
    t0 = time.perf_counter()
    between = resampler(pipe, len(video), params["frames"])
    frames = fit_to_timeline([frame.resize(start.size, resample=3) for frame in video], params["frames"], between)  # 3: bicubic
    timings["resample_s"] = time.perf_counter() - t0
    return frames, {
        "generated_frames": len(video),
        "resampler": "none" if len(video) >= params["frames"] else "flow" if between is None else "rife",
        "time_map": resample_times(len(video), params["frames"]),
        **run_record(pipe, params, len(video)),
        "timings": timings,
    }
