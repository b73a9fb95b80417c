"""InbetweenPipeline on the tiny SVD: equivalence with diffusers, constraints, UNet calls, seeds."""

import contextlib
import functools
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import StableVideoDiffusionPipeline
from safetensors.torch import load_file

from mpd_backend.contract.sampler_table import SAMPLER_NAMES, SAMPLER_TABLE, sampler_info
from mpd_backend.svd.samplers import MPD, MPDTRF, get_sampler
from mpd_testing.golden import GOLDEN_SAMPLERS, golden_latents

from . import mpd_trf_reference

SMALL = dict(height=64, width=64, num_frames=8)


def seeded(seed):
    return torch.Generator("cpu").manual_seed(seed)


@contextlib.contextmanager
def counting_unet(pipe):
    """Wrap the UNet's forward to record each call's batch: 2 per evaluation of D (one CFG pair)."""
    calls = []
    original = pipe.unet.forward

    def forward(*args, **kwargs):
        calls.append(args[0].shape[0])
        return original(*args, **kwargs)

    pipe.unet.forward = forward
    try:
        yield calls
    finally:
        del pipe.unet.forward


def test_forward_equals_diffusers(pipe, tiny_model_dir, keyframes):
    reference = StableVideoDiffusionPipeline.from_pretrained(tiny_model_dir)
    reference.set_progress_bar_config(disable=True)
    start, end = keyframes
    common = dict(**SMALL, num_inference_steps=4, output_type="np", fps=7, decode_chunk_size=8)
    expected = reference(start, generator=seeded(5), **common).frames
    ours = pipe(start, end, sampler="forward", generator=seeded(5), **common).frames
    assert ours.shape == expected.shape == (1, 8, 64, 64, 3)
    assert np.abs(ours - expected).max() <= 1e-5


@pytest.mark.parametrize("name", ["vibid", "mpd"])
def test_final_start_frame_equals_start_keyframe_target(pipe, keyframes, name):
    start, end = keyframes
    latents = pipe(start, end, sampler=name, num_inference_steps=6, generator=seeded(0), output_type="latent", **SMALL).frames
    # The target computed independently of the pipeline's helper: clean VAE mode, scaled.
    pixels = pipe.video_processor.preprocess(start, height=64, width=64)
    z_start = pipe.vae.encode(pixels).latent_dist.mode() * pipe.vae.config.scaling_factor
    assert latents.shape == (1, 8, 4, 16, 16)
    torch.testing.assert_close(latents[:, 0], z_start, rtol=0, atol=1e-6)
    assert (latents[:, -1] - z_start).abs().max() > 0.1  # the end frame is not pinned to the start


@pytest.mark.parametrize(
    "name, steps, expected",
    [
        ("forward", 3, 3),
        ("forward", 10, 10),
        ("vibid", 4, 8),
        ("vibid", 10, 20),
        ("mpd", 10, 10 * 2 + 3 * 2),  # i < 0.2*10: steps 0, 1
        ("mpd", 25, 5 * (3 + 2) + 20 * 2),
        ("mpd", 7, 7 * 2 + 3 * 2),  # i < 1.4: steps 0, 1
        ("mpd-trf", 10, 1 * (1 + 2) + 9 * 8),  # i < 1.0: step 0
        ("mpd-trf", 25, 3 * (1 + 2) + 22 * 8),
        ("trf", 50, 2 * 55),
        ("trf", 30, 2 * 35),
        ("trf", 12, 2 * 12),
    ],
)
def test_unet_calls_match_the_spec(pipe, keyframes, name, steps, expected):
    with counting_unet(pipe) as calls:
        pipe(*keyframes, sampler=name, num_inference_steps=steps, height=32, width=32, num_frames=4,
             generator=seeded(0), output_type="latent")
    assert sum(calls) // 2 == expected == get_sampler(name).unet_calls(steps) == sampler_info(name).unet_calls(steps)  # evaluations of D
    assert set(calls) <= {2, 4}  # one CFG pair, or both paths' pairs in one batch
    assert (4 in calls) == (sampler_info(name).parallel_paths and steps > 1)  # the table's parallel paths batch


def test_the_sampler_table_is_the_samplers():
    """The contract's table, which the add-on, the panels and the pricing read, says what the samplers
    do: UNet calls for every step count (the launches are counted above), the spec's default steps,
    and which take a chain's inner keys."""
    assert set(SAMPLER_NAMES) == {"forward", "trf", "vibid", "mpd", "mpd-trf"}
    assert {info.name: info.default_steps for info in SAMPLER_TABLE} == {"forward": 25, "trf": 50, "vibid": 25, "mpd": 25, "mpd-trf": 25}
    assert [info.unet_calls(info.default_steps) for info in SAMPLER_TABLE] == [65, 50, 185, 110, 25]  # the spec's counts
    assert {info.name: info.default_fps for info in SAMPLER_TABLE} == {"forward": 7, "trf": 7, "vibid": 7, "mpd": 9, "mpd-trf": 9}
    x, z = torch.zeros(1, 6, 4, 2, 2), torch.zeros(1, 4, 2, 2)
    constant = lambda x_, i, key: (torch.zeros_like(x_), torch.ones_like(x_))
    for info in SAMPLER_TABLE:
        sampler = get_sampler(info.name)
        assert [sampler.unet_calls(n) for n in range(1, 101)] == [info.unet_calls(n) for n in range(1, 101)]
        assert info.motion_defaults() == {"motion_bucket_id": sampler.default_motion_bucket_id,
                                          "noise_aug_strength": sampler.default_noise_aug_strength, "fps": sampler.default_fps}
        assert info.label and str(info.unet_calls(info.default_steps)) in info.describe()
        run = functools.partial(sampler.sample, constant, x, torch.tensor([2.0, 1.0, 0.0]), z_start=z, z_end=z,
                                noise_like=torch.zeros_like, z_inner={2: z})
        if info.takes_chains:
            assert run().shape == x.shape
        else:
            with pytest.raises(ValueError, match="takes only two keys"):
                run()


@pytest.mark.parametrize("name, steps, launches", [("trf", 50, 55), ("mpd-trf", 10, 3 + 36)])
def test_parallel_paths_in_one_batch_change_nothing_but_the_launches(pipe, keyframes, name, steps, launches):
    outputs = {}
    for batched in (False, True):
        pipe.batch_parallel_paths = batched
        try:
            with counting_unet(pipe) as calls:
                outputs[batched] = pipe(*keyframes, sampler=name, num_inference_steps=steps, height=32, width=32,
                                        num_frames=4, generator=seeded(0), output_type="latent").frames
        finally:
            pipe.batch_parallel_paths = True
        assert len(calls) == (launches if batched else get_sampler(name).unet_calls(steps))
    torch.testing.assert_close(outputs[True], outputs[False], rtol=0, atol=1e-5)


def test_low_vram_settings_keep_the_latents_and_cap_the_decode_chunk(pipe, keyframes):
    """What enable_low_vram_mode sets besides offload (which needs an accelerator): feed-forward
    chunking and unbatched paths change no latent; the decode chunk is capped at 2."""
    run = lambda: pipe(*keyframes, sampler="mpd-trf", num_inference_steps=4, height=32, width=32, num_frames=4,
                       generator=seeded(0), output_type="latent").frames
    reference = run()
    decoded_batches = []
    original_decode = pipe.vae.decode
    pipe.unet.enable_forward_chunking()
    pipe.batch_parallel_paths, pipe.max_decode_chunk_size = False, 2
    pipe.vae.decode = lambda z, *args, **kwargs: decoded_batches.append(len(z)) or original_decode(z, *args, **kwargs)
    try:
        low_vram = run()
        pipe(*keyframes, sampler="mpd", num_inference_steps=2, generator=seeded(0), output_type="np", **SMALL)
    finally:
        del pipe.vae.decode
        for module in pipe.unet.modules():
            if hasattr(module, "set_chunk_feed_forward"):
                module.set_chunk_feed_forward(chunk_size=None, dim=0)
        pipe.batch_parallel_paths, pipe.max_decode_chunk_size = True, None
    torch.testing.assert_close(low_vram, reference, rtol=0, atol=1e-5)
    assert decoded_batches == [2] * (SMALL["num_frames"] // 2)


def test_sampler_object_carries_its_parameters(pipe, keyframes):
    with counting_unet(pipe) as calls:
        pipe(*keyframes, sampler=MPD(gamma=0.5, iterations=1), num_inference_steps=4, height=32, width=32,
             num_frames=4, generator=seeded(0), output_type="latent")
    assert len(calls) == 4 * 2 + 2 * 1


@pytest.mark.parametrize("name", ["mpd", "trf"])
def test_seed_reproduces_and_different_seeds_differ(pipe, keyframes, name):
    run = lambda seed: pipe(*keyframes, sampler=name, num_inference_steps=5, generator=seeded(seed),
                            output_type="np", **SMALL).frames
    first, again, other = run(11), run(11), run(12)
    assert np.array_equal(first, again)
    assert np.abs(first - other).max() > 1e-3


def test_latents_argument_replaces_the_initial_draw(pipe, keyframes):
    latents = torch.randn(1, 8, 4, 16, 16, generator=seeded(3))
    run = lambda seed: pipe(*keyframes, sampler="forward", num_inference_steps=3, generator=seeded(seed),
                            latents=latents, output_type="latent", noise_aug_strength=0.0, **SMALL).frames
    torch.testing.assert_close(run(1), run(2), rtol=0, atol=0)


def test_callback_on_step_end_sees_the_denoised_estimate_and_replaces_latents(pipe, keyframes):
    seen, denoised = [], []

    def callback(p, i, t, tensors):
        seen.append(i)
        denoised.append(tensors["denoised"])
        return {"latents": torch.zeros_like(tensors["latents"])} if i == 3 else tensors

    out = pipe(*keyframes, sampler="vibid", num_inference_steps=4, generator=seeded(0), output_type="latent",
               callback_on_step_end=callback, **SMALL).frames
    assert seen == [0, 1, 2, 3]
    assert out.abs().max() == 0
    assert denoised[-1].shape == (1, 8, 4, 16, 16)
    z_start = pipe._keyframe_target(pipe.video_processor.preprocess(keyframes[0], height=64, width=64))
    torch.testing.assert_close(denoised[-1][:, 0], z_start, rtol=0, atol=1e-6)  # the guided estimate, DDS included


@pytest.mark.parametrize("name", GOLDEN_SAMPLERS)
def test_golden_latents_on_the_tiny_model(pipe, keyframes, name):
    """Regression: each sampler's final latents, every value, as recorded in
    tests/backend/golden/tiny_latents.safetensors (``python -m mpd_testing golden-latents``), so a
    change that moves any output fails here."""
    golden = load_file(str(Path(__file__).parent / "golden" / "tiny_latents.safetensors"))[name]
    torch.testing.assert_close(golden_latents(pipe, *keyframes, name), golden, rtol=0, atol=1e-5)


def test_mpd_trf_equals_an_independent_reference(pipe, keyframes):
    """mpd-trf end to end against the spec written a second time (``mpd_trf_reference.py``)."""

    class Reference(MPDTRF):
        def sample(self, denoise, x, sigmas, *, z_start, z_end, noise_like, z_inner=None, callback=None):
            return mpd_trf_reference.sample_mpd_trf(denoise, x, sigmas, z_start, z_end, noise_like)

    run = lambda sampler: pipe(*keyframes, sampler=sampler, num_inference_steps=8, height=32, width=32, num_frames=6,
                               generator=seeded(3), output_type="latent").frames
    pipe.batch_parallel_paths = False  # the reference calls D once per path
    try:
        ours, reference = run("mpd-trf"), run(Reference())
    finally:
        pipe.batch_parallel_paths = True
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-5)
    assert reference.abs().max() > 0.1


def test_outputs_and_defaults(pipe, keyframes):
    out = pipe(*keyframes, num_inference_steps=2, generator=seeded(0), height=64, width=128)
    frames = out.frames[0]
    assert len(frames) == pipe.unet.config.num_frames and frames[0].size == (128, 64)
    tup = pipe(*keyframes, num_inference_steps=2, generator=seeded(0), output_type="pt", return_dict=False, **SMALL)
    assert isinstance(tup, tuple) and tup[0].shape == (1, 8, 3, 64, 64)
    with pytest.raises(ValueError, match="needs an end_image"):
        pipe(keyframes[0], sampler="mpd")
