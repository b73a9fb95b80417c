"""Samplers on their own, with denoisers that are not the UNet (they take any callable)."""

import pytest
import torch

from mpd_backend import samplers
from mpd_backend.samplers import MPD, MPDTRF, TRF, Forward, ViBiD, get_sampler, mpd_backward_x0, trf_step_ids


def random_latents(seed, T=6):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, T, 4, 5, 7, generator=g)


def test_mpd_cumsum_construction_equals_closed_form():
    x, x0_cond, z_end = random_latents(0), random_latents(1), random_latents(2)[:, 0]
    sigma = 3.7
    built = samplers.R(mpd_backward_x0(x, x0_cond, sigma, z_end))  # back to forward order
    closed = x0_cond + (z_end - x0_cond[:, -1]).unsqueeze(1)
    torch.testing.assert_close(built, closed, rtol=0, atol=1e-5)


def test_mpd_block_sets_start_frame_and_returns_to_sigma():
    """With a denoiser that returns fixed estimates, the block's x is x0_b + s'(...)/s + renoise."""
    x = random_latents(3)
    x0u, x0c = random_latents(4), random_latents(5)
    z_start, z_end = random_latents(6)[:, 0], random_latents(7)[:, 0]
    sigmas = torch.tensor([5.0, 2.0, 0.0])
    zero_noise = torch.zeros_like
    out = samplers.mpd_block(lambda x_, i, k: (x0u, x0c), x, 0, sigmas, z_start, z_end, zero_noise)
    expected_x0 = x0c + (z_end - x0c[:, -1]).unsqueeze(1)
    expected_x0[:, 0] = z_start
    expected = expected_x0 + 2.0 * (x - x0u) / 5.0
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)


def test_trf_walk_matches_spec_for_50_and_30_steps():
    assert trf_step_ids(50) == [*range(10), 8, 7, 6, 5, 4, *range(5, 50)]
    assert trf_step_ids(30) == [*range(6), 4, 3, 2, 1, 0, *range(1, 30)]
    assert trf_step_ids(25) == list(range(25))  # no jump fits: plain walk


@pytest.mark.parametrize(
    "sampler, steps, calls",
    [
        (Forward(), 25, 25),
        (ViBiD(), 25, 50),
        (MPD(), 25, 65),  # 5*(3+2) + 20*2
        (MPDTRF(), 25, 185),  # 3*(1+2) + 22*8
        (TRF(), 50, 110),
        (TRF(), 30, 70),
    ],
)
def test_call_counts_with_a_counting_denoiser(sampler, steps, calls):
    """The loops' own structure, without a model; the UNet-wrapped count is in test_pipeline."""
    count = 0

    def denoise(x, i, keyframe):
        nonlocal count
        count += 1
        return 0.9 * x, 0.8 * x

    sigmas = torch.linspace(10, 0, steps + 1)
    sampler.sample(denoise, random_latents(0, T=4), sigmas, z_start=torch.zeros(1, 4, 5, 7),
                   z_end=torch.zeros(1, 4, 5, 7), noise_like=torch.zeros_like)
    assert count == calls == sampler.unet_calls(steps)


def test_vibid_and_mpd_end_on_the_start_keyframe_with_any_denoiser():
    z_start = torch.full((1, 4, 5, 7), 0.25)
    g = torch.Generator().manual_seed(0)
    for sampler in (ViBiD(), MPD()):
        out = sampler.sample(
            lambda x, i, k: (0.5 * x + 0.1, 0.4 * x - 0.2), random_latents(1), torch.tensor([8.0, 3.0, 1.0, 0.0]),
            z_start=z_start, z_end=torch.zeros_like(z_start), noise_like=lambda t: torch.randn(t.shape, generator=g),
        )
        torch.testing.assert_close(out[:, 0], z_start, rtol=0, atol=0)


def test_sampler_names_and_objects():
    assert get_sampler("mpd") == MPD()
    custom = MPD(gamma=0.4, iterations=2)
    assert get_sampler(custom) is custom
    assert custom.unet_calls(25) == 2 * 25 + 2 * 10
    with pytest.raises(ValueError, match="unknown sampler 'nope'"):
        get_sampler("nope")
