"""The flow engine and temporal resampling, on synthetic motion with exact ground truth."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from mpd_backend.contract.protocol import LogEvent, decode_event
from mpd_backend.flow.flat_regions import region_flow
from mpd_backend.flow.optical_flow import AGREEMENT, LOW_CONFIDENCE, UNSURE, FlowPair, agreement_average, as_array, crossfade_inbetweens, estimate_flows, flow_inbetweens
from mpd_backend.flow.retiming import fit_to_timeline

from .conftest import run_backend

W, H = 192, 128


def texture(seed=0, cells=(30, 45)) -> np.ndarray:
    """Smooth random texture, larger than the frame so that motion brings real content in."""
    rng = np.random.default_rng(seed)
    coarse = (rng.random((*cells, 3)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((W * 2, H * 2), Image.BICUBIC))


def frame_at(tex, dx, dy, scale) -> Image.Image:
    """The texture moved by (dx, dy) and scaled about the frame centre: exact ground truth."""
    cx, cy = tex.shape[1] / 2, tex.shape[0] / 2
    m = np.float32([[scale, 0, dx + (1 - scale) * cx], [0, scale, dy + (1 - scale) * cy]])
    full = cv2.warpAffine(tex, m, (tex.shape[1], tex.shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    x0, y0 = (tex.shape[1] - W) // 2, (tex.shape[0] - H) // 2
    return Image.fromarray(full[y0 : y0 + H, x0 : x0 + W])


def psnr(a, b) -> float:
    err = np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2)
    return 10 * np.log10(255**2 / err)


@pytest.mark.parametrize("motion", [(10, 4, 1.0), (20, -6, 1.0), (8, 0, 1.08)])
def test_flow_beats_crossfade_at_the_middle_frame(motion):
    dx, dy, scale = motion
    tex = texture()
    start, end = frame_at(tex, 0, 0, 1.0), frame_at(tex, dx, dy, scale)
    truth = frame_at(tex, dx / 2, dy / 2, (1 + scale) / 2)
    flow_mid = flow_inbetweens(start, end, 3)[1]
    fade_mid = crossfade_inbetweens(start, end, 3)[1]
    assert psnr(flow_mid, truth) > psnr(fade_mid, truth) + 6  # dB


def box_frame(tex, x: float) -> Image.Image:
    """A plain red box (no texture at all) at column ``x`` over the textured floor."""
    frame = np.asarray(frame_at(tex, 0, 0, 1.0)).copy()
    frame[..., 0] //= 3  # no red in the floor
    x0 = int(round(x))
    frame[52:76, x0 : x0 + 24] = (200, 30, 20)
    return Image.fromarray(frame)


def red_share(image, x: int) -> float:
    """The share of the box's rows at columns x..x+24 that is red."""
    rgb = np.asarray(image).astype(int)[52:76, x : x + 24]
    return float(((rgb[..., 0] > 120) & (rgb[..., 1] < 100) & (rgb[..., 2] < 100)).mean())


def test_a_large_textureless_move_is_drawn_once_in_the_right_place():
    """The box moves over three times its width (40 % of the frame): the middle frame has the box
    halfway, not two faded ones where it started and ended (a cross-fade, the old engine) nor none."""
    tex = texture(3, cells=(12, 18))  # a floor, not confetti
    start, end = box_frame(tex, 30), box_frame(tex, 110)
    truth = box_frame(tex, 70)
    pair = FlowPair(as_array(start), as_array(end))
    middle = Image.fromarray(pair.at(0.5))
    # The flows find the move (the sharp projection alone is 64 % red there), but the engine is only
    # 0.41 confident in them and hedges about a quarter towards a dissolve, which fades the box's edges.
    assert red_share(middle, 70) > 0.3
    assert red_share(middle, 30) < 0.05 and red_share(middle, 110) < 0.05
    assert psnr(middle, truth) > psnr(crossfade_inbetweens(start, end, 3)[1], truth) + 4


def test_confidence_is_low_when_the_flows_explain_nothing():
    """Two unrelated pictures (a cut, not a move): the engine says it cannot draw this."""
    assert FlowPair(as_array(frame_at(texture(4), 0, 0, 1.0)), as_array(frame_at(texture(5), 0, 0, 1.0))).confidence < LOW_CONFIDENCE
    assert FlowPair(as_array(frame_at(texture(4), 0, 0, 1.0)), as_array(frame_at(texture(4), 6, 2, 1.0))).confidence > 0.8


def test_an_unsure_engine_leans_to_a_dissolve_instead_of_placing_a_guess():
    """A cut (two unrelated pictures) is beyond any flow: the engine knows it (confidence at most
    UNSURE) and draws a dissolve-like frame, not its flows' arbitrary forward projection."""
    start, end = frame_at(texture(4), 0, 0, 1.0), frame_at(texture(5), 0, 0, 1.0)
    pair = FlowPair(as_array(start), as_array(end))
    assert pair.confidence <= UNSURE
    dissolve = crossfade_inbetweens(start, end, 3)[1]
    guess = Image.fromarray(np.clip(pair.projected(0.5) + 0.5, 0, 255).astype(np.uint8))
    assert psnr(pair.at(0.5), dissolve) > psnr(guess, dissolve) + 3


def test_agreement_average_keeps_the_sharp_estimate_where_the_two_differ():
    sharp = np.zeros((20, 40, 3), np.float32)
    soft = sharp.copy()
    soft[:, :10] = 4  # agree closely: averaged
    soft[:, 25:] = 4 * AGREEMENT  # a ghost: ignored
    merged = agreement_average(sharp, soft)
    assert np.allclose(merged[:, :5], 0.5 * 4 * (1 - 4 / AGREEMENT), atol=1e-4)
    assert np.allclose(merged[:, 30:], 0)


def test_flow_inbetweens_count_and_exact_ends():
    tex = texture(1)
    start, end = frame_at(tex, 0, 0, 1.0), frame_at(tex, 12, 3, 1.0)
    frames = flow_inbetweens(start, end, 7)
    assert len(frames) == 7 and frames[0] is start and frames[-1] is end
    assert all(f.size == (W, H) for f in frames)


@pytest.mark.parametrize("generated, wanted", [(8, 8), (8, 3), (8, 5), (8, 13), (8, 48), (5, 2), (2, 9)])
def test_resample_keeps_both_ends_and_returns_exactly_g(generated, wanted):
    tex = texture(2)
    clip = [frame_at(tex, 4 * k, 0, 1.0) for k in range(generated)]
    out = fit_to_timeline(clip, wanted)
    assert len(out) == wanted
    assert out[0] is clip[0] and out[-1] is clip[-1]
    if wanted > generated:  # a frame between two generated ones is synthesised, not a repeat
        times = [j * (generated - 1) / (wanted - 1) for j in range(wanted)]
        for frame, t in zip(out, times):
            if t != int(t):
                assert all(frame is not c for c in clip)
        k = wanted // 2
        t = k * (generated - 1) / (wanted - 1)
        truth = frame_at(tex, 4 * t, 0, 1.0)
        nearest = clip[round(t)]
        assert psnr(out[k], truth) >= psnr(nearest, truth)


def test_cli_flow_engine(keyframe_files, tmp_path):
    """(Auto's fallback to it, when neither SVD weights nor RIFE are here, is in test_rife.py.)"""
    out = tmp_path / "flow job"
    result = run_backend("generate", "--start", keyframe_files[0], "--end", keyframe_files[1], "--out", out,
                         "--engine", "flow", "--frames", "9", "--json")
    assert result.returncode == 0, result.stderr
    events = [decode_event(line) for line in result.stdout.splitlines()]
    notes = [e.message for e in events if isinstance(e, LogEvent) and e.note]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["engine"] == "flow" and len(manifest["frames"]) == 9
    assert "torch" not in manifest["versions"]
    assert 0 <= manifest["confidence"] <= 1
    assert any(n.startswith(f"flow engine confidence {manifest['confidence']:.2f}") for n in notes + manifest["notes"])


def test_low_confidence_is_said_in_the_manifest_and_names_the_svd_engine(tmp_path):
    paths = tmp_path / "a.png", tmp_path / "b.png"
    for seed, path in zip((6, 7), paths):
        frame_at(texture(seed), 0, 0, 1.0).save(path)
    out = tmp_path / "cut"
    result = run_backend("generate", "--start", paths[0], "--end", paths[1], "--out", out, "--engine", "flow", "--frames", "5", "--json")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["confidence"] < LOW_CONFIDENCE
    assert any("too large for the weight-free engine" in n and "SVD engine" in n for n in manifest["notes"])


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--start", "missing.png"], "The start keyframe was not found"),
        (["--frames", "1"], "frames must be at least 2"),
        (["--engine", "magic"], "invalid choice: 'magic'"),
    ],
)
def test_flow_engine_bad_input_gets_the_same_messages(keyframe_files, tmp_path, args, expected):
    base = {"--start": str(keyframe_files[0]), "--end": str(keyframe_files[1]), "--out": str(tmp_path / "j"), "--engine": "flow"}
    base.update(dict(zip(args[::2], args[1::2])))
    result = run_backend("generate", *[x for kv in base.items() for x in kv])
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_flows_from_the_midpoint_carry_each_pixel_to_its_key():
    from mpd_backend.flow.optical_flow import flows_from_midpoint

    # A square moving 10 pixels right over a still ground: at the midpoint (columns 25-34) it is 5
    # from each key; where it lands on ground that is also seen there, the square is in front.
    flow_m0 = np.zeros((40, 60, 2), np.float32)
    flow_m1 = np.zeros((40, 60, 2), np.float32)
    flow_m0[10:20, 25:35] = (-5, 0)
    flow_m1[10:20, 25:35] = (5, 0)
    flow01, flow10 = flows_from_midpoint(flow_m0, flow_m1)
    assert np.allclose(flow01[10:20, 20:30], (10, 0)) and np.allclose(flow10[10:20, 30:40], (-10, 0))
    assert np.allclose(flow01[30:, :], 0) and np.allclose(flow10[30:, :], 0)



def ball_disc(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """The ball's centre and radius in a key of the demo (the only pixels with much red)."""
    ys, xs = np.nonzero(rgb[..., 0].astype(int) > 150)
    return np.array([xs.mean(), ys.mean()]), float(np.sqrt(len(xs) / np.pi))


def test_the_demo_ball_is_whole_in_every_frame():
    """The demo's two keys (``make demo``'s render of frames 1 and 13, kept in tests/backend/keys):
    a checkered ball rolling a fifth of the frame, its pattern turning, over a plain floor. Inside
    the ball, where it is at each time, no floor shows through (a tear: an alias between floor
    patches that each key hides, drawn in front of the ball) and nothing dark (a speck of the
    backdrop). Before issue 25 the floor filled up to 14 % of the ball."""
    keys = [as_array(Image.open(Path(__file__).parent / "keys" / f"rolling-ball-{n}.png")) for n in (1, 13)]
    (c0, r0), (c1, r1) = (ball_disc(k) for k in keys)
    pair = FlowPair(*keys)
    ys, xs = np.mgrid[: keys[0].shape[0], : keys[0].shape[1]]
    for k in range(1, 12):
        t = k / 12
        frame = pair.at(t).astype(int)
        centre, radius = (1 - t) * c0 + t * c1, 0.8 * ((1 - t) * r0 + t * r1)
        inside = (xs - centre[0]) ** 2 + (ys - centre[1]) ** 2 < radius**2
        floor = inside & (frame[..., 1] > frame[..., 0] + 15)
        dark = inside & (frame.max(axis=-1) < 90)  # the backdrop is grey 58
        assert floor.sum() < 0.02 * inside.sum() and not dark.any(), (t, floor.sum(), dark.sum())


def box_pixels(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ys, xs of the plain box (the only saturated red in the shot)."""
    return np.nonzero(rgb[..., 0].astype(int) - rgb[..., 1] > 60)


def box_bounds(rgb: np.ndarray) -> tuple[int, int, int, int]:
    """x, y, width, height of the plain box."""
    ys, xs = box_pixels(rgb)
    return xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1


def test_a_plain_box_crossing_a_third_of_the_frame_is_found_as_a_whole():
    """Blender's render of a plain box (``tools/render_shots.py``'s large-move, frames 1 and 17, kept
    in tests/backend/keys): 140 pixels of 384 between the keys, texture only at its edges. Its
    pixels' flow is the map of one box onto the other (the region candidate, ``flat_regions``) for
    most of it; before, DIS and the block search found it for a fifth."""
    keys = [as_array(Image.open(Path(__file__).parent / "keys" / f"plain-box-{n}.png")) for n in (1, 17)]
    (ax, ay, aw, ah), (bx, by, bw, bh) = box_bounds(keys[0]), box_bounds(keys[1])
    (flow01, _), _ = estimate_flows(*keys)
    ys, xs = box_pixels(keys[0])
    true = np.stack([bx + (xs - ax) * bw / aw - xs, by + (ys - ay) * bh / ah - ys], axis=-1)
    near = np.hypot(*(flow01[ys, xs] - true).T) < 5
    assert near.mean() > 0.5, near.mean()


def flat_frame(boxes: list[tuple[int, int, tuple]]) -> np.ndarray:
    """A grey frame with plain 20x16 boxes at (x, y) in the given colours."""
    frame = np.full((H, W, 3), 128, np.uint8)
    for x, y, colour in boxes:
        frame[y : y + 16, x : x + 20] = colour
    return frame


def test_regions_match_only_their_one_look_alike():
    """A red box and a blue box move: each is found by its colour. Two red boxes: which went where is
    a guess, so neither is matched."""
    red, blue = (200, 40, 40), (40, 40, 200)
    flow, matched = region_flow(flat_frame([(20, 20, red), (20, 80, blue)]), flat_frame([(120, 30, red), (100, 90, blue)]))
    assert np.allclose(flow[28, 30], (100, 10), atol=2) and np.allclose(flow[88, 30], (80, 10), atol=2)
    assert matched[28, 30] and matched[88, 30] and not matched[5, 5]
    _, matched = region_flow(flat_frame([(20, 20, red), (20, 80, red)]), flat_frame([(120, 30, red), (100, 90, red)]))
    assert not matched.any()
