"""Takes and a strip's frames outside the sequencer, without Blender."""

import importlib
import json
import random

import pytest


@pytest.fixture(scope="module")
def takes(addon_package):
    return importlib.import_module("mpd_inbetween.core.takes")


@pytest.fixture(scope="module")
def strip_frames(addon_package):
    return importlib.import_module("mpd_inbetween.core.strip_frames")


def test_seeds_of_takes_are_different_and_a_rerun_keeps_its_own_first(takes):
    assert takes.take_seeds(3, 40, consecutive=True) == [40, 41, 42]
    assert takes.take_seeds(2, takes.SEED_LIMIT - 1, consecutive=True) == [takes.SEED_LIMIT - 1, 0]
    kept = takes.take_seeds(4, 7, rng=random.Random(1))
    assert kept[0] == 7 and len(set(kept)) == 4 and all(0 <= s < takes.SEED_LIMIT for s in kept)
    drawn = takes.take_seeds(8, rng=random.Random(2))
    assert len(set(drawn)) == 8 and drawn != takes.take_seeds(8, rng=random.Random(3))


def test_takes_of_a_shot_share_keys_and_set_but_not_seed(takes, shots, tmp_path):
    shot = shots.chain_shot("Shot 010", [(1, "/k/a.png"), (5, "/k/b.png"), (9, "/k/c.png")])
    planned, note = takes.plan_takes(shot, 3, "svd", 5, consecutive=True)
    assert note == "" and [s.seed for s in planned] == [5, 6, 7] and [s.take for s in planned] == [1, 2, 3]
    assert len({s.take_group for s in planned}) == 1 and all(s.key_frames == [1, 5, 9] for s in planned)
    assert [s.label for s in planned] == ["Shot 010 take 1", "Shot 010 take 2", "Shot 010 take 3"]
    paths = [shots.write_shot_job(tmp_path, s, {"seed": 0}, "SCENE") for s in planned]
    assert [json.loads(p.read_text())["seed"] for p in paths] == [5, 6, 7]  # each take's own seed, not the options'
    assert [p.parent.name.startswith(f"Shot 010 take {k}_") for k, p in enumerate(paths, 1)] == [True] * 3
    assert all(json.loads(p.read_text())["shot"] == "Shot 010" for p in paths)

    (single,), _ = takes.plan_takes(shot, 1, "svd", 5, consecutive=True)
    assert (single.take, single.seed, single.label) == (0, 5, "Shot 010")  # one take of a new set: a plain shot
    later, _ = takes.plan_takes(shot, 2, "svd", 9, consecutive=False, group="abc", first_take=4)
    assert [(s.take, s.take_group) for s in later] == [(4, "abc"), (5, "abc")] and later[0].seed == 9


def test_the_flow_engine_makes_one_take_and_says_why(takes, shots):
    shot = shots.Shot("S", 1, 9)
    planned, note = takes.plan_takes(shot, 4, "flow", 0, consecutive=True)
    assert len(planned) == 1 and "Flow engine ignores the seed" in note and "{" not in note


def test_stepping_through_takes_wraps_around(takes):
    assert takes.stepped_take([1, 2, 3], 3, 1) == 1
    assert takes.stepped_take([3, 1, 2], 1, -1) == 3
    assert takes.stepped_take([2, 5], 7, 1) == 5  # nothing shown: from the first
    assert takes.group_colour("abc") == takes.group_colour("abc") and takes.group_colour("abc").startswith("COLOR_0")


def test_camera_background_numbers_and_missing_frames(strip_frames, tmp_path):
    settings = strip_frames.background_frames(strip_frames.sequence_number("0000.png"), 10, 12)
    assert settings == {"frame_start": 10, "frame_duration": 12, "frame_offset": -1}
    assert [frame - 10 + 1 + settings["frame_offset"] for frame in (10, 15, 21)] == [0, 5, 11]
    assert strip_frames.sequence_number("shot_0042.png") == 42
    with pytest.raises(strip_frames.UserError, match="no frame number"):
        strip_frames.sequence_number("still.png")
    (tmp_path / "0000.png").write_bytes(b"x")
    assert strip_frames.strip_files(str(tmp_path), ["0000.png"], "S") == [tmp_path / "0000.png"]
    with pytest.raises(strip_frames.UserError, match=r"are gone .*\(1 of 2 missing, e.g. 0001.png\)"):
        strip_frames.strip_files(str(tmp_path), ["0000.png", "0001.png"], "S")


def test_a_movie_never_overwrites(strip_frames, tmp_path):
    assert strip_frames.movie_path(str(tmp_path / "jobs" / "Shot_1"), "Inbetween Shot take 2") == tmp_path / "jobs" / "Inbetween Shot take 2.mp4"
    (tmp_path / "old.mp4").write_bytes(b"keep")
    with pytest.raises(strip_frames.UserError, match="not overwritten"):
        strip_frames.check_new_file(tmp_path / "old.mp4")
    with pytest.raises(strip_frames.UserError, match="does not exist"):
        strip_frames.check_new_file(tmp_path / "nowhere" / "new.mp4")
    assert strip_frames.check_new_file(tmp_path / "new.mp4") == tmp_path / "new.mp4"


def test_takes_are_priced_with_one_capture_and_one_load(addon_package, monkeypatch, tmp_path):
    job_cost = importlib.import_module("mpd_inbetween.core.job_cost")
    pricing = importlib.import_module("mpd_inbetween.mpd_backend.contract.pricing")
    monkeypatch.setenv("MPD_CACHE_DIR", str(tmp_path))
    pricing.save_calibration({"model": "m", "device": "cpu", "dtype": "float32", "offload": False, "num_frames": 25,
                              "unet_pair_flops": [1e12] * 5, "unet_flops_per_s": 1e12, "decode_flops": [1e12] * 5,
                              "decode_flops_per_s": 1e12, "start_s": 7.0, "load_s": 50.0, "write_s_per_mpx": 0.1})
    seconds = {}
    for takes in (1, 3):
        cost = job_cost.job_cost("m", "cpu", "float32", False, "", "mpd", 4, 128, 64, [1, 9], capture_s=20.0, takes=takes)
        seconds[takes] = cost.text
    one_job = pricing.estimate_job(pricing.find_calibration("m", "cpu", "float32"), "mpd", 4, 128, 64, key_frames=[1, 9])
    per_take = one_job["seconds"] - 57.0
    assert seconds[1] == pricing.format_estimate({**one_job, "seconds": one_job["seconds"] + 20.0})
    expected = {**one_job, "seconds": 20.0 + 57.0 + 3 * per_take}
    assert seconds[3] == "3 takes: " + pricing.format_estimate(expected)
