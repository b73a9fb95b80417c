"""The golden latents: every sampler's final latents on the tiny model, stored whole, so that a
change that moves any output value fails ``tests/backend/test_pipeline.py``.

    python -m mpd_testing golden-latents tests/backend/golden/tiny_latents.safetensors

Regenerate them only for a change that is meant to change the outputs, and say so in its commit.
Fixed inputs: the tiny model of ``tiny.py`` (seed 0), the keyframes of ``keyframes.py`` (seeds 1
and 2, 64x64), 8 frames, 4 steps, fp32 on the CPU, generator seed 7."""

from __future__ import annotations

from pathlib import Path

GOLDEN_SAMPLERS = ("forward", "vibid", "mpd", "mpd-trf", "trf")
GOLDEN_RUN = dict(num_inference_steps=4, height=64, width=64, num_frames=8, output_type="latent")
GOLDEN_SEED = 7


def golden_latents(pipe, start, end, name: str):
    """One sampler's final latents ``[1, T, 4, h, w]`` on the fixed inputs."""
    import torch

    return pipe(start, end, sampler=name, generator=torch.Generator("cpu").manual_seed(GOLDEN_SEED), **GOLDEN_RUN).frames


def write_golden_latents(path: str | Path) -> Path:
    """Build the tiny model, run every sampler, and save the latents (safetensors, one per sampler)."""
    import tempfile

    from safetensors.torch import save_file

    from mpd_backend import load_pipeline

    from .keyframes import keyframe_image
    from .tiny import save_tiny_svd

    with tempfile.TemporaryDirectory() as folder:
        pipe = load_pipeline(str(save_tiny_svd(Path(folder) / "tiny-svd")), device="cpu", dtype="float32", offline=True)
        pipe.set_progress_bar_config(disable=True)
        start, end = keyframe_image(64, 64, seed=1), keyframe_image(64, 64, seed=2)
        tensors = {name: golden_latents(pipe, start, end, name).contiguous() for name in GOLDEN_SAMPLERS}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))
    return path
