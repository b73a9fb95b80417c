"""Chains of keys (docs/spec/chains.md): the layout, the samplers with inner keys, two keys
unchanged bit for bit, and whole jobs on the tiny model and the flow engine."""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from mpd_backend.contract.chain_plan import SegmentKind, WindowKey, is_cycle, key_positions, plan_windows, segments
from mpd_backend.flow.flow_engine import generate_flow, generate_flow_chain
from mpd_backend.report import Reporter
from mpd_backend.svd.samplers import MPD, R, ViBiD, get_sampler, mpd_backward_x0
from mpd_backend.svd.svd_chain import spread_residuals
from mpd_testing.measures import pop_ratios

from . import two_key_reference as reference
from .conftest import run_backend

TINY_ARGS = ("--steps", "3", "--height", "64", "--width", "128", "--seed", "7")


def layout(frames, num_frames, same=None, cycle=False):
    kinds = [s.kind for s in segments(frames, same or [False] * (len(frames) - 1))]
    return [w.to_dict() for w in plan_windows(frames, kinds, num_frames, cycle)]


# ----------------------------------------------------------------------------------------------
# Layout (section 2, docs/chains.md)


def test_a_chain_that_fits_is_one_window_with_every_key_pinned():
    assert layout([0, 8, 16, 24, 32, 40, 48], 25) == [
        {"keys": [[0, 0], [8, 4], [16, 8], [24, 12], [32, 16], [40, 20], [48, 24]], "frames": [0, 48]}]
    assert layout([0, 100], 25) == [{"keys": [[0, 0], [100, 24]], "frames": [0, 100]}]  # two keys: today's one window


def test_longer_chains_share_keys_and_see_the_next_key_as_context():
    windows = layout([0, 16, 32, 48, 64], 25)  # keys every 16: at most 50 frames a window
    assert windows == [{"keys": [[0, 0], [16, 8], [32, 16], [48, 24]], "frames": [0, 32]},
                       {"keys": [[16, 0], [32, 8], [48, 16], [64, 24]], "frames": [32, 64]}]
    # Every frame is output by exactly one window, the shared key by both (it is the key itself).
    covered = [t for w in windows for t in range(w["frames"][0], w["frames"][1])] + [64]
    assert covered == list(range(65))


def test_keys_too_close_for_one_window_are_split():
    assert key_positions([0, 1, 50], 25) is None  # 0 and 1 would land on one window frame
    assert key_positions([0, 2, 49], 25) is None  # k = 0, 1: no free frame between them
    assert key_positions([0, 3, 48], 25) == [0, 2, 24]
    windows = layout([0, 2, 49], 25)
    assert [w["frames"] for w in windows] == [[0, 2], [2, 49]]


def test_holds_and_adjacent_keys_end_a_run_and_cycles_wrap():
    frames = [0, 8, 16, 17, 25, 33]
    kinds = [s.kind for s in segments(frames, [False, True, False, False, False])]
    assert kinds == [SegmentKind.GENERATE, SegmentKind.HOLD, SegmentKind.ADJACENT, SegmentKind.GENERATE, SegmentKind.GENERATE]
    assert layout(frames, 25, [False, True, False, False, False]) == [
        {"keys": [[0, 0], [8, 24]], "frames": [0, 8]}, {"keys": [[17, 0], [25, 12], [33, 24]], "frames": [17, 33]}]
    assert is_cycle(["a", "b", "c", "a"]) and not is_cycle(["a", "a"])
    # A loop of keys every 16: the first window sees the key before the loop's end as its context.
    cycle = layout([0, 16, 32, 48], 25, cycle=True)
    assert cycle[0]["keys"][0] == [-16, 0] and cycle[-1]["keys"][-1] == [64, 24]


def test_window_position_is_piecewise_linear_through_the_keys():
    window = plan_windows([0, 8, 24], [SegmentKind.GENERATE] * 2, 25)[0]
    assert [window.position(t) for t in (0, 4, 8, 16, 24)] == [0, 4, 8, 16, 24]
    window = plan_windows([0, 4, 24], [SegmentKind.GENERATE] * 2, 13)[0]
    assert window.keys == (WindowKey(0, 0, 0), WindowKey(1, 4, 2), WindowKey(2, 24, 12))
    assert window.position(2) == 1 and window.position(14) == 7


# ----------------------------------------------------------------------------------------------
# The samplers (section 1)


def toy_denoiser():
    """A fixed, deterministic stand-in for the UNet (the math under test is the samplers')."""
    weight = torch.randn(4, 4, generator=torch.Generator().manual_seed(3))

    def denoise(x, i, keyframe):
        a = torch.einsum("btchw,cd->btdhw", x, weight) * 0.1 + (0.3 if keyframe == "start" else -0.2)
        return a * 0.9, a + x.mean(1, keepdim=True) * 0.05

    return denoise


def sample(name, denoise, x, keys, seed=1, **extra):
    generator = torch.Generator().manual_seed(seed)
    noise_like = lambda t: torch.randn(t.shape, generator=generator)  # noqa: E731
    return get_sampler(name).sample(denoise, x.clone(), SIGMAS, noise_like=noise_like, **keys, **extra)


SIGMAS = torch.tensor([10.0, 5.0, 2.0, 0.5, 0.0])


@pytest.fixture
def latents():
    g = torch.Generator().manual_seed(0)
    return {"x": torch.randn(1, 8, 4, 6, 6, generator=g) * 10, "z_start": torch.randn(1, 4, 6, 6, generator=g),
            "z_end": torch.randn(1, 4, 6, 6, generator=g), "inner": {3: torch.randn(1, 4, 6, 6, generator=g),
                                                                       5: torch.randn(1, 4, 6, 6, generator=g)}}


def test_two_keys_are_the_samplers_of_before_bit_for_bit(latents):
    keys = {"z_start": latents["z_start"], "z_end": latents["z_end"]}
    denoise = toy_denoiser()
    for name, old in (("vibid", reference.sample_vibid), ("mpd", reference.sample_mpd)):
        generator = torch.Generator().manual_seed(1)
        before = old(denoise, latents["x"].clone(), SIGMAS, noise_like=lambda t, g=generator: torch.randn(t.shape, generator=g), **keys)
        assert torch.equal(sample(name, denoise, latents["x"], keys), before), name
        assert torch.equal(sample(name, denoise, latents["x"], keys, z_inner={}), before), name


class ReferenceMPD(MPD):
    """The two-key mpd of before, as a sampler object the pipeline can run."""

    def sample(self, denoise, x, sigmas, *, z_start, z_end, noise_like, z_inner=None, callback=None):
        return reference.sample_mpd(denoise, x, sigmas, z_start=z_start, z_end=z_end, noise_like=noise_like,
                                    gamma=self.gamma, iterations=self.iterations)


class ReferenceViBiD(ViBiD):
    def sample(self, denoise, x, sigmas, *, z_start, z_end, noise_like, z_inner=None, callback=None):
        return reference.sample_vibid(denoise, x, sigmas, z_start=z_start, z_end=z_end, noise_like=noise_like)


@pytest.mark.parametrize("name, before", [("mpd", ReferenceMPD()), ("vibid", ReferenceViBiD())])
def test_two_keys_on_the_tiny_model_are_the_outputs_of_before_bit_for_bit(pipe, keyframes, name, before):
    run = lambda sampler: pipe(*keyframes, sampler=sampler, num_frames=8, height=64, width=64, num_inference_steps=3,  # noqa: E731
                               generator=torch.Generator().manual_seed(5), output_type="latent").frames
    assert torch.equal(run(name), run(before))


def test_mpd_backward_estimate_restarts_at_every_key(latents):
    """The cumulative-sum form restarted at each key equals the closed form of chains.md section 1."""
    x, z_end, inner = latents["x"], latents["z_end"], latents["inner"]
    x0_cond = torch.randn_like(x)
    built = R(mpd_backward_x0(x, x0_cond, 2.0, z_end, inner))  # back in forward order
    anchors, closed, previous = {**inner, 7: z_end}, x0_cond.clone(), 0
    for k in sorted(anchors):
        closed[:, previous : k + 1] = x0_cond[:, previous : k + 1] + (anchors[k] - x0_cond[:, k]).unsqueeze(1)
        previous = k + 1
    torch.testing.assert_close(built, closed, rtol=0, atol=1e-4)
    torch.testing.assert_close(built[:, 3], inner[3], rtol=0, atol=1e-4)  # the anchor itself


@pytest.mark.parametrize("name", ["mpd", "vibid"])
def test_inner_keys_are_exact_in_the_result(latents, name):
    keys = {"z_start": latents["z_start"], "z_end": latents["z_end"]}
    out = sample(name, toy_denoiser(), latents["x"], keys, z_inner=latents["inner"])
    for k, z in latents["inner"].items():
        assert torch.equal(out[:, k], z)
    assert torch.equal(out[:, 0], latents["z_start"])
    assert not torch.equal(out, sample(name, toy_denoiser(), latents["x"], keys))


@pytest.mark.parametrize("name", ["trf", "mpd-trf", "forward"])
def test_samplers_without_a_hard_constraint_refuse_inner_keys(latents, name):
    with pytest.raises(ValueError, match="only two keys; use mpd or vibid"):
        sample(name, toy_denoiser(), latents["x"], {"z_start": latents["z_start"], "z_end": latents["z_end"]}, z_inner=latents["inner"])


def test_the_pipeline_pins_inner_keyframes(pipe, keyframes):
    middle = keyframe_disc(64, 64, 30, 30)
    x = pipe(*keyframes, inner_keyframes={4: middle}, num_frames=8, height=64, width=64, num_inference_steps=2,
             generator=torch.Generator().manual_seed(0), output_type="latent").frames
    pixels = pipe.video_processor.preprocess(middle, height=64, width=64)
    torch.testing.assert_close(x[:, 4], pipe._keyframe_target(pixels), rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="free frame between keys"):
        pipe(*keyframes, inner_keyframes={1: middle}, num_frames=8, height=64, width=64, num_inference_steps=1)
    with pytest.raises(ValueError, match="only two keyframes"):
        pipe(*keyframes, inner_keyframes={4: middle}, sampler="trf", num_frames=8, height=64, width=64, num_inference_steps=1)


# ----------------------------------------------------------------------------------------------
# Footage with non-linear motion, for the flow engine


def keyframe_disc(width, height, x, y, radius=9):
    """A textured disc at (x, y) on a textured background: something optical flow can follow."""
    yy, xx = np.mgrid[0:height, 0:width]
    background = np.stack([60 + 40 * np.sin(xx / 5.0) * np.cos(yy / 7.0), 80 + 0 * xx, 110 + 30 * np.cos(xx / 9.0 + yy / 4.0)], -1)
    image = Image.fromarray(background.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=(240, 200, 40))
    draw.ellipse([x - radius / 3, y - radius / 3, x + radius / 3, y + radius / 3], fill=(200, 30, 30))
    return image


def eased_path(t):
    """An eased arc over frames 0..24: slow, fast, slow, rising and falling."""
    u = t / 24
    return 16 + 160 * (0.5 - 0.5 * math.cos(math.pi * u)), 40 + 22 * math.sin(math.pi * u)


def disc_centre(image):
    a = np.asarray(image).astype(int)
    mask = (a[..., 0] > 200) & (a[..., 1] > 150) & (a[..., 2] < 90)
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean())


def quiet():
    return Reporter(json_events=True, job_id="chain-test")


def test_flow_chain_moves_along_the_curve_and_keeps_speed_through_keys():
    keys = [0, 6, 12, 18, 24]
    images = [keyframe_disc(192, 80, *eased_path(t)) for t in keys]
    chain, _ = generate_flow_chain(images, keys, [str(t) for t in keys], quiet(), [])
    pairs = [images[0]]
    for a, b, j in zip(keys, keys[1:], range(len(keys))):
        pairs += generate_flow(images[j], images[j + 1], b - a + 1, quiet(), [])[0][1:]
    for t in keys:
        assert chain[t] is images[keys.index(t)]  # every key exact

    def errors(frames):  # the inner segments, where both neighbours shape the curve
        return [abs(disc_centre(frames[t])[0] - eased_path(t)[0]) for t in range(keys[1], keys[-2] + 1)]

    def speed_jumps(frames):
        x = [disc_centre(frames[t])[0] for t in range(25)]
        return [abs((x[t + 1] - x[t]) - (x[t] - x[t - 1])) for t in keys[1:-1]]

    assert np.mean(errors(chain)) < 0.7 * np.mean(errors(pairs))
    assert np.mean(speed_jumps(chain)) < 0.7 * np.mean(speed_jumps(pairs))


def test_pop_ratio_finds_a_flash_and_residuals_fade_to_the_neighbouring_keys():
    smooth = [np.full((4, 4), 10.0 * t) for t in range(9)]
    flashed = [f + (25.0 if t == 4 else 0.0) for t, f in enumerate(smooth)]
    assert pop_ratios(smooth, [4]) == pytest.approx([1.0])
    assert pop_ratios(flashed, [4])[0] > 2
    zero = [np.zeros((2, 2)) for _ in range(9)]
    spread = spread_residuals(zero, [0, 4, 8], [np.full((2, 2), 8.0), np.full((2, 2), -4.0), np.zeros((2, 2))])
    assert [float(f[0, 0]) for f in spread] == [0, 5, 2, -1, 0, -3, -2, -1, 0]  # the keys themselves untouched


# ----------------------------------------------------------------------------------------------
# Whole jobs, as a user runs them


def chain_keys(folder, frames, same_as=None):
    """Key files along the eased path; ``same_as``: {frame: frame whose image it repeats}."""
    args = []
    for t in frames:
        source = (same_as or {}).get(t, t)
        path = folder / f"key_{t:03d}.png"
        keyframe_disc(128, 64, 16 + (eased_path(source)[0] - 16) * 0.55, eased_path(source)[1] - 10).save(path)
        args += ["--key", f"{t}={path}"]
    return args


def manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


def assert_keys_exact(folder, frames):
    m = manifest(folder)
    assert len(m["frames"]) == frames[-1] - frames[0] + 1
    for t in frames:
        key = np.asarray(Image.open(folder.parent / f"key_{t:03d}.png").convert("RGB"))
        assert np.array_equal(np.asarray(Image.open(folder / m["frames"][t - frames[0]]).convert("RGB")), key), t


def test_a_chain_on_the_tiny_model_is_exact_at_every_key_and_resumes_per_window(tiny_model_dir, tmp_path):
    frames = [1, 5, 9, 13, 17]
    keys = chain_keys(tmp_path, frames)
    first = tmp_path / "first"
    result = run_backend("generate", *keys, "--out", first, "--engine", "svd", "--model", tiny_model_dir, "--offline", *TINY_ARGS)
    assert result.returncode == 0, result.stderr
    assert_keys_exact(first, frames)
    m = manifest(first)
    assert m["keys"] == [{"frame": t, "image": str(tmp_path / f"key_{t:03d}.png")} for t in frames]
    # 17 frames > 2T = 16 for the tiny model's 8: two windows sharing key 9, each with a context key.
    assert [w["keys"] for w in m["windows"]] == [[[1, 0], [5, 2], [9, 5], [13, 7]], [[5, 0], [9, 2], [13, 5], [17, 7]]]
    assert [w["frames"] for w in m["windows"]] == [[1, 9], [9, 17]] and not any(w["reused"] for w in m["windows"])
    assert m["fingerprint"]["keyframes"]["between"][0][0] == 4

    # A crash after the first window: its folder keeps the finished window; a re-run offered it reuses it.
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    (crashed / "windows").mkdir()
    (first / "windows" / "00").rename(crashed / "windows" / "00")
    again = tmp_path / "again"
    result = run_backend("generate", *keys, "--out", again, "--engine", "svd", "--model", tiny_model_dir, "--offline",
                         *TINY_ARGS, "--reuse", crashed)
    assert result.returncode == 0, result.stderr
    assert [w["reused"] for w in manifest(again)["windows"]] == [True, False]
    for name in manifest(first)["frames"]:
        assert (again / name).read_bytes() == (first / name).read_bytes(), name  # the same result, exactly


def test_a_chain_with_trf_is_refused_with_the_samplers_that_take_it(tmp_path):
    result = run_backend("generate", *chain_keys(tmp_path, [1, 5, 9]), "--out", tmp_path / "out", "--engine", "svd", "--sampler", "trf")
    assert result.returncode == 2
    assert "takes only two keys" in result.stderr and "mpd or vibid" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["bad key", "one key", "two keys at one frame"])
def test_bad_chain_keys_get_one_line(tmp_path, case):
    keys = chain_keys(tmp_path, [1, 5])
    keys = {"bad key": keys + ["--key", "nine=x.png"], "one key": keys[:2],
            "two keys at one frame": keys + ["--key", keys[1].replace("1=", "5=", 1)]}[case]
    result = run_backend("generate", *keys, "--out", tmp_path / "out", "--engine", "flow")
    assert result.returncode == 2 and result.stderr.count("error: ") == 1 and "Traceback" not in result.stderr


def test_holds_cycles_and_adjacent_keys_on_the_flow_engine(tmp_path):
    frames = [1, 7, 13, 14, 20, 26]
    keys = chain_keys(tmp_path, frames, same_as={13: 7, 26: 1})  # 7-13 a hold; 13-14 adjacent; 26 repeats 1: a cycle
    out = tmp_path / "out"
    result = run_backend("generate", *keys, "--out", out, "--engine", "flow")
    assert result.returncode == 0, result.stderr
    assert_keys_exact(out, frames)
    m = manifest(out)
    held = np.asarray(Image.open(tmp_path / "key_007.png").convert("RGB"))
    for t in range(8, 13):
        assert np.array_equal(np.asarray(Image.open(out / m["frames"][t - 1]).convert("RGB")), held)
    assert any("frames 7-13 hold one image" in note for note in m["notes"])
    assert [s["kind"] for s in m["segments"]] == ["generate", "hold", "adjacent", "generate", "generate"]


def test_key_residuals_take_the_flash_out_of_the_frames_next_to_a_key(pipe, tmp_path):
    """The SVD chain with and without the residuals spread (chains.md section 4): the same keys, the
    frames next to each inner key closer to it, and a lower pop ratio."""
    from mpd_backend.runner import pixels_sha256
    from mpd_backend.svd.svd_chain import generate_svd_chain

    keys = [0, 4, 8, 12]
    images = [keyframe_disc(64, 64, 12 + 3 * t, 32) for t in keys]
    params = {"sampler": "mpd", "sampler_options": {"gamma": 0.2, "iterations": 3}, "model": "tiny", "steps": 2, "seed": 0,
              "width": 64, "height": 64, "num_frames": 8, "fps": 9, "motion_bucket_id": 127, "noise_aug_strength": 0.02,
              "decode_chunk_size": None}
    made = {}
    for spread in (True, False):
        frames, _ = generate_svd_chain(pipe, images, keys, [pixels_sha256(i) for i in images], params, {}, quiet(),
                                       lambda: False, tmp_path / str(spread), spread_key_residuals=spread)
        made[spread] = [np.asarray(f, dtype=np.float32) for f in frames]
    for t in keys:
        assert np.array_equal(made[True][t], made[False][t])
    gap = lambda frames, t: np.abs(frames[t + 1] - frames[t]).mean() + np.abs(frames[t - 1] - frames[t]).mean()  # noqa: E731
    assert all(gap(made[True], t) < gap(made[False], t) for t in keys[1:-1])
    assert np.mean(pop_ratios(made[True], keys[1:-1])) < np.mean(pop_ratios(made[False], keys[1:-1]))
