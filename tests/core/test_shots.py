"""Shot logic of the add-on, without Blender."""


import pytest


def test_gap(shots):
    assert shots.check_gap(10, 21) == 12
    assert shots.check_gap(1, 3) == 3
    with pytest.raises(shots.UserError, match="adjacent"):
        shots.check_gap(10, 11)
    with pytest.raises(shots.UserError, match="must come after"):
        shots.check_gap(10, 10)
    with pytest.raises(shots.UserError, match="must come after"):
        shots.check_gap(12, 10)


@pytest.mark.parametrize(
    "current, expected",
    [(1, (1, 10)), (5, (1, 10)), (10, (10, 24)), (30, (10, 24)), (-3, (1, 10)), (24, (10, 24))],
)
def test_keyframes_around_the_current_frame(shots, current, expected):
    assert shots.keyframes_around([10.0, 1.0, 24.0, 10.0], current) == expected


def test_keyframes_around_needs_two_keys(shots):
    assert shots.keyframes_around([5.0, 5.0], 3) is None


def test_first_free_channel(shots):
    occupied = [(1, 0, 100), (2, 50, 60), (3, 5, 12)]
    assert shots.first_free_channel(occupied, 10, 22) == 2  # ch 2 is busy only from 50
    assert shots.first_free_channel(occupied, 50, 55) == 3
    assert shots.first_free_channel(occupied, 100, 110) == 1  # ends are exclusive
    assert shots.first_free_channel([], 1, 5) == 1
    full = [(ch, 0, 10) for ch in range(1, 129)]
    with pytest.raises(shots.UserError, match="Every channel"):
        shots.first_free_channel(full, 1, 5)


def test_new_job_folder_never_reuses_a_name(shots, tmp_path):
    first = shots.new_job_folder(tmp_path, "Shot 010/ü", now=0)
    assert first.parent == tmp_path and first.name.startswith("Shot 010_ü_")
    first.mkdir()
    second = shots.new_job_folder(tmp_path, "Shot 010/ü", now=0)
    assert second != first and not second.exists()


def test_plan_shots_from_markers(shots):
    plan = shots.plan_shots([("C", 20), ("A", 1), ("B", 10), ("B2", 10), ("D", 21)])
    assert [(s.name, s.frame_a, s.frame_b, s.status) for s in plan] == [
        ("A-B+B2", 1, 10, "queued"), ("B+B2-C", 10, 20, "queued"), ("C-D", 20, 21, "skipped")]
    assert "adjacent" in plan[2].reason
    assert shots.keyframe_frames(plan) == [1, 10, 20]  # the shared frame 10 once; 21 not needed


def test_plan_needs_two_frames(shots):
    with pytest.raises(shots.UserError, match="at least 2 different frames"):
        shots.plan_shots([("A", 5), ("B", 5)])
    with pytest.raises(shots.UserError, match="0 markers"):
        shots.plan_shots([])


def test_summary(shots):
    plan = shots.plan_shots([("A", 1), ("B", 5), ("C", 9), ("D", 10)])
    plan[0].status = shots.ShotStatus.REUSED
    plan[1].status, plan[1].reason = shots.ShotStatus.FAILED, "cannot read"
    assert shots.summary(plan) == "3 shots: 1 done (1 reused), 1 failed, 1 skipped. Failed: B-C: cannot read"


def test_a_shot_becomes_a_job_folder_with_its_frozen_request(shots, tmp_path):
    """What the add-on hands the worker: a new folder holding only job.json, keys at timeline frames."""
    import json

    shot = shots.Shot("Shot 010", 10, 21, "/renders/a.png", "/renders/b.png")
    options = {"sampler": "vibid", "seed": 3, "steps": None, "model": "/m", "engine": "auto"}
    path = shots.write_shot_job(tmp_path, shot, options, "SCENE")
    assert path.parent == tmp_path / shot.job and sorted(p.name for p in path.parent.iterdir()) == ["job.json"]
    request = json.loads(path.read_text())
    assert request["keys"] == [{"frame": 10, "image": "/renders/a.png"}, {"frame": 21, "image": "/renders/b.png"}]
    assert (request["sampler"], request["seed"], request["steps"], request["source"], request["reuse"]) == ("vibid", 3, None, "SCENE", [])
    again = shots.write_shot_job(tmp_path, shots.Shot("Shot 010", 10, 21, "a", "b"), options, "SCENE", resume=True)
    assert json.loads(again.read_text())["reuse"] == [str(path.parent)]  # a batch offers the earlier run
    with pytest.raises(shots.UserError, match="Unknown sampler"):
        shots.write_shot_job(tmp_path, shot, {**options, "sampler": "magic"}, "SCENE")


def test_model_presence_in_a_folder_and_in_the_hub_cache(addon_package, tmp_path, monkeypatch):
    import importlib
    import shutil

    models = importlib.import_module("mpd_inbetween.mpd_backend.contract.model_folder")
    folder = tmp_path / "my model"
    for part in ("unet", "vae", "image_encoder", "scheduler", "feature_extractor"):
        (folder / part).mkdir(parents=True)
    (folder / "model_index.json").write_text("{}")
    (folder / "unet" / "w.safetensors").write_bytes(b"x" * 1000)
    presence = models.model_presence(str(folder))
    assert presence.found and presence.size_bytes == 1002

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    assert not models.model_presence("org/name").found
    shutil.copytree(folder, tmp_path / "hf/hub/models--org--name/snapshots/abc123")
    presence = models.model_presence("org/name")
    assert presence.found and presence.folder.endswith("snapshots/abc123") and presence.size_bytes == 1002
    (tmp_path / "hf/hub/models--org--name/snapshots/abc123/unet/w.safetensors").unlink()
    shutil.rmtree(tmp_path / "hf/hub/models--org--name/snapshots/abc123/vae")
    assert not models.model_presence("org/name").found  # an incomplete snapshot is not a model


def test_markers_in_use(shots):
    markers = [("A", 1, True), ("B", 5, False), ("C", 9, True), ("C2", 9, False)]
    assert shots.markers_in_use(markers, selected_only=True) == [("A", 1), ("C", 9)]
    assert shots.markers_in_use(markers, selected_only=False) == [("A", 1), ("B", 5), ("C", 9), ("C2", 9)]
    one_frame = [("A", 1, True), ("A2", 1, True), ("B", 5, False)]  # selected, but on one frame: all of them
    assert shots.markers_in_use(one_frame, selected_only=True) == [("A", 1), ("A2", 1), ("B", 5)]


def test_a_chain_shot_through_markers_and_its_request(shots, tmp_path):
    import json

    shot = shots.plan_chain([("C", 9), ("A", 1), ("B", 5), ("B2", 5), ("D", 10)])
    assert (shot.name, shot.key_frames) == ("A-B+B2-C-D", [1, 5, 9, 10])  # 9-10 adjacent: fine inside a chain
    shot.use_images({f: f"/r/{f}.png" for f in (1, 5, 9, 10)})
    assert (shot.start_image, shot.between, shot.end_image) == ("/r/1.png", [(5, "/r/5.png"), (9, "/r/9.png")], "/r/10.png")
    assert shots.keyframe_frames([shot]) == [1, 5, 9, 10]
    path = shots.write_shot_job(tmp_path, shot, {"sampler": "mpd", "seed": 0}, "MARKERS")
    assert [k["frame"] for k in json.loads(path.read_text())["keys"]] == [1, 5, 9, 10]
    with pytest.raises(shots.UserError, match="takes only two keys"):
        shots.write_shot_job(tmp_path, shot, {"sampler": "trf", "seed": 0}, "MARKERS")


def test_chain_shots_refuse_what_cannot_be_filled(shots):
    with pytest.raises(shots.UserError, match="no frame between them"):
        shots.chain_shot("x", [(1, "a"), (2, "b"), (3, "c")])
    with pytest.raises(shots.UserError, match="one frame"):
        shots.chain_shot("x", [(1, "a"), (5, "b"), (5, "c")])
    with pytest.raises(shots.UserError, match="must come after"):
        shots.chain_shot("x", [(9, "a"), (5, "b")])  # two keys: B before A is an error, as before
    assert shots.keys_in_range([0.0, 4.6, 9.0, 30.0, 9.0], 1, 12) == [5, 9]


def test_a_chain_is_priced_as_its_windows(addon_package):
    import importlib

    chain = importlib.import_module("mpd_inbetween.mpd_backend.contract.chain_plan")
    assert chain.window_count([1, 25], 25) == 1
    assert chain.window_count([0, 8, 16, 24, 32, 40, 48], 25) == 1
    assert chain.window_count([0, 16, 32, 48, 64], 25) == 2
    assert chain.window_count([0, 1, 2], 25) == 0  # nothing to generate
