"""A rough GPU memory estimate for SVD-XT jobs. Standard library only (the add-on shows it).

Not measured on a GPU (no GPU measurement exists in this project so far): weights are the counted
component sizes; activations are counted from the architecture's largest live tensors. The CPU's
peak resident memory (docs/performance.md) grows faster than this with size, but it also holds
allocator and oneDNN buffers a GPU does not. For low-VRAM mode diffusers' SVD guide publishes
"less than 8GB" for the same measures at 1024x576x25; this estimate gives 5.1 GiB there. Treat it as
a guide to what to lower, not a promise."""

from __future__ import annotations

GIB = 2**30
WEIGHTS_FP16_GIB = {"unet": 2.84, "vae": 0.18, "image_encoder": 1.18}  # 1.52 B, 98 M, 632 M parameters

# Values alive per latent position of one UNet batch row at its peak: the skip connections kept for
# the up path (about 1,700) plus the running top-level block, whose feed-forward GEGLU alone holds
# 3,840 (4 x 320 x 2 + 4 x 320) unless feed-forward chunking runs it one frame at a time.
UNET_VALUES_PER_POSITION = {False: 6400, True: 2600}  # feed-forward chunking off / on
DECODER_VALUES_PER_PIXEL = 768  # about 6 tensors of 128 channels at full size, per decoded frame


def estimate_gpu_memory_gib(width: int, height: int, frames: int = 25, bytes_per_value: int = 2,
                            offload: bool = False, decode_chunk: int = 4, parallel_paths: bool = False) -> dict:
    """Peak GPU memory in GiB for one job, and its parts.

    ``offload``: low-VRAM mode (only the running component on the GPU, feed-forward chunking, the
    paths of a parallel step unbatched). ``parallel_paths``: the sampler has parallel steps (trf,
    mpd-trf), which run as one batch of 4 rows instead of 2 outside low-VRAM mode."""
    scale = bytes_per_value / 2
    weights = {name: size * scale for name, size in WEIGHTS_FP16_GIB.items()}
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
