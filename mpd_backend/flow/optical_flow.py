"""The flow engine: inbetweens from dense optical flow, no model weights needed.

1. Flow in both directions, found coarse to fine: DIS optical flow (OpenCV) from zero; where its two
   flows disagree, an exhaustive coarse block search, the dominant motions of matched SIFT
   features (homographies found one after another with RANSAC) and flat regions matched as wholes
   (``flat_regions``) are further candidates; each pixel takes the candidate whose warp matches best
   over its neighbourhood, DIS refines the choice, and the pair of flows that explains more of the
   change (DIS alone or the fused one) is kept. Large moves of textureless objects, which DIS alone
   misses, are found by the block search and, for a plain object that crosses much of the frame,
   by its region.
2. Occlusions (issue 25): a pixel one keyframe hides has no true match and takes the move of the
   matched pixels around it that look like it (the rolling ball's turned-away pattern moves with
   the ball, hidden floor with the floor). A moving object covers floor on one side and uncovers it
   on the other, and those two textureless patches can match each other both ways: where the two
   keys' flows are the same move at one spot, the pixel whose own surface does not share that move
   is such an alias and is treated as hidden.
3. Each inbetween at time t projects both flows forward to t (forward splatting, Niklaus and Liu,
   CVPR 2020, with a z-buffer instead of a softmax): a pixel lands where it will be at t, and where
   two land on one spot the one seen in both keyframes and moving more wins (the nearer object of a
   parallax, the moving box over the still floor); a crack between a near surface's pixels is no
   window onto what lies behind. The projected flows then fetch each keyframe's colour by backward
   warping (no splat blur), and the two are blended by time and by how much of each keyframe covers
   the spot with pixels seen in both or alike to them, so a hole on one side is filled from the
   other and the turned-away pattern of a ball still counts as ball. Where this sharp
   frame and the linear backward warp along DIS's own flows (the engine before issue 15) nearly
   agree, the two are averaged: two near-right estimates err apart. Where they differ, one of them
   is a ghost, and the sharp one is kept.
4. ``confidence``: the share of what changed between the keyframes that the flows explain (forward
   and backward agree and the colours match), leaving out what one keyframe hides (no pixel of the
   other maps onto it). Below CONFIDENT the engine hedges towards a dissolve, all the way at
   UNSURE: measured over real clips and Blender shots (docs/quality.md), a placed guess there loses
   to a soft frame. A low figure means the move is too large for this engine, and the job says so.

The same method synthesises the frames missing when a generated clip is stretched to a longer gap
(``retiming.fit_to_timeline``).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from mpd_backend.flow.flat_regions import region_flow
from mpd_backend.flow.pixel_grid import opencv, pixel_grid

FLOW_WIDTH = 1024  # flows are found at most this wide and scaled up: large frames gain nothing but time
MATCH_WIDTH = 640  # feature matching needs only the dominant motions
# Confidence below which the engine hedges: between UNSURE and CONFIDENT it mixes in a dissolve, at
# UNSURE and below it gives one (docs/quality.md: there a placed guess loses to a dissolve).
CONFIDENT = 0.5
UNSURE = 0.2
LOW_CONFIDENCE = CONFIDENT  # below this the job's message names the SVD engine: its frames are partly dissolved
FUSE_MARGIN = 6.0  # a candidate replaces DIS's own flow only where it matches clearly better (error units 0-255, two windows)
AGREEMENT = 16.0  # the two estimates of a spot are averaged where they differ by less than this (0-255, 5x5 mean)
SWAP_TOLERANCE = 0.5  # two flows are "the same move" within this share of the larger (``swap_suspects``)
FILL_WIDTH = 512  # ``fill_from_alike`` works at most this wide
ALIKE = 12.0  # colour difference (0-255, mean of RGB) at which a neighbour counts e^-1 as alike (``fill_from_alike``)


def _gray(rgb: np.ndarray) -> np.ndarray:
    cv2 = opencv()
    return cv2.cvtColor(rgb.astype(np.uint8), cv2.COLOR_RGB2GRAY)


def dis_flow(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Flow F with ``source(p) ~ target(p + F(p))`` between two grey images, ``[H, W, 2]`` float32 (x, y)."""
    cv2 = opencv()
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(source, target, None)


def backward_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``out(p) = image(p + flow(p))``, bilinear, edges clamped."""
    cv2 = opencv()
    coords = pixel_grid(flow.shape) + flow
    return cv2.remap(image, coords[..., 0], coords[..., 1], interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def visibility(flow_ab: np.ndarray, flow_ba: np.ndarray) -> np.ndarray:
    """1 where a pixel of A reappears in B, else 0, ``[H, W]``: the forward-backward consistency
    test of Sundaram et al. (ECCV 2010), |w + w'|^2 <= 0.01 (|w|^2 + |w'|^2) + 0.5."""
    back = backward_warp(flow_ba, flow_ab)
    square = lambda f: (f * f).sum(axis=-1)
    return (square(flow_ab + back) <= 0.01 * (square(flow_ab) + square(back)) + 0.5).astype(np.float32)


def dominant_motions(gray0: np.ndarray, gray1: np.ndarray, most: int = 4) -> list[np.ndarray]:
    """Homographies (pixel coordinates of frame 0 to frame 1) of the largest groups of SIFT
    matches that move together, found one after another with RANSAC; [] when too few match."""
    cv2 = opencv()
    scale = min(1.0, MATCH_WIDTH / gray0.shape[1])
    small = [cv2.resize(g, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else g for g in (gray0, gray1)]
    sift = cv2.SIFT_create(nfeatures=1500)
    (kp0, des0), (kp1, des1) = (sift.detectAndCompute(g, None) for g in small)
    if des0 is None or des1 is None or len(kp0) < 8 or len(kp1) < 8:
        return []
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(des0, des1, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < 0.8 * m[1].distance]
    src = np.float32([kp0[m.queryIdx].pt for m in good]) / scale
    dst = np.float32([kp1[m.trainIdx].pt for m in good]) / scale
    motions = []
    while len(src) >= 12 and len(motions) < most:
        homography, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 3.0 / scale)
        if homography is None or inliers.sum() < 10:
            break
        motions.append(homography)
        keep = inliers.ravel() == 0
        src, dst = src[keep], dst[keep]
    return motions


def coarse_search(rgb0: np.ndarray, rgb1: np.ndarray, width: int = 96, window: int = 7, penalty: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Flow from an exhaustive block search at a coarse scale (``width`` pixels wide) over moves up
    to half the frame, at the frames' size, and where that match is unique: finds large moves,
    textured or not, that start nowhere near a local optimum. Where many moves fit equally (flat
    areas) the shortest wins; where a distant move fits nearly as well (a repeating texture) the
    match is not unique."""
    cv2 = opencv()
    h, w = rgb0.shape[:2]
    scale = min(1.0, width / w)
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    small0, small1 = (cv2.resize(f, size, interpolation=cv2.INTER_AREA).astype(np.float32) for f in (rgb0, rgb1))
    sw, sh = size
    rx, ry = sw // 2, sh // 2
    padded = cv2.copyMakeBorder(small1, ry, ry, rx, rx, cv2.BORDER_CONSTANT, value=(-1000.0, -1000.0, -1000.0))  # off-frame never matches
    best = np.full((sh, sw), np.inf, dtype=np.float32)
    second = np.full((sh, sw), np.inf, dtype=np.float32)  # the best move at least 2 pixels from the best
    move = np.zeros((sh, sw, 2), dtype=np.float32)
    for dy in range(-ry, ry + 1):
        for dx in range(-rx, rx + 1):
            shifted = padded[ry + dy : ry + dy + sh, rx + dx : rx + dx + sw]
            cost = cv2.blur(np.abs(small0 - shifted).sum(axis=-1), (window, window)) + penalty * float(np.hypot(dx, dy))
            far = np.maximum(np.abs(move[..., 0] - dx), np.abs(move[..., 1] - dy)) >= 2
            better = cost < best
            second = np.where(better & far, best, np.where(~better & far, np.minimum(second, cost), second))
            best[better] = cost[better]
            move[better] = (dx, dy)
    # Unique somewhere near: a flat inside takes the move its unique corners found.
    unique = cv2.dilate((best < 0.9 * second).astype(np.uint8), np.ones((window, window), np.uint8))
    flow = cv2.resize(move, (w, h), interpolation=cv2.INTER_NEAREST) * np.float32(w / sw)
    return flow, cv2.resize(unique, (w, h), interpolation=cv2.INTER_NEAREST) > 0


def homography_flow(homography: np.ndarray, shape) -> np.ndarray:
    grid = pixel_grid(shape)
    points = grid.reshape(-1, 1, 2)
    moved = opencv().perspectiveTransform(points, homography.astype(np.float64)).reshape(grid.shape)
    return (moved - grid).astype(np.float32)


def _warp_error(rgb0: np.ndarray, rgb1: np.ndarray, flow: np.ndarray) -> np.ndarray:
    return np.abs(rgb0 - backward_warp(rgb1, flow)).mean(axis=-1)


def fuse_candidates(rgb0: np.ndarray, rgb1: np.ndarray, candidates: list[np.ndarray], where: list[np.ndarray]) -> np.ndarray:
    """Per pixel, the candidate flow whose warp of frame 1 matches frame 0 best over its
    neighbourhood (errors summed over two window sizes, so that textureless insides follow their
    edges); the first candidate unless clearly beaten, and wherever the others are not allowed (``where[k]``
    for candidate k >= 1)."""
    cv2 = opencv()
    if len(candidates) == 1:
        return candidates[0]
    size = max(rgb0.shape[:2])
    small, large = max(3, size // 64) | 1, max(9, size // 12) | 1
    costs = []
    for k, flow in enumerate(candidates):
        err = _warp_error(rgb0, rgb1, flow)
        # Pointing outside the frame explains nothing.
        target = pixel_grid(flow.shape) + flow
        h, w = flow.shape[:2]
        outside = (target[..., 0] < 0) | (target[..., 0] > w - 1) | (target[..., 1] < 0) | (target[..., 1] > h - 1)
        err[outside] = 255
        cost = cv2.blur(err, (small, small)) + cv2.blur(err, (large, large))
        if costs:
            cost = np.where(where[k], cost + FUSE_MARGIN, np.inf)
        costs.append(cost)
    choice = np.argmin(np.stack(costs), axis=0)
    return np.take_along_axis(np.stack(candidates), choice[None, ..., None], axis=0)[0]


def refine(gray0: np.ndarray, gray1: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """The flow plus DIS's residual between frame 0 and frame 1 warped back by it."""
    residual = dis_flow(gray0, backward_warp(gray1, flow))
    return flow + residual


def estimate_flows(rgb0: np.ndarray, rgb1: np.ndarray, large_moves: bool = True) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Flows 0->1 and 1->0 at the frames' size (found at most FLOW_WIDTH wide), and DIS's own two
    flows; DIS alone unless ``large_moves`` (the search for large moves costs most of a pair's time,
    docs/quality.md: worth it between keyframes, not between neighbouring generated frames)."""
    cv2 = opencv()
    h, w = rgb0.shape[:2]
    scale = min(1.0, FLOW_WIDTH / w)
    if scale < 1:
        size = (round(w * scale), round(h * scale))
        rgb0, rgb1 = (cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in (rgb0, rgb1))
    gray0, gray1 = _gray(rgb0), _gray(rgb1)
    rgb0, rgb1 = rgb0.astype(np.float32), rgb1.astype(np.float32)
    plain = [dis_flow(gray0, gray1), dis_flow(gray1, gray0)]
    if not large_moves:
        plain = _full_size(plain, scale, (w, h))
        return plain, plain  # the same arrays: FlowPair then finds their visibility once
    motions = dominant_motions(gray0, gray1)
    fused = []
    for a, b, ga, gb, own, other, homographies in ((rgb0, rgb1, gray0, gray1, plain[0], plain[1], motions),
                                                    (rgb1, rgb0, gray1, gray0, plain[1], plain[0], [np.linalg.inv(m) for m in motions])):
        # Other candidates only where DIS's flows disagree, and coarse matches only where unique:
        # elsewhere they would swap a good flow for an alias of a repeating texture.
        failing = cv2.blur(1 - visibility(own, other), (15, 15)) > 0.1
        coarse, unique = coarse_search(a, b)
        regions, matched = region_flow(a, b)
        candidates = [own, coarse, regions] + [homography_flow(m, a.shape) for m in homographies]
        choice = fuse_candidates(a, b, candidates, [None, failing & unique, failing & matched] + [failing] * len(homographies))
        fused.append(fuse_candidates(a, b, [own, refine(ga, gb, choice)], [None, failing]))
    # The candidates can still explain less than DIS alone (a rotation seen as aliased shifts):
    # keep whichever pair of flows explains more of what changed.
    plain_full = _full_size(plain, scale, (w, h))
    if explained_share(rgb0, rgb1, *plain) >= explained_share(rgb0, rgb1, *fused):
        return plain_full, plain_full
    return _full_size(fused, scale, (w, h)), plain_full


def _full_size(flows: list[np.ndarray], scale: float, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    if scale < 1:
        flows = [opencv().resize(f, size, interpolation=opencv().INTER_LINEAR) / scale for f in flows]
    return flows[0], flows[1]


def explained_share(rgb0: np.ndarray, rgb1: np.ndarray, flow01: np.ndarray, flow10: np.ndarray,
                    occlusions_excused: bool = False) -> float:
    """The share of the pixels that changed between the frames which the flows explain: forward and
    backward agree and the colours match, averaged over both directions (1 when nothing changed).
    ``occlusions_excused``: leave out the pixels that no pixel of the other frame maps onto (covered
    there, so nothing can explain them): a large move uncovers and covers much, and is still found."""
    cv2 = opencv()
    changed = cv2.blur(np.abs(rgb0 - rgb1).mean(axis=-1), (5, 5)) > 12
    if changed.mean() < 1e-3:
        return 1.0
    shares = []
    for a, b, forward, backward in ((rgb0, rgb1, flow01, flow10), (rgb1, rgb0, flow10, flow01)):
        explained = (visibility(forward, backward) > 0) & (cv2.blur(_warp_error(a, b, forward), (5, 5)) < 12)
        counted = changed & (explained | _reached(backward)) if occlusions_excused else changed
        shares.append(explained[counted].sum() / max(counted.sum(), 1))
    return float(np.mean(shares))


def _reached(flow_ba: np.ndarray) -> np.ndarray:
    """Where some pixel of frame B lands, by ``flow_ba``, on frame A (a pixel's 3x3 neighbourhood)."""
    cv2 = opencv()
    h, w = flow_ba.shape[:2]
    target = np.rint(pixel_grid(flow_ba.shape) + flow_ba).astype(np.int64)
    inside = (target[..., 0] >= 0) & (target[..., 0] < w) & (target[..., 1] >= 0) & (target[..., 1] < h)
    count = np.bincount((target[..., 1] * w + target[..., 0])[inside], minlength=h * w).reshape(h, w)
    return cv2.dilate((count > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0


def _fill_holes(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Unknown pixels take the mean of the known ones nearby, in ever wider windows (normalised convolution)."""
    cv2 = opencv()
    have = known.astype(np.float32)
    out = values * have[..., None]  # zero where unknown, so a blur of it is the windows' sum of known values
    size = 3
    missing = have == 0
    while missing.any() and size < 2 * max(values.shape[:2]):
        weight = cv2.blur(have, (size, size))
        new = missing & (weight > 0)
        out[new] = cv2.blur(out, (size, size))[new] / weight[new][:, None]
        have[new] = 1
        missing &= ~new
        size *= 3
    return out


def _fill_nearest(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Unknown pixels take the values of the nearest known one (the mean nearby where none is known)."""
    cv2 = opencv()
    if not known.any():
        return _fill_holes(values, known)
    _, labels = cv2.distanceTransformWithLabels((~known).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
    # Labels number the known pixels in scan order, from 1.
    flat = values.reshape(-1, *values.shape[2:])
    return flat[np.flatnonzero(known.ravel())[labels.ravel() - 1]].reshape(values.shape)


def _speed(flow: np.ndarray) -> np.ndarray:
    return np.sqrt((flow * flow).sum(axis=-1))


def swap_suspects(flow01: np.ndarray, flow10: np.ndarray) -> np.ndarray:
    """Where a match may be an alias, ``[H, W]`` bool: a moving object uncovers floor in one key and
    covers floor in the other, and two textureless patches, each hidden in one key, match each other
    in both directions (so the forward-backward test passes). Their sign: at one spot the two keys'
    flows are the same large move (what is at p in key 0 goes where what is at p in key 1 came from:
    the two swapped places). Which of the two is the alias, ``FlowPair`` asks the surface around it."""
    same = _speed(flow01 - flow10) < SWAP_TOLERANCE * np.maximum(_speed(flow01), _speed(flow10))
    return same & (np.minimum(_speed(flow01), _speed(flow10)) > 0.01 * flow01.shape[1] + 1)


def fill_from_alike(frame: np.ndarray, flow: np.ndarray, matched: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flow where a pixel has no match, taken from the matched pixels around it that look like it
    (weighted by colour likeness, up to a fifth of the frame away): a hidden patch of the rolling ball
    moves with the ball, a hidden patch of floor with the floor. And the support, 0-1: how much
    matched surface alike it found (0 where matched), so that an unmatched part of an object still
    covers its spot when the two keyframes are blended. Where nothing alike is near, the mean of the
    matched pixels nearby. Found at most FILL_WIDTH wide: a surface's move needs no finer grain."""
    cv2 = opencv()
    h, w = flow.shape[:2]
    scale = min(1.0, FILL_WIDTH / w)
    if scale < 1:
        size = (round(w * scale), round(h * scale))
        small = cv2.resize(frame.astype(np.float32), size, interpolation=cv2.INTER_AREA), cv2.resize(flow, size, interpolation=cv2.INTER_AREA) * scale
        alike, total = _alike(*small, cv2.resize(matched.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.5)
        alike = cv2.resize(alike, (w, h), interpolation=cv2.INTER_LINEAR) / scale
        total = cv2.resize(total, (w, h), interpolation=cv2.INTER_LINEAR)
    else:
        alike, total = _alike(frame.astype(np.float32), flow, matched)
    alone = ~matched & (total <= 0.3)  # nothing alike near: the mean of the matched nearby, found only if needed
    if alone.any():
        alike = np.where(alone[..., None], _fill_holes(flow, matched), alike)
    filled = np.where(matched[..., None], flow, alike)
    support = np.where(matched, 0.0, np.clip(total, 0, 1))
    return filled.astype(np.float32), support.astype(np.float32)


def _alike(frame: np.ndarray, flow: np.ndarray, matched: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``fill_from_alike``'s sums: the likeness-weighted mean flow of the matched pixels along 8
    directions at distances 1 to 64 (in steps of 320ths of the width), and the weights' total."""
    h, w = flow.shape[:2]
    step = max(1, w // 320)
    reach = 64 * step
    padded = [np.pad(a, [(reach, reach), (reach, reach)] + [(0, 0)] * (a.ndim - 2), mode="edge")
              for a in (frame, flow, matched.astype(np.float32))]
    total = np.zeros((h, w), np.float32)
    sums = np.zeros((h, w, 2), np.float32)
    for radius in (step * 2**k for k in range(7)):
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)):
            y, x = reach + dy * radius, reach + dx * radius
            colour, moves, known = (a[y : y + h, x : x + w] for a in padded)
            likeness = np.exp(-np.square(np.abs(colour - frame).mean(axis=-1) / ALIKE))
            weight = likeness * known / (1 + radius / (8 * step))
            total += weight
            sums += weight[..., None] * moves
    return (sums / np.maximum(total, 1e-6)[..., None]).astype(np.float32), total


def own_surfaces(frames: tuple, flows: tuple, visible: tuple) -> tuple[tuple, tuple]:
    """Per keyframe: the visibility (``visible``, the forward-backward test's, less the aliases), the
    flow and the support (``fill_from_alike``) of its pixels. A pixel hidden in the other keyframe
    has no true match: it moves with the surface it belongs to, the matched pixels alike to it. So
    does the alias of a swap (``swap_suspects``): of the two pixels at a suspect spot, the one whose
    move its own surface shares less (the floor patch whose floor stands still, not the front of the
    ball that rolls on)."""
    suspect = swap_suspects(*flows)
    sides = []
    for frame, flow, seen in zip(frames, flows, visible):
        alike, support = fill_from_alike(frame, flow, (seen > 0) & ~suspect)
        sides.append((flow, seen, alike, support, _speed(flow - alike) / np.maximum(_speed(flow), 1e-6)))
    strays = sides[0][-1], sides[1][-1]
    out = []
    for (flow, seen, alike, support, stray), other in zip(sides, reversed(strays)):
        seen = seen * ~(suspect & ((stray > SWAP_TOLERANCE) | (stray > other)))
        own = seen > 0
        out.append((seen, np.where(own[..., None], flow, alike).astype(np.float32), np.where(own, 0.0, support).astype(np.float32)))
    return out[0], out[1]


def flows_from_midpoint(flow_m0: np.ndarray, flow_m1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flows between two frames from the flows of their midpoint to each: the pixel at p at the
    midpoint is at ``p + flow_m0(p)`` in frame 0 and moves by ``flow_m1(p) - flow_m0(p)``, splatted
    to frame 0's grid (and the reverse to frame 1's); where several land on one spot the one moving
    most is in front (as in ``project_flow``), and spots no pixel reached take the nearest's."""
    def splat(values: np.ndarray, offset: np.ndarray) -> np.ndarray:
        h, w = values.shape[:2]
        target = np.rint(pixel_grid(values.shape) + offset).astype(np.int64)
        inside = (target[..., 0] >= 0) & (target[..., 0] < w) & (target[..., 1] >= 0) & (target[..., 1] < h)
        index = (target[..., 1] * w + target[..., 0])[inside]
        speed = _speed(values)[inside]
        top = np.full(h * w, -np.inf, dtype=np.float32)
        np.maximum.at(top, index, speed)
        front = speed >= top[index] - 1.0
        index = index[front]
        count = np.bincount(index, minlength=h * w)
        sums = [np.bincount(index, weights=values[..., c][inside][front], minlength=h * w) for c in range(2)]
        mean = np.stack(sums, axis=-1).reshape(h, w, 2) / np.maximum(count, 1).reshape(h, w, 1)
        return _fill_nearest(mean.astype(np.float32), (count > 0).reshape(h, w))

    return splat(flow_m1 - flow_m0, flow_m0), splat(flow_m0 - flow_m1, flow_m1)


def project_flow(flow: np.ndarray, t: float, priority: np.ndarray, visible: np.ndarray,
                 shift: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Forward-splat ``flow`` (keyframe to other keyframe) to time ``t``: the flow from time t back to
    the keyframe, ``-t * flow(p)`` at ``p + t * flow(p)``, and the share of the spot the keyframe
    covers with pixels it shares with the other keyframe. Where several pixels land on one spot,
    those within a small margin of the highest ``priority`` win (a z-buffer). ``shift``: a further
    displacement of each pixel at t, off the straight line (a chain's curve through its keys)."""
    cv2 = opencv()
    h, w = flow.shape[:2]
    values = flow if shift is None else np.concatenate([flow, shift], axis=-1)
    target = np.rint(pixel_grid(flow.shape) + (t * flow if shift is None else t * flow + shift)).astype(np.int64)
    inside = (target[..., 0] >= 0) & (target[..., 0] < w) & (target[..., 1] >= 0) & (target[..., 1] < h)
    index = (target[..., 1] * w + target[..., 0])[inside]
    z = priority[inside]
    top = np.full(h * w, -np.inf, dtype=np.float32)
    np.maximum.at(top, index, z)
    # A crack between a near surface's pixels is no window onto what lies behind it (the specks).
    top = cv2.dilate(top.reshape(h, w), np.ones((3, 3), np.uint8)).ravel()
    front = z >= top[index] - 4.0
    index = index[front]
    count = np.bincount(index, minlength=h * w).astype(np.float32)
    channels = [values[..., c] for c in range(values.shape[-1])] + [visible]
    sums = [np.bincount(index, weights=channel[inside][front], minlength=h * w) for channel in channels]
    known = count > 0
    safe = np.maximum(count, 1)
    projected = np.stack([total / safe for total in sums[:-1]], axis=-1).reshape(h, w, len(sums) - 1).astype(np.float32)
    shared = (sums[-1] / safe).reshape(h, w).astype(np.float32)
    projected = _fill_holes(projected, known.reshape(h, w))
    # A pixel hidden in the other keyframe still counts a little: where the other side has a hole it is all there is.
    cover = cv2.blur(known.reshape(h, w).astype(np.float32) * (0.05 + shared), (3, 3))
    if shift is None:
        return -t * projected, cover
    return -(t * projected[..., :2] + projected[..., 2:]), cover


def linear_inbetween(frame0: np.ndarray, frame1: np.ndarray, flow01: np.ndarray, flow10: np.ndarray,
                     visible0: np.ndarray, visible1: np.ndarray, t: float) -> np.ndarray:
    """The frame at ``t`` warped backwards along the flows scaled linearly (the Super SloMo
    approximation), each keyframe weighted by time and by whether its pixels are seen in the other;
    float32. Smooth where the flows are, soft where they fail: the engine's second estimate (and,
    alone, the engine before issue 15)."""
    flow_t0 = -(1 - t) * t * flow01 + t * t * flow10
    flow_t1 = (1 - t) ** 2 * flow01 - t * (1 - t) * flow10
    warped0 = backward_warp(frame0, flow_t0)
    warped1 = backward_warp(frame1, flow_t1)
    weight0 = (1 - t) * backward_warp(visible0, flow_t0)[..., None]
    weight1 = t * backward_warp(visible1, flow_t1)[..., None]
    total = weight0 + weight1
    # Where neither keyframe sees the point, fall back to the time-weighted blend.
    return np.where(total > 1e-3, (weight0 * warped0 + weight1 * warped1) / np.maximum(total, 1e-3),
                    (1 - t) * warped0 + t * warped1)


def agreement_average(sharp: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """``sharp`` where the two estimates differ (the soft one is there a ghost), their mean where they
    agree (two near-right estimates err apart), and a blend between."""
    difference = opencv().blur(np.abs(sharp - soft).mean(axis=-1), (5, 5))
    share = (0.5 * np.clip(1 - difference / AGREEMENT, 0, 1))[..., None]
    return sharp + share * (soft - sharp)


class FlowPair:
    """Two frames and their flows, computed once, for any number of inbetweens."""

    def __init__(self, frame0: np.ndarray, frame1: np.ndarray, large_moves: bool = True, flows: tuple | None = None):
        """``flows``: the two flows found elsewhere (RIFE's, for a chain: docs/chains-quality.md), else
        this engine finds them."""
        self.frame0, self.frame1 = frame0.astype(np.float32), frame1.astype(np.float32)
        (flow01, flow10), (self.linear01, self.linear10) = (flows, flows) if flows else estimate_flows(frame0, frame1, large_moves)
        seen = visibility(flow01, flow10), visibility(flow10, flow01)
        (self.visible0, self.flow01, support0), (self.visible1, self.flow10, support1) = own_surfaces((self.frame0, self.frame1), (flow01, flow10), seen)
        if self.linear01 is flow01:  # DIS's own flows were chosen: their visibility is the one above
            self.linear_visible0, self.linear_visible1 = self.visible0, self.visible1
        else:
            self.linear_visible0 = visibility(self.linear01, self.linear10)
            self.linear_visible1 = visibility(self.linear10, self.linear01)
        # Seen in the other keyframe, or alike to what is: how much of a spot each keyframe covers. The
        # z-buffer still ranks the matched first (ranking the alike with them ghosts real footage).
        self.surface0, self.surface1 = np.maximum(self.visible0, support0), np.maximum(self.visible1, support1)
        self.priority0 = self._priority(self.flow01, self.visible0, _warp_error(self.frame0, self.frame1, flow01) * self.visible0)
        self.priority1 = self._priority(self.flow10, self.visible1, _warp_error(self.frame1, self.frame0, flow10) * self.visible1)
        # Measured as when its thresholds were (docs/quality.md): hidden pixels moving with those around them.
        moved = _fill_holes(flow01, seen[0] > 0), _fill_holes(flow10, seen[1] > 0)
        self.confidence = explained_share(self.frame0, self.frame1, *moved, occlusions_excused=True)

    @staticmethod
    def _priority(flow, visible, error) -> np.ndarray:
        """Z-buffer order: seen in both keyframes first, then the larger move (the nearer object);
        ``error``: the matched pixels' warp error (an unmatched pixel's says nothing)."""
        speed = _speed(flow)
        return (100.0 * visible - np.minimum(error, 50.0) + 0.5 * speed).astype(np.float32)

    @property
    def sureness(self) -> float:
        """1 from CONFIDENT up (sharp frames), 0 at UNSURE and below (a dissolve), linear between."""
        return float(np.clip((self.confidence - UNSURE) / (CONFIDENT - UNSURE), 0, 1))

    def projected(self, t: float, shift0: np.ndarray | None = None, shift1: np.ndarray | None = None) -> np.ndarray:
        """Both keyframes forward-projected to ``t`` and blended by time and cover, float32."""
        flow_t0, cover0 = project_flow(self.flow01, t, self.priority0, self.surface0, shift0)
        flow_t1, cover1 = project_flow(self.flow10, 1 - t, self.priority1, self.surface1, shift1)
        warped0 = backward_warp(self.frame0, flow_t0)
        warped1 = backward_warp(self.frame1, flow_t1)
        weight0 = ((1 - t) * (cover0 + 1e-3))[..., None]
        weight1 = (t * (cover1 + 1e-3))[..., None]
        return (weight0 * warped0 + weight1 * warped1) / (weight0 + weight1)

    def at(self, t: float, shift0: np.ndarray | None = None, shift1: np.ndarray | None = None) -> np.ndarray:
        """The frame at time ``t`` in [0, 1], uint8 RGB. ``shift0``/``shift1``: how far each pixel of
        frame 0 / frame 1 is at t from where the straight line puts it (a chain's curve).

        1. The forward projection (sharp, one object drawn once), averaged with the linear
           backward warp where the two agree.
        2. Below CONFIDENT, mixed with a hedge (a dissolve and the linear warp, half each), all of
           it at UNSURE and below: where the flows explain too little a placed guess costs more
           than a soft frame (docs/quality.md), and the job's message then names the SVD engine."""
        if t <= 0:
            return self.frame0.astype(np.uint8)
        if t >= 1:
            return self.frame1.astype(np.uint8)
        sure = self.sureness
        linear = linear_inbetween(self.frame0, self.frame1, self.linear01, self.linear10, self.linear_visible0, self.linear_visible1, t)
        frame = agreement_average(self.projected(t, shift0, shift1), linear) if sure > 0 else 0.0
        if sure < 1:
            hedge = 0.5 * ((1 - t) * self.frame0 + t * self.frame1 + linear)
            frame = sure * frame + (1 - sure) * hedge
        return np.clip(frame + 0.5, 0, 255).astype(np.uint8)


def as_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def flow_inbetweens(start: Image.Image, end: Image.Image, frames: int, on_frame=None, pair: FlowPair | None = None) -> list[Image.Image]:
    """``frames`` images from ``start`` to ``end`` inclusive, evenly spaced in time."""
    pair = pair or FlowPair(as_array(start), as_array(end))
    out = [start]
    for j in range(1, frames - 1):
        out.append(Image.fromarray(pair.at(j / (frames - 1))))
        if on_frame:
            on_frame(j, frames - 2)
    return out + [end]


def crossfade_inbetweens(start: Image.Image, end: Image.Image, frames: int) -> list[Image.Image]:
    """The baseline: a plain dissolve."""
    return [start] + [Image.blend(start, end, j / (frames - 1)) for j in range(1, frames - 1)] + [end]
