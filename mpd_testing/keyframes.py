"""Synthetic keyframe images for tests and tools."""

from __future__ import annotations


def keyframe_image(width: int, height: int, seed: int):
    """A smooth gradient with a bright square whose place depends on the seed (a PIL image)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x / width, y / height, np.full_like(x, 0.3, dtype=float)], axis=-1) * 200
    cx, cy = rng.integers(0, width - width // 4), rng.integers(0, height - height // 4)
    image[cy : cy + height // 4, cx : cx + width // 4] = 255
    return Image.fromarray(image.astype(np.uint8))
