"""The flow engine as it was before issue 15, kept as ``make bench-quality``'s baseline (not shipped).

DIS optical flow (OpenCV) in both directions; each inbetween at time t warps both keyframes towards
t along the flows scaled linearly (the Super SloMo approximation) and blends them, weighting each by
how close it is in time and whether its pixels are visible in the other keyframe. That warp
(``linear_inbetween``) and the visibility test are now the engine's second estimate, unchanged.
"""

from __future__ import annotations

import numpy as np

from mpd_backend.flow.optical_flow import linear_inbetween, visibility


def dis_flow(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Flow F with ``source(p) ~ target(p + F(p))`` between two RGB frames, ``[H, W, 2]`` float32 (x, y)."""
    import cv2

    to_gray = lambda rgb: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(to_gray(source), to_gray(target), None)


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
        blended = linear_inbetween(self.frame0, self.frame1, self.flow01, self.flow10, self.visible0, self.visible1, t)
        return np.clip(blended + 0.5, 0, 255).astype(np.uint8)
