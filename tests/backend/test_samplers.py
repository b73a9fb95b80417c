"""Samplers on their own, with denoisers that are not the UNet (they take any callable)."""

import pytest
import torch

from mpd_backend.svd import samplers
from mpd_backend.svd.samplers import MPD, MPDTRF, TRF, Forward, ViBiD, get_sampler, mpd_backward_x0


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
    trf = TRF()
    assert trf.step_ids(50) == [*range(10), 8, 7, 6, 5, 4, *range(5, 50)]
    assert trf.step_ids(30) == [*range(6), 4, 3, 2, 1, 0, *range(1, 30)]
    assert trf.step_ids(25) == list(range(25))  # no jump fits: plain walk


# Hand-computed steps on three one-value frames x = [1, 2, 3], sigma 2 -> 1, with a denoiser whose
# estimates are constants: uncond 0, cond 10 (start keyframe) or 20 (end keyframe).
X = torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1, 1)
SIGMAS = torch.tensor([2.0, 1.0, 0.0])


def constant_denoiser(x, i, keyframe):
    return torch.zeros_like(x), torch.full_like(x, 10.0 if keyframe == "start" else 20.0)


def frames(t):
    return [round(v, 5) for v in t.flatten().tolist()]


def test_vibid_step_by_hand():
    """Forward: x0 = [10, 10, z_end=200] (DDS), x = x0 + (x - 0)/2 = [10.5, 11, 201.5], + sqrt(3) re-noise.
    Backward on R(x): y0 = [20, 20, z_start=100], y = y0 + R(x)/2; back in forward order."""
    r3 = 3**0.5
    x, denoised = samplers.vibid_step(constant_denoiser, X, 0, SIGMAS, torch.full((1, 1, 1, 1), 100.0),
                                      torch.full((1, 1, 1, 1), 200.0), torch.ones_like)
    assert frames(x) == frames(torch.tensor([100 + (10.5 + r3) / 2, 20 + (11 + r3) / 2, 20 + (201.5 + r3) / 2]))
    assert frames(denoised) == [100.0, 20.0, 20.0]


def test_fusion_round_by_hand():
    """w = [1, 0.5, 0]: x0 = w*10 + (1-w)*20 = [10, 15, 20]; x = x0 + (x - 0)/2."""
    x, denoised = samplers.fusion_round(constant_denoiser, X, 0, SIGMAS)
    assert frames(x) == [10.5, 16.0, 21.5] and frames(denoised) == [10.0, 15.0, 20.0]


def test_trf_step_by_hand():
    """Guidance [1, 2, 3] in each path's own order: forward x0 = [10, 20, 30], Euler [5.5, 11, 16.5];
    backward on [3, 2, 1]: x0 = [20, 40, 60], Euler [11.5, 21, 30.5], reversed [30.5, 21, 11.5];
    fused with w = [1, 0.5, 0]."""
    guidance = samplers.frame_ramp(1.0, 3.0, X)
    x, denoised = samplers.trf_step(constant_denoiser, X, 0, SIGMAS, guidance)
    assert frames(x) == [5.5, 16.0, 11.5] and frames(denoised) == [10.0, 30.0, 20.0]  # w*x0f + (1-w)*R(x0b)


def test_callback_gets_k_diffusion_style_dicts():
    seen = []
    MPD(gamma=0.5, iterations=1).sample(constant_denoiser, X, torch.tensor([4.0, 2.0, 1.0, 0.0]),
                                         z_start=torch.zeros(1, 1, 1, 1), z_end=torch.zeros(1, 1, 1, 1),
                                         noise_like=torch.zeros_like, callback=lambda info: seen.append(info))
    assert [(d["i"], float(d["sigma"])) for d in seen] == [(0, 4.0), (1, 2.0), (2, 1.0)]
    assert all(set(d) == {"x", "i", "sigma", "denoised"} and d["denoised"].shape == X.shape for d in seen)


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
