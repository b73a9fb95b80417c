"""``calibrate``: how fast this machine runs the model, so that a job's cost is known before it runs.

The UNet (one CFG pair) and the VAE decode are timed at a small size and at 64x64 on the chosen
device and precision; their FLOPs there are counted (torch's FLOP counter, on copies of the
components built on the meta device), giving the achieved FLOP/s of each and what a call costs
beside its FLOPs (``speed_and_fixed``). What a job pays beside them is measured too:
the process's start and imports, the model load, a window's other work (one real one-step run,
less its UNet call and decode) and writing a frame. Cached per device, precision and model in
``contract.pricing.cache_dir()``, with what ``contract.pricing.estimate_job`` needs to price any
size: a fit of the components' FLOPs over size and frames (each sampler's UNet calls per step count
are in the contract's sampler table).
"""

from __future__ import annotations

import platform
import time

from ..contract.pricing import flop_features, model_key, save_calibration

# Where the FLOP fit is sampled (latent height, width; frames): around the sizes people generate at.
FIT_SIZES = ((16, 32), (24, 40), (40, 64), (56, 104))
FIT_FRAMES = (8, 14, 25)
CALIBRATION_SIZE = {"cuda": (512, 288, 14), "mps": (256, 144, 8), "cpu": (256, 144, 8)}  # width, height, frames


def meta_components(pipe):
    """Copies of the UNet and the VAE built from their configurations on the meta device."""
    import torch

    with torch.device("meta"):
        unet = type(pipe.unet).from_config(pipe.unet.config)
        vae = type(pipe.vae).from_config(pipe.vae.config)
    return unet.to("meta"), vae.to("meta")


def count_flops(fn) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), torch.device("meta"), FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def unet_pair_flops(unet, frames: int, latent_h: int, latent_w: int) -> int:
    """FLOPs of one UNet call on a CFG pair (two rows)."""
    import torch

    return count_flops(lambda: unet(
        torch.empty(2, frames, unet.config.in_channels, latent_h, latent_w), 500.0,
        encoder_hidden_states=torch.empty(2, 1, unet.config.cross_attention_dim), added_time_ids=torch.empty(2, 3)))


def decode_flops(vae, frames: int, latent_h: int, latent_w: int) -> int:
    """FLOPs of decoding ``frames`` frames."""
    import torch

    return count_flops(lambda: vae.decode(torch.empty(frames, vae.config.latent_channels, latent_h, latent_w), num_frames=frames))


def fit_flops(count, sizes=FIT_SIZES, frame_counts=FIT_FRAMES) -> list[float]:
    """Least-squares coefficients of ``estimate.flop_features`` for ``count(frames, h, w)``."""
    import numpy as np

    samples = [(t, h, w) for t in frame_counts for h, w in sizes]
    features = np.array([flop_features(*s) for s in samples], dtype=float)
    scale = features.max(axis=0)  # columns span 20 orders of magnitude: solve scaled
    values = np.array([count(*s) for s in samples], dtype=float)
    coefficients, *_ = np.linalg.lstsq(features / scale, values, rcond=None)
    return [float(c) for c in coefficients / scale]


def timed(fn, device, repeats: int = 2) -> float:
    """The fastest of ``repeats`` calls after one warm-up, in seconds."""
    import torch

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    fn()
    best = float("inf")
    for _ in range(repeats):
        sync()
        began = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - began)
    return best


def device_name(device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU"
    import os

    try:  # the processor's name as Linux knows it; platform.processor() is often just the architecture
        name = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="utf-8") if line.startswith("model name"))
    except (OSError, StopIteration):
        name = platform.processor() or platform.machine()
    return f"{name}, {os.cpu_count()} cores, {torch.get_num_threads()} threads"


def window_overhead_s(pipe, width: int, height: int, frames: int, unet_s: float, decode_s: float) -> float:
    """A window's work beside its UNet calls and decode (the keys' encoding, the image encoder, the
    output): one real run of one forward step, less the UNet call and the decode it made."""
    import numpy as np
    import torch
    from PIL import Image

    keys = Image.fromarray(np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))
    began = time.perf_counter()
    pipe(keys, keys, sampler="forward", num_inference_steps=1, height=height, width=width, num_frames=frames,
         generator=torch.Generator("cpu").manual_seed(0))
    return max(0.0, time.perf_counter() - began - unet_s - decode_s)


def write_s_per_megapixel(width: int, height: int) -> float:
    """Writing one frame as the job writes them (PNG), per million pixels."""
    import io

    import numpy as np
    from PIL import Image

    frame = Image.fromarray(np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))
    began = time.perf_counter()
    frame.save(io.BytesIO(), format="PNG")
    return (time.perf_counter() - began) / (width * height / 1e6)


SMALL_LATENT = 8  # the second timing's latent height and width (64x64 pixels): what a call costs beside its FLOPs


def time_components(pipe, h: int, w: int, frames: int, repeats: int) -> tuple[float, float]:
    """Seconds of one CFG-pair UNet call and of one decode at latent size ``h`` x ``w``."""
    import torch

    device, config, dtype = pipe._execution_device, pipe.unet.config, pipe.unet.dtype
    generator = torch.Generator("cpu").manual_seed(0)
    latents = torch.randn(2, frames, config.in_channels, h, w, generator=generator).to(device, dtype)
    embeddings = torch.randn(2, 1, config.cross_attention_dim, generator=generator).to(device, dtype)
    time_ids = torch.tensor([[6.0, 127.0, 0.02]] * 2).to(device, dtype)
    to_decode = torch.randn(frames, pipe.vae.config.latent_channels, h, w, generator=generator).to(device, pipe.vae.dtype)
    with torch.no_grad():
        unet_s = timed(lambda: pipe.unet(latents, 500.0, encoder_hidden_states=embeddings, added_time_ids=time_ids, return_dict=False),
                       device, repeats)
        decode_s = timed(lambda: pipe.vae.decode(to_decode, num_frames=frames), device, repeats)
    return unet_s, decode_s


def speed_and_fixed(seconds: float, flops: float, small_seconds: float, small_flops: float) -> tuple[float, float]:
    """FLOP/s and the seconds a call costs whatever its size, from two timings (``seconds = fixed +
    flops / speed``): a small model on a CPU is all fixed cost, SVD-XT at a real size almost none."""
    if seconds <= small_seconds or flops <= small_flops:
        return flops / seconds, 0.0
    speed = (flops - small_flops) / (seconds - small_seconds)
    return speed, max(0.0, seconds - flops / speed)


def calibrate(pipe, model: str, size: tuple[int, int, int] | None = None, repeats: int = 2, report=None,
              start_s: float = 0.0, load_s: float = 0.0) -> dict:
    """Measure ``pipe`` (loaded as the jobs will run it) and cache the result; returns the entry.
    ``start_s``, ``load_s``: what this process took to start (imports included) and to load it."""
    import torch

    device = pipe._execution_device
    width, height, frames = size or CALIBRATION_SIZE.get(device.type, CALIBRATION_SIZE["cpu"])
    h, w = height // pipe.vae_scale_factor, width // pipe.vae_scale_factor
    unet_meta, vae_meta = meta_components(pipe)
    if report:
        report.log("counting FLOPs, then timing the UNet and the VAE decode at two sizes")
    unet_fit = fit_flops(lambda t, a, b: unet_pair_flops(unet_meta, t, a, b))
    decode_fit = fit_flops(lambda t, a, b: decode_flops(vae_meta, t, a, b))
    unet_s, decode_s = time_components(pipe, h, w, frames, repeats)
    small_unet_s, small_decode_s = time_components(pipe, SMALL_LATENT, SMALL_LATENT, frames, repeats)
    unet_speed, unet_call_s = speed_and_fixed(unet_s, unet_pair_flops(unet_meta, frames, h, w), small_unet_s,
                                              unet_pair_flops(unet_meta, frames, SMALL_LATENT, SMALL_LATENT))
    decode_speed, decode_call_s = speed_and_fixed(decode_s, decode_flops(vae_meta, frames, h, w), small_decode_s,
                                                  decode_flops(vae_meta, frames, SMALL_LATENT, SMALL_LATENT))
    entry = {
        "device": device.type, "device_name": device_name(device), "dtype": str(pipe.unet.dtype).removeprefix("torch."),
        "model": model_key(model), "offload": bool(getattr(pipe, "low_vram_mode", False)),
        "num_frames": pipe.unet.config.num_frames, "size": [width, height, frames], "vae_scale_factor": pipe.vae_scale_factor,
        "unet_pair_s": unet_s, "decode_s": decode_s, "start_s": start_s, "load_s": load_s,
        "window_overhead_s": window_overhead_s(pipe, width, height, frames, unet_s, decode_s),
        "write_s_per_mpx": write_s_per_megapixel(width, height),
        "unet_flops_per_s": unet_speed, "unet_call_s": unet_call_s, "decode_flops_per_s": decode_speed, "decode_call_s": decode_call_s,
        "unet_pair_flops": unet_fit, "decode_flops": decode_fit,
        "weights_gib": {name: sum(p.numel() * p.element_size() for p in getattr(pipe, name).parameters()) / 2**30
                        for name in ("unet", "vae", "image_encoder")},
        "torch": torch.__version__, "measured": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    entry["path"] = str(save_calibration(entry))
    return entry
