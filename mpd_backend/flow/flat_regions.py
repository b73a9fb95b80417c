"""A flow candidate for large textureless objects (issue 25): the flat regions of one keyframe
matched to the other's as wholes.

A plain box that crosses a third of the frame has texture only at its edges: DIS finds nothing
inside it, the coarse block search matches its inside anywhere pink, and SIFT finds too few corners
for a homography. As a region it is unmistakable: the one pink patch of about that size in either
keyframe. Each flat region (connected, bounded by edges, off the frame's border) whose colour and
size match exactly one region of the other keyframe, and no other region of its own, moves as the
box mapping one bounding box onto the other (a shift and a scale, for a perspective's growth).
The flow engine offers it where DIS's flows disagree, and keeps it only where it matches better.
"""

from __future__ import annotations

import numpy as np

from mpd_backend.flow.pixel_grid import opencv, pixel_grid

REGION_WIDTH = 128  # regions are found this wide: a region is a large thing
EDGE = 40.0  # Sobel response (0-255 images, max over RGB) above which a pixel is an edge, not a region
SAME_COLOUR = 10.0  # mean RGB difference (0-255) within which two regions look alike
SAME_SIZE = (0.6, 1.6)  # the area ratios within which two regions are the same size
SMALLEST = 12  # pixels at REGION_WIDTH: smaller regions are noise
LARGEST = 0.25  # share of the frame: larger regions are background, which a shift cannot describe


def flat_regions(rgb: np.ndarray) -> tuple[list[dict], np.ndarray]:
    """The frame's flat regions at REGION_WIDTH, each {mask, colour, area, box (x, y, w, h)}, without
    the ones touching the border (their extent is cut by the frame, so their box says nothing); and
    the small frame's shape."""
    cv2 = opencv()
    h, w = rgb.shape[:2]
    scale = min(1.0, REGION_WIDTH / w)
    small = cv2.resize(rgb.astype(np.float32), (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)
    edges = np.abs(cv2.Sobel(small, cv2.CV_32F, 1, 0)).max(-1) + np.abs(cv2.Sobel(small, cv2.CV_32F, 0, 1)).max(-1)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((edges < EDGE).astype(np.uint8), connectivity=4)
    sh, sw = labels.shape
    regions = []
    for k in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[k])
        if area < SMALLEST or area > LARGEST * sh * sw or x == 0 or y == 0 or x + bw == sw or y + bh == sh:
            continue
        mask = labels == k
        regions.append({"mask": mask, "colour": small[mask].mean(axis=0), "area": area, "box": (x, y, bw, bh)})
    return regions, np.array(small.shape[:2])


def _alike(a: dict, b: dict) -> bool:
    return np.abs(a["colour"] - b["colour"]).mean() < SAME_COLOUR and SAME_SIZE[0] < b["area"] / a["area"] < SAME_SIZE[1]


def matched_regions(regions0: list[dict], regions1: list[dict]) -> list[tuple[dict, dict]]:
    """The pairs (region of frame 0, region of frame 1) that are each other's only look-alike."""
    pairs = []
    for a in regions0:
        fits = [b for b in regions1 if _alike(a, b)]
        if len(fits) == 1 and sum(_alike(other, fits[0]) for other in regions0) == 1:
            pairs.append((a, fits[0]))
    return pairs


def region_flow(rgb0: np.ndarray, rgb1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flow 0->1 at the frames' size from the matched regions (each region and its rim mapped box onto
    box), and where it is defined, ``[H, W]`` bool (nowhere when nothing matches)."""
    cv2 = opencv()
    h, w = rgb0.shape[:2]
    regions0, shape = flat_regions(rgb0)
    regions1, _ = flat_regions(rgb1)
    sh, sw = shape
    grid = pixel_grid(shape)
    flow = np.zeros((sh, sw, 2), np.float32)
    defined = np.zeros((sh, sw), np.uint8)
    for a, b in matched_regions(regions0, regions1):
        (ax, ay, aw, ah), (bx, by, bw, bh) = a["box"], b["box"]
        moved = np.stack([bx + (grid[..., 0] - ax) * bw / aw, by + (grid[..., 1] - ay) * bh / ah], axis=-1)
        rim = cv2.dilate(a["mask"].astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # the edge pixels belong to it too
        flow[rim] = (moved - grid)[rim]
        defined[rim] = 1
    flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_NEAREST) * np.float32([w / sw, h / sh])
    return flow, cv2.resize(defined, (w, h), interpolation=cv2.INTER_NEAREST) > 0
