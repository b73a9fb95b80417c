"""A rough GPU memory estimate for SVD-XT jobs. Standard library only (the add-on shows it).

Not calibrated on a GPU yet (no GPU measurement exists in this project so far): weights are the
spec's component sizes; activations are counted from the largest live tensors. Treat it as a guide
to what to lower, not a promise."""

from __future__ import annotations

GIB = 2**30
WEIGHTS_FP16_GIB = {"unet": 2.84, "vae": 0.18, "image_encoder": 1.18}  # 1.52 B, 98 M, 632 M parameters


def estimate_gpu_memory_gib(width: int, height: int, frames: int = 25, bytes_per_value: int = 2,
                            offload: bool = False, decode_chunk: int = 4) -> dict:
    """Peak GPU memory in GiB for one job, and its parts.

    UNet: the CFG pair at the highest-resolution blocks (320 channels at 1/8 size), about 20 such
    tensors alive at once with memory-efficient attention. VAE decoder: 128 channels at full size,
    about 6 alive, for ``decode_chunk`` frames. With offload only the running component is on the
    GPU."""
    scale = bytes_per_value / 2
    weights = {name: size * scale for name, size in WEIGHTS_FP16_GIB.items()}
    tokens = (width // 8) * (height // 8)
    unet_activations = 2 * frames * tokens * 320 * 20 * bytes_per_value / GIB
    decode_activations = decode_chunk * width * height * 128 * 6 * bytes_per_value / GIB
    resident = 0.0 if offload else sum(weights.values())
    during_unet = (weights["unet"] if offload else resident) + unet_activations
    during_decode = (weights["vae"] if offload else resident) + decode_activations
    return {
        "peak_gib": round(max(during_unet, during_decode), 1),
        "weights_gib": round(sum(weights.values()), 2),
        "unet_activations_gib": round(unet_activations, 1),
        "decode_activations_gib": round(decode_activations, 1),
    }
