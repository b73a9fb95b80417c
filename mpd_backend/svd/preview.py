"""The live preview: a few frames of a denoising step's clean estimate, projected from latents to
RGB by a fixed linear map (no VAE call), written atomically into the job folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

# RGB per latent channel of the Stable Diffusion VAE's (scaled) latent space, which SVD's encoder
# shares: the least-squares projection that SD previewers commonly use. Enough to see the motion
# take shape; the colours are approximate.
LATENT_TO_RGB = ((0.3512, 0.2297, 0.3227), (0.3250, 0.4974, 0.2350), (-0.2829, 0.1762, 0.2721), (-0.2120, -0.2616, -0.7177))
PREVIEW_FRAMES = 4


def preview_image(denoised, frames: int = PREVIEW_FRAMES):
    """``frames`` frames, evenly spaced from first to last, of latents ``[1, T, 4, h, w]``, side by
    side at the latent size (a 1024x576 job gives 128x72 per frame)."""
    import torch
    from PIL import Image

    latents = denoised[0].detach().float().cpu()
    picks = torch.linspace(0, latents.shape[0] - 1, min(frames, latents.shape[0])).round().long()
    rgb = torch.einsum("tchw,cr->trhw", latents[picks], torch.tensor(LATENT_TO_RGB))
    rgb = ((rgb + 1) * 127.5).clamp(0, 255).to(torch.uint8)  # about [-1, 1], as the VAE's output
    strip = torch.cat(list(rgb), dim=2)  # frames side by side: [3, h, n*w]
    return Image.fromarray(strip.permute(1, 2, 0).numpy())


def write_preview(path: Path, denoised) -> float:
    """Write the preview to ``path`` atomically (a reader never sees half a file); returns seconds."""
    began = time.perf_counter()
    tmp = path.with_name(f".{path.name}.tmp")
    preview_image(denoised).save(tmp, format="PNG", compress_level=1)
    os.replace(tmp, path)
    return time.perf_counter() - began
