"""The two-key vibid and mpd steps exactly as they were before chains (commit 7ddb746), kept only
so that a test can show the chain-capable samplers are, with two keys, the same bit for bit."""

import torch

from mpd_backend.svd.samplers import END, START, R, _after_step, _sigma_pair, euler, is_early_step, renoise


def P(x0, k, z):
    x0 = x0.clone()
    x0[:, k] = z
    return x0


def vibid_step(denoise, x, i, sigmas, z_start, z_end, noise_like):
    sigma, sigma_next = _sigma_pair(sigmas, i)
    last = x.shape[1] - 1
    x0_uncond, x0_cond = denoise(x, i, START)
    x = euler(x, P(x0_cond, last, z_end), x0_uncond, sigma, sigma_next)
    x = renoise(x, sigma, sigma_next, noise_like)
    y = R(x)
    y0_uncond, y0_cond = denoise(y, i, END)
    y0 = P(y0_cond, last, z_start)
    return R(euler(y, y0, y0_uncond, sigma, sigma_next)), R(y0)


def mpd_backward_x0(x, x0_cond, sigma, z_end):
    eps_fwd = (x - x0_cond) / sigma
    eps_end = (R(x)[:, :1] - z_end.unsqueeze(1)) / sigma
    d_eps = -R(eps_fwd[:, 1:] - eps_fwd[:, :-1])
    eps_bwd = torch.cat([eps_end, eps_end + torch.cumsum(d_eps, dim=1)], dim=1)
    return R(x) - sigma * eps_bwd


def mpd_block(denoise, x, i, sigmas, z_start, z_end, noise_like):
    sigma, sigma_next = _sigma_pair(sigmas, i)
    last = x.shape[1] - 1
    x0_uncond, x0_cond = denoise(x, i, START)
    x0_bwd = P(mpd_backward_x0(x, x0_cond, sigma, z_end), last, z_start)
    y = euler(R(x), x0_bwd, R(x0_uncond), sigma, sigma_next)
    return renoise(R(y), sigma, sigma_next, noise_like)


def sample_vibid(denoise, x, sigmas, *, z_start, z_end, noise_like):
    for i in range(len(sigmas) - 1):
        x = _after_step(None, i, sigmas, vibid_step(denoise, x, i, sigmas, z_start, z_end, noise_like))
    return x


def sample_mpd(denoise, x, sigmas, *, z_start, z_end, noise_like, gamma=0.2, iterations=3):
    num_steps = len(sigmas) - 1
    for i in range(num_steps):
        if is_early_step(i, num_steps, gamma):
            for _ in range(iterations):
                x = mpd_block(denoise, x, i, sigmas, z_start, z_end, noise_like)
        x = _after_step(None, i, sigmas, vibid_step(denoise, x, i, sigmas, z_start, z_end, noise_like))
    return x
