"""What an SVD-XT job will cost before it runs: its time, from counted FLOPs and this machine's
measured speed (``svd/calibration.py`` measures it and caches it here), and its peak memory.
Standard library only: the add-on shows both in its panel.

Memory: weights are the counted component sizes; activations are counted from the architecture's
largest live tensors. It is a guide to what to lower, not a promise: how it compares with what was
measured is in docs/performance.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .chain_plan import window_count
from .json_files import write_json_atomic
from .sampler_table import sampler_info

GIB = 2**30
WEIGHTS_FP16_GIB = {"unet": 2.84, "vae": 0.18, "image_encoder": 1.18}  # 1.52 B, 98 M, 632 M parameters

# Values alive per latent position of one UNet batch row at its peak: the skip connections kept for
# the up path (about 1,700) plus the running top-level block, whose feed-forward GEGLU alone holds
# 3,840 (4 x 320 x 2 + 4 x 320) unless feed-forward chunking runs it one frame at a time.
UNET_VALUES_PER_POSITION = {False: 6400, True: 2600}  # feed-forward chunking off / on
DECODER_VALUES_PER_PIXEL = 768  # about 6 tensors of 128 channels at full size, per decoded frame


def estimate_gpu_memory_gib(width: int, height: int, frames: int = 25, bytes_per_value: int = 2,
                            offload: bool = False, decode_chunk: int = 4, parallel_paths: bool = False,
                            weights_gib: dict | None = None) -> dict:
    """Peak GPU memory in GiB for one job, and its parts.

    ``offload``: low-VRAM mode (only the running component on the GPU, feed-forward chunking, the
    paths of a parallel step unbatched). ``parallel_paths``: the sampler has parallel steps (trf,
    mpd-trf), which run as one batch of 4 rows instead of 2 outside low-VRAM mode. ``weights_gib``:
    the loaded components' sizes (a calibration records them), else SVD-XT's."""
    scale = bytes_per_value / 2
    weights = dict(weights_gib) if weights_gib else {name: size * scale for name, size in WEIGHTS_FP16_GIB.items()}
    rows = 4 if parallel_paths and not offload else 2
    positions = frames * (width // 8) * (height // 8)
    unet_activations = rows * positions * UNET_VALUES_PER_POSITION[offload] * bytes_per_value / GIB
    decode_activations = decode_chunk * width * height * DECODER_VALUES_PER_PIXEL * bytes_per_value / GIB
    resident = 0.0 if offload else sum(weights.values())
    during_unet = (weights["unet"] if offload else resident) + unet_activations
    during_decode = (weights["vae"] if offload else resident) + decode_activations
    return {
        "peak_gib": round(max(during_unet, during_decode), 1),
        "weights_gib": round(sum(weights.values()), 2),
        "unet_activations_gib": round(unet_activations, 1),
        "decode_activations_gib": round(decode_activations, 1),
    }


# ----------------------------------------------------------------------------------------------
# Time: counted FLOPs over the speed this machine was measured at (``svd/calibration.py`` writes it)

CALIBRATION_FILE = "calibration.json"
CALIBRATION_SCHEMA = 1


def cache_dir() -> Path:
    """Where calibrations are kept: ``$MPD_CACHE_DIR``, else ``$XDG_CACHE_HOME/mpd_inbetween``, else
    ``~/.cache/mpd_inbetween``."""
    if os.environ.get("MPD_CACHE_DIR"):
        return Path(os.environ["MPD_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mpd_inbetween"


def model_key(model: str) -> str:
    """A model as the cache names it: a folder by its absolute path, a hub id as written."""
    path = Path(os.path.expanduser(model))
    return str(path.resolve()) if path.is_dir() else model


_read: tuple[Path, int, dict] | None = None  # the file last read, its mtime and its calibrations: panels redraw often


def read_calibrations() -> dict:
    global _read
    path = cache_dir() / CALIBRATION_FILE
    try:
        mtime = path.stat().st_mtime_ns
        if _read is not None and _read[:2] == (path, mtime):
            return _read[2]
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = data.get("calibrations", {}) if isinstance(data, dict) and data.get("schema") == CALIBRATION_SCHEMA else {}
    _read = (path, mtime, found)
    return found


def calibration_key(model: str, device: str, dtype: str, offload: bool) -> str:
    return f"{device}|{dtype}|{'low-vram' if offload else 'full'}|{model_key(model)}"


def save_calibration(entry: dict) -> Path:
    """Add (or replace) one calibration, keyed by device, dtype, low-VRAM mode and model; written
    atomically."""
    entries = dict(read_calibrations())
    entries[calibration_key(entry["model"], entry["device"], entry["dtype"], entry["offload"])] = entry
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return write_json_atomic(folder / CALIBRATION_FILE, {"schema": CALIBRATION_SCHEMA, "calibrations": entries})


def find_calibration(model: str, device: str, dtype: str, offload: bool = False) -> dict | None:
    """The calibration of ``model`` on ``device`` ("cuda", "mps", "cpu") in ``dtype``
    ("float16"...), as resolved, with or without low-VRAM mode; None when never measured."""
    return read_calibrations().get(calibration_key(model, device, dtype, offload))


def flop_features(frames: int, latent_h: int, latent_w: int) -> list[float]:
    """What a component's FLOPs grow with: positions ``P = h * w`` per frame and frames ``T``:
    convolutions and projections as ``T*P``, spatial attention as ``T*P^2``, temporal attention as
    ``T^2*P``. How close a least-squares fit on these comes is in docs/performance.md."""
    positions = latent_h * latent_w
    return [1.0, frames, frames * positions, frames * positions**2, frames**2 * positions]


def counted_flops(coefficients: list[float], frames: int, width: int, height: int, scale: int = 8) -> float:
    """FLOPs at a pixel size; ``scale``: the VAE's, pixels per latent (8 for SVD-XT)."""
    return sum(c * f for c, f in zip(coefficients, flop_features(frames, height // scale, width // scale)))


def job_seconds(calibration: dict, evaluations: int, windows: int, frames: int, width: int, height: int, strip_frames: int,
                cold: bool) -> dict:
    """A job's time in its parts: the process's start and imports and the model load (a cold worker
    only), then per window the UNet calls, the decode and the rest of the window's work, then
    writing the strip's frames."""
    scale = calibration.get("vae_scale_factor", 8)
    unet_call = counted_flops(calibration["unet_pair_flops"], frames, width, height, scale) / calibration["unet_flops_per_s"]
    unet = evaluations * (calibration.get("unet_call_s", 0.0) + unet_call)
    decode_call = counted_flops(calibration["decode_flops"], frames, width, height, scale) / calibration["decode_flops_per_s"]
    decode = calibration.get("decode_call_s", 0.0) + decode_call
    return {
        "start": calibration.get("start_s", 0.0) if cold else 0.0,
        "load": calibration.get("load_s", 0.0) if cold else 0.0,
        "denoise": windows * unet,
        "decode": windows * (decode + calibration.get("window_overhead_s", 0.0)),
        "write": strip_frames * width * height / 1e6 * calibration.get("write_s_per_mpx", 0.0),
    }


def estimate_job(calibration: dict, sampler: str, steps: int | None, width: int, height: int, frames: int | None = None,
                 offload: bool = False, key_frames: list[int] = (), cold: bool = True) -> dict:
    """Seconds and peak memory of one SVD job from a calibration (``svd/calibration.py``): the counted
    UNet evaluations (one CFG pair each) of the sampler at ``steps``, their FLOPs at this size over
    the measured UNet speed, and the decode's FLOPs over the measured VAE speed; a chain of keys at
    ``key_frames`` runs that once per window (``chain_plan.window_count``), at the same peak. A
    ``cold`` job (a new process: the command line, or a worker not yet serving these settings) also
    pays the start and the model load (``parts``)."""
    info = sampler_info(sampler)
    frames = frames or calibration["num_frames"]
    evaluations = info.unet_calls(steps or info.default_steps)
    windows = window_count(list(key_frames), frames)
    strip_frames = key_frames[-1] - key_frames[0] + 1 if len(key_frames) > 1 else frames
    parts = job_seconds(calibration, evaluations, windows, frames, width, height, strip_frames, cold)
    scale = calibration.get("vae_scale_factor", 8)
    unet = evaluations * counted_flops(calibration["unet_pair_flops"], frames, width, height, scale)
    decode = counted_flops(calibration["decode_flops"], frames, width, height, scale)
    bytes_per_value = {"float32": 4}.get(calibration["dtype"], 2)
    memory = estimate_gpu_memory_gib(width, height, frames, bytes_per_value, offload=offload, decode_chunk=2 if offload else 4,
                                     parallel_paths=info.parallel_paths, weights_gib=calibration.get("weights_gib"))
    return {"seconds": sum(parts.values()), "parts": parts, "peak_gib": memory["peak_gib"], "memory": "RAM" if calibration["device"] == "cpu" else "GPU",
            "unet_calls": windows * evaluations, "tflop": windows * (unet + decode) / 1e12, "windows": windows, "device": calibration["device"],
            "device_name": calibration.get("device_name", ""), "dtype": calibration["dtype"]}


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def format_estimate(estimate: dict) -> str:
    """``about 2 min 10 s (25 s to load), 9.6 GB`` (GB of the GPU's memory, or of RAM on the CPU);
    the load is the process's start and the model load of a cold worker."""
    ram = " of RAM" if estimate["memory"] == "RAM" else ""
    windows = f" ({estimate['windows']} windows)" if estimate.get("windows", 1) > 1 else ""
    parts = estimate.get("parts", {})
    load = parts.get("start", 0.0) + parts.get("load", 0.0)
    loading = f" ({format_duration(load)} to load)" if load >= 0.5 else ""
    return f"about {format_duration(estimate['seconds'])}{loading}, {estimate['peak_gib']} GB{ram}{windows}"


def memory_warning(estimate: dict, free_gib: float | None, offload: bool) -> str | None:
    """What to lower when the estimate exceeds the free memory the doctor saw; None when it fits."""
    if free_gib is None or estimate["peak_gib"] <= free_gib:
        return None
    lower = "the width and height, or the sampler (trf and mpd-trf hold two paths at once)"
    if estimate["memory"] == "GPU" and not offload:
        lower = "Low VRAM mode (on), " + lower
    return f"Needs about {estimate['peak_gib']} GB but {free_gib:.1f} GB is free: lower {lower}"
