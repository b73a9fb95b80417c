"""What both flow modules (``optical_flow``, ``flat_regions``) build on: OpenCV, imported on first
use (the backend starts, and the engines that need no flows run, without paying for it), and the
grid of pixel coordinates that a flow is added to."""

from __future__ import annotations

import numpy as np


def opencv():
    import cv2

    return cv2


def pixel_grid(shape) -> np.ndarray:
    """``[H, W, 2]`` float32: each pixel's (x, y)."""
    h, w = shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return np.stack([xs, ys], axis=-1)
