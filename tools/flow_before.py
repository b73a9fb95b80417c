"""The flow engine: inbetweens from dense optical flow, no model weights needed.

DIS optical flow (OpenCV) in both directions; each inbetween at time t warps both keyframes towards
t along the flows and blends them, weighting each by how close it is in time and whether its pixels
are visible in the other keyframe (forward-backward consistency). The same method synthesises the
frames missing when a generated clip is stretched to a longer gap (``timing.fit_to_timeline``).
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def _cv2():
    import cv2

    return cv2


def dis_flow(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Flow F with ``source(p) ~ target(p + F(p))``, ``[H, W, 2]`` float32 (x, y)."""
    cv2 = _cv2()
    to_gray = lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(to_gray(source), to_gray(target), None)


def _grid(shape) -> np.ndarray:
    h, w = shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return np.stack([xs, ys], axis=-1)


def backward_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``out(p) = image(p + flow(p))``, bilinear, edges clamped."""
    cv2 = _cv2()
    coords = _grid(flow.shape) + flow
    return cv2.remap(image, coords[..., 0], coords[..., 1], interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def visibility(flow_ab: np.ndarray, flow_ba: np.ndarray) -> np.ndarray:
    """1 where a pixel of A reappears in B, else 0, ``[H, W]``: the forward-backward consistency
    test of Sundaram et al. (ECCV 2010), |w + w'|^2 <= 0.01 (|w|^2 + |w'|^2) + 0.5."""
    back = backward_warp(flow_ba, flow_ab)
    square = lambda f: (f * f).sum(axis=-1)
    return (square(flow_ab + back) <= 0.01 * (square(flow_ab) + square(back)) + 0.5).astype(np.float32)


class FlowPair:
    """Two frames and their flows, computed once, for any number of inbetweens."""

    def __init__(self, frame0: np.ndarray, frame1: np.ndarray):
        self.frame0, self.frame1 = frame0.astype(np.float32), frame1.astype(np.float32)
        self.flow01, self.flow10 = dis_flow(frame0, frame1), dis_flow(frame1, frame0)
        self.visible0 = visibility(self.flow01, self.flow10)
        self.visible1 = visibility(self.flow10, self.flow01)

    def at(self, t: float) -> np.ndarray:
        """The frame at time ``t`` in [0, 1], uint8 RGB."""
        if t <= 0:
            return self.frame0.astype(np.uint8)
        if t >= 1:
            return self.frame1.astype(np.uint8)
        # Flows from time t back to each keyframe, under linear motion (the Super SloMo approximation).
        flow_t0 = -(1 - t) * t * self.flow01 + t * t * self.flow10
        flow_t1 = (1 - t) ** 2 * self.flow01 - t * (1 - t) * self.flow10
        warped0 = backward_warp(self.frame0, flow_t0)
        warped1 = backward_warp(self.frame1, flow_t1)
        weight0 = (1 - t) * backward_warp(self.visible0, flow_t0)[..., None]
        weight1 = t * backward_warp(self.visible1, flow_t1)[..., None]
        total = weight0 + weight1
        # Where neither keyframe sees the point, fall back to the time-weighted blend.
        blended = np.where(total > 1e-3, (weight0 * warped0 + weight1 * warped1) / np.maximum(total, 1e-3),
                           (1 - t) * warped0 + t * warped1)
        return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def as_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def flow_inbetweens(start: Image.Image, end: Image.Image, frames: int, on_frame=None) -> list[Image.Image]:
    """``frames`` images from ``start`` to ``end`` inclusive, evenly spaced in time."""
    pair = FlowPair(as_array(start), as_array(end))
    out = [start]
    for j in range(1, frames - 1):
        out.append(Image.fromarray(pair.at(j / (frames - 1))))
        if on_frame:
            on_frame(j, frames - 2)
    return out + [end]


def crossfade_inbetweens(start: Image.Image, end: Image.Image, frames: int) -> list[Image.Image]:
    """The baseline: a plain dissolve."""
    return [start] + [Image.blend(start, end, j / (frames - 1)) for j in range(1, frames - 1)] + [end]
