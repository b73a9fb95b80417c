"""Iterating like an artist, in headless Blender with the real backend on the tiny model: takes of a
shot with different seeds, re-runs from a strip's record, motion settings, and a strip's frames on
the camera's background and in a movie."""

from __future__ import annotations

import json
from pathlib import Path

import bpy
import pytest

from .conftest import build_animated_scene, drive_until, module, strips_of, wait_for_job
from .test_addon import keyframe_files, use_files
from .test_batch import capturing
from .test_chains import pixels_of


def inbetweens(scene) -> list:
    return sorted((s for s in strips_of(scene) if s.name.startswith("Inbetween")), key=lambda s: s.channel)


def record(strip) -> dict:
    return strip["mpd_inbetween"].to_dict()


def middle_frame(strip) -> list[float]:
    return pixels_of(Path(strip.directory) / strip.elements[len(strip.elements) // 2].filename)


def playing(scene) -> list[str]:
    return [s.name for s in inbetweens(scene) if not s.mute]


def undo_context():
    window = bpy.context.window_manager.windows[0]
    return bpy.context.temp_override(window=window, screen=window.screen)  # headless: give undo a screen


def test_three_takes_from_one_capture_step_through_and_keep_one(scene, prefs):
    build_animated_scene(scene)
    settings = scene.mpd_inbetween
    settings.source, settings.chain, settings.frame_a, settings.frame_b = "SCENE", False, 1, 5
    settings.variants, settings.seed = 3, 40
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    assert capturing() == [1, 5]  # the keys render once for all three takes
    keys = module("capture").running().folder
    state = wait_for_job()
    assert state.state == "DONE", state.message
    assert sorted(p.name for p in keys.glob("frame_*.png")) == ["frame_0001.png", "frame_0005.png"]

    takes = inbetweens(scene)
    assert len(takes) == 3 and len({s.channel for s in takes}) == 3
    assert {(s.frame_final_start, s.frame_final_end) for s in takes} == {(1, 6)}
    records = [record(s) for s in takes]
    assert [r["seed"] for r in records] == [40, 41, 42] and [r["take"] for r in records] == [1, 2, 3]
    assert len({r["take_group"] for r in records}) == 1 and len({s.color_tag for s in takes}) == 1
    assert all(r["engine"] == "svd" and r["sampler"] == "mpd" and r["steps"] == 2 and r["motion_bucket_id"] == 127
               for r in records)
    requests = [json.loads((Path(r["job"]) / "job.json").read_text()) for r in records]
    assert len({tuple(k["image"] for k in q["keys"]) for q in requests}) == 1  # one set of keys serves every take
    frames = [middle_frame(s) for s in takes]
    assert frames[0] != frames[1] and frames[1] != frames[2] and frames[0] != frames[2]
    assert playing(scene) == [takes[2].name] and scene.sequence_editor.active_strip == takes[2]

    assert bpy.ops.mpd.take_step(step=1) == {"FINISHED"}
    assert playing(scene) == [takes[0].name]  # wraps around
    assert bpy.ops.mpd.take_step(step=-1) == {"FINISHED"} and bpy.ops.mpd.take_step(step=-1) == {"FINISHED"}
    assert playing(scene) == [takes[1].name] and scene.sequence_editor.active_strip == takes[1]

    kept, folders = takes[1].name, [r["job"] for r in records]
    bpy.ops.ed.undo_push(message="before keep")
    assert bpy.ops.mpd.take_keep() == {"FINISHED"}
    assert [s.name for s in inbetweens(scene)] == [kept] and all(Path(f).is_dir() for f in folders)
    assert bpy.ops.mpd.take_keep() == {"CANCELLED"}  # one take left: nothing to remove, said so
    with undo_context():
        bpy.ops.ed.undo()
    assert len(inbetweens(bpy.context.scene)) == 3  # one undo brings the others back


def test_rerun_keeps_the_record_whatever_the_panel_says_and_joins_the_takes(scene, prefs):
    cube = build_animated_scene(scene)
    settings = scene.mpd_inbetween
    settings.source, settings.chain, settings.frame_a, settings.frame_b, settings.seed = "SCENE", False, 1, 5, 7
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    assert wait_for_job().state == "DONE"
    (first,) = inbetweens(scene)
    assert record(first)["key_frames"] == [1, 5] and "take_group" not in record(first)

    # The panel moves on: Chain on with other keys on the active object, other frames, another seed and sampler.
    cube.location.x = 3.0
    cube.keyframe_insert("location", frame=9)
    scene.frame_end = 12
    bpy.context.view_layer.objects.active = cube
    settings.chain, settings.frame_a, settings.frame_b, settings.seed, settings.sampler = True, 2, 12, 99, "vibid"
    settings.steps = 3
    scene.sequence_editor.active_strip = first
    assert bpy.ops.mpd.rerun() == {"FINISHED"}
    assert capturing() == [1, 5]  # the recorded keys (the scene changed: rendered again), not the chain's 1, 5, 9
    assert wait_for_job().state == "DONE"
    first, again = inbetweens(scene)
    redo = record(again)
    assert redo["key_frames"] == [1, 5] and (again.frame_final_start, again.frame_final_end) == (1, 6)
    assert (redo["seed"], redo["sampler"], redo["steps"]) == (7, "mpd", 2)  # the record, exactly
    assert middle_frame(again) == middle_frame(first)  # same keys, same seed: the same result
    assert (settings.seed, settings.sampler, settings.frame_a) == (99, "vibid", 2)  # the panel untouched
    assert record(first)["take"] == 1 and redo["take"] == 2 and redo["take_group"] == record(first)["take_group"]
    assert playing(scene) == [again.name]

    assert bpy.ops.mpd.rerun(new_seed=True) == {"FINISHED"}
    assert wait_for_job().state == "DONE"
    third = inbetweens(scene)[-1]
    assert record(third)["take"] == 3 and record(third)["seed"] != 7 and record(third)["key_frames"] == [1, 5]
    assert playing(scene) == [third.name]


def test_motion_settings_reach_the_job_and_change_the_result(scene, prefs, tmp_path):
    start, end = keyframe_files(tmp_path / "keys")
    settings = use_files(scene, start, end, 1, 6)
    assert (settings.motion_bucket_id, settings.fps) == (127, 9)  # mpd's defaults, shown
    assert bpy.ops.mpd.generate() == {"FINISHED"} and wait_for_job().state == "DONE"
    (plain,) = inbetweens(scene)
    settings.custom_motion = True
    settings.motion_bucket_id, settings.noise_aug_strength, settings.fps = 20, 0.3, 4
    assert bpy.ops.mpd.generate() == {"FINISHED"} and wait_for_job().state == "DONE"
    (moved,) = [s for s in inbetweens(scene) if s.name != plain.name]
    request = json.loads((Path(record(moved)["job"]) / "job.json").read_text())
    assert (request["motion_bucket_id"], request["noise_aug_strength"], request["fps"]) == (20, pytest.approx(0.3), 4)
    assert json.loads((Path(record(plain)["job"]) / "job.json").read_text())["motion_bucket_id"] is None
    assert (record(moved)["motion_bucket_id"], record(moved)["fps"]) == (20, 4)
    assert middle_frame(moved) != middle_frame(plain)
    settings.sampler = "vibid"
    assert bpy.ops.mpd.motion_reset() == {"FINISHED"}
    assert (settings.motion_bucket_id, settings.noise_aug_strength, settings.fps) == (127, pytest.approx(0.02), 7)
    settings.custom_motion, settings.sampler, settings.fps = False, "mpd", 3  # an older file's stale value
    settings.custom_motion = True
    assert settings.fps == 9  # Custom Motion starts from the sampler's values


def test_flow_engine_makes_one_take_and_says_why(scene, prefs, tmp_path):
    start, end = keyframe_files(tmp_path / "keys")
    settings = use_files(scene, start, end, 1, 6)
    settings.engine, settings.variants = "flow", 3
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    state = wait_for_job()
    assert state.state == "DONE" and "the Flow engine ignores the seed" in state.message
    (strip,) = inbetweens(scene)
    assert record(strip)["engine"] == "flow" and "take_group" not in record(strip)


def test_a_strip_on_the_camera_background_and_as_a_movie(scene, prefs, tmp_path, monkeypatch):
    start, end = keyframe_files(tmp_path / "keys")
    use_files(scene, start, end, 10, 21)
    assert bpy.ops.mpd.generate() == {"FINISHED"} and wait_for_job().state == "DONE"
    (strip,) = inbetweens(scene)
    with pytest.raises(RuntimeError, match="no active camera"):
        bpy.ops.mpd.camera_background()
    bpy.ops.object.camera_add()
    scene.camera = bpy.context.active_object

    assert bpy.ops.mpd.camera_background() == {"FINISHED"}
    camera = scene.camera.data
    (background,) = camera.background_images
    user = background.image_user
    assert camera.show_background_images and background.image.source == "SEQUENCE"
    assert (user.frame_start, user.frame_duration) == (10, 12)
    for frame in (10, 11, 15, 21):  # the file Blender shows at each scene frame is the strip's own there
        scene.frame_set(frame)
        assert f"{user.frame_current:04d}.png" == strip.elements[frame - 10].filename
    assert bpy.ops.mpd.camera_background() == {"FINISHED"} and len(camera.background_images) == 1  # updated, not doubled

    movie = tmp_path / "movies" / "take.mp4"
    movie.parent.mkdir()
    assert bpy.ops.mpd.export_movie(filepath=str(movie)) == {"FINISHED"}
    assert not movie.exists()  # a background Blender writes it
    drive_until(lambda: not module("background").registry.running("movie"))
    clip = bpy.data.movieclips.load(str(movie))
    assert clip.frame_duration == 12 and tuple(clip.size) == (64, 64)
    size = movie.stat().st_size
    with pytest.raises(RuntimeError, match="already exists"):
        bpy.ops.mpd.export_movie(filepath=str(movie))
    assert movie.stat().st_size == size
    monkeypatch.setattr(module("strip_export"), "ffmpeg_available", lambda: False)  # a Blender built without FFmpeg
    with pytest.raises(RuntimeError, match="without FFmpeg"):
        bpy.ops.mpd.export_movie(filepath=str(tmp_path / "movies" / "other.mp4"))
    assert sorted(p.name for p in movie.parent.iterdir()) == ["take.mp4"]  # nothing half-written, no temporary folder left

    job = Path(record(strip)["job"])
    job.rename(job.with_name(job.name + " moved"))
    with pytest.raises(RuntimeError, match="are gone"):
        bpy.ops.mpd.camera_background()
