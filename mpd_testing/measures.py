"""Measures the benchmarks and tests share: picture quality against the truth, and how much a
key pops in a chain (docs/spec/chains.md section 4)."""

from __future__ import annotations

import numpy as np


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two RGB uint8 frames."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """The structural similarity of two RGB uint8 frames, on luminance (11x11 Gaussian, sigma 1.5)."""
    import cv2

    x = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float64)
    y = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float64)
    blur = lambda img: cv2.GaussianBlur(img, (11, 11), 1.5)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    ssim_map = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(ssim_map[5:-5, 5:-5].mean())


def gmsd(a: np.ndarray, b: np.ndarray) -> float:
    """Gradient magnitude similarity deviation (Xue et al., IEEE TIP 2014) of two RGB uint8 frames:
    the spread of the per-pixel similarity of their edges' strengths, on luminance averaged 2x2,
    Prewitt gradients, c = 170. 0 for equal frames; higher where some structure was torn or smeared
    and the rest kept (unlike a mean, it is not diluted by the untouched background). No weights."""
    import cv2

    def gradient_magnitude(rgb: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
        grey = cv2.blur(grey, (2, 2))[::2, ::2] if min(grey.shape) >= 4 else grey
        kx = np.array([[1, 0, -1]] * 3, dtype=np.float64) / 3
        gx, gy = cv2.filter2D(grey, -1, kx), cv2.filter2D(grey, -1, kx.T)
        return np.sqrt(gx * gx + gy * gy)

    ma, mb = gradient_magnitude(a), gradient_magnitude(b)
    similarity = (2 * ma * mb + 170.0) / (ma * ma + mb * mb + 170.0)
    return float(similarity.std())


def pop_ratios(frames: list, key_offsets: list[int], radius: int = 4) -> list[float]:
    """For each key with frames on both sides, the frame-to-frame change next to it (the larger of
    into and out of the key) over the median change of the frames around it (``radius`` changes each
    side, those two excluded). About 1: no pop; a flash at the key reads as well above 1."""
    arrays = [np.asarray(f, dtype=np.float32) for f in frames]
    change = [float(np.abs(b - a).mean()) for a, b in zip(arrays, arrays[1:])]  # change[t]: frame t to t+1
    ratios = []
    for o in key_offsets:
        if o < 1 or o >= len(arrays) - 1:
            continue
        around = [change[t] for t in range(max(0, o - 1 - radius), min(len(change), o + 1 + radius)) if t not in (o - 1, o)]
        if not around:
            continue
        ratios.append(max(change[o - 1], change[o]) / max(float(np.median(around)), 1e-3))
    return ratios
