"""What the panel says a Generate will cost, from the backend's cached calibration and the doctor's
report (``mpd_backend.contract.pricing``). Standard library only."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..mpd_backend.contract.pricing import estimate_job, find_calibration, format_estimate, memory_warning


@dataclass
class JobCost:
    text: str  # "about 2 min 10 s, 9.6 GB", or why there is no estimate
    warning: str | None = None  # the memory the job needs is more than is free: what to lower
    calibrated: bool = False  # False: a Calibrate button makes the estimate possible


def resolved_device(device: str, dtype: str, low_vram: bool, report: dict) -> tuple[str, str, bool]:
    """The preferences' device, precision and low-VRAM choice as the backend will settle them
    ("auto" as the doctor reported it)."""
    auto = report.get("auto", {})
    if device == "auto":
        device = auto.get("device", "cpu")
    if dtype == "auto":
        dtype = auto.get("dtype") if device == auto.get("device") else "float16" if device == "cuda" else "float32"
    offload = low_vram or (device == auto.get("device") and bool(auto.get("low_vram")))
    return device, dtype or "float32", offload


def free_memory_gib(report: dict, device: str) -> float | None:
    for found in report.get("devices", []):
        if found.get("device", "").split(":")[0] == device and "free_gib" in found:
            return float(found["free_gib"])
    return None


def job_cost(model: str, device: str, dtype: str, low_vram: bool, report_json: str, sampler: str, steps: int,
             width: int, height: int, key_frames: list[int] = (), warm: bool = False, capture_s: float = 0.0,
             takes: int = 1) -> JobCost:
    """The estimate for these settings; ``steps``, ``width``, ``height`` 0 mean the defaults;
    ``key_frames``: a chain's keys, priced as its windows; ``warm``: the worker has the model
    loaded (no start, no load); ``capture_s``: the keys' render, when it is known; ``takes``: jobs
    of the same shot on one worker (one capture, one load, every take's denoising, decode and writing)."""
    try:
        report = json.loads(report_json) if report_json else {}
    except ValueError:
        report = {}
    device, dtype, offload = resolved_device(device, dtype, low_vram, report)
    calibration = find_calibration(model, device, dtype, offload)
    if calibration is None:
        return JobCost(f"No estimate yet for {device} ({dtype}): calibrate once")
    try:
        estimate = estimate_job(calibration, sampler, steps or None, width or 1024, height or 576, offload=offload,
                                key_frames=list(key_frames), cold=not warm)
    except (KeyError, ValueError) as exc:
        return JobCost(f"No estimate: {exc}", calibrated=True)
    for part in ("denoise", "decode", "write"):
        estimate["parts"][part] *= takes
    estimate["parts"]["capture"] = capture_s
    estimate["seconds"] = sum(estimate["parts"].values())
    text = (f"{takes} takes: " if takes > 1 else "") + format_estimate(estimate)
    return JobCost(text, memory_warning(estimate, free_memory_gib(report, device), offload), calibrated=True)
