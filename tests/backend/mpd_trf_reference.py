"""mpd-trf written a second time, straight from the sampler spec (docs/spec/samplers.md), with
nothing taken from ``mpd_backend``: the independent reference its end-to-end test compares with."""

import math

import torch


def reverse(x):
    return x.flip(1)


def mpd_block(denoise, x, i, sigmas, z_start, z_end, noise_like):
    s, s_next = float(sigmas[i]), float(sigmas[i + 1])
    xu, xc = denoise(x, i, "start")
    x0_b = xc + (z_end - xc[:, -1]).unsqueeze(1)  # the spec's closed form, in forward order
    x0_b[:, 0] = z_start
    y = reverse(x0_b) + s_next * (reverse(x) - reverse(xu)) / s
    return reverse(y) + math.sqrt(s**2 - s_next**2) * noise_like(x)


def vibid_step(denoise, x, i, sigmas, z_start, z_end, noise_like):
    s, s_next = float(sigmas[i]), float(sigmas[i + 1])
    xu, xc = denoise(x, i, "start")
    xc = xc.clone()
    xc[:, -1] = z_end
    x = xc + s_next * (x - xu) / s
    x = x + math.sqrt(s**2 - s_next**2) * noise_like(x)
    y = reverse(x)
    yu, yc = denoise(y, i, "end")
    yc = yc.clone()
    yc[:, -1] = z_start
    return reverse(yc + s_next * (y - yu) / s)


def fusion(denoise, x, i, sigmas):
    s, s_next = float(sigmas[i]), float(sigmas[i + 1])
    xfu, xfc = denoise(x, i, "start")
    _, xbc = denoise(reverse(x), i, "end")
    w = torch.linspace(1, 0, x.shape[1], dtype=x.dtype).view(1, -1, 1, 1, 1)
    return w * xfc + (1 - w) * reverse(xbc) + s_next * (x - xfu) / s


def sample_mpd_trf(denoise, x, sigmas, z_start, z_end, noise_like, gamma=0.1, k=1, rounds=3):
    n = len(sigmas) - 1
    for i in range(n):
        s, s_next = float(sigmas[i]), float(sigmas[i + 1])
        if i < gamma * n:
            for _ in range(k):
                x = mpd_block(denoise, x, i, sigmas, z_start, z_end, noise_like)
            x = vibid_step(denoise, x, i, sigmas, z_start, z_end, noise_like)
            continue
        for _ in range(rounds):
            x = fusion(denoise, x, i, sigmas) + math.sqrt(s**2 - s_next**2) * noise_like(x)
        x = fusion(denoise, x, i, sigmas)
    return x
