"""The extension in headless Blender, end to end with the real backend process on the tiny model."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import bpy
import pytest

from .conftest import PACKAGE, as_user, build_animated_scene, module, strips_of, wait_for_job, write_png


def running_worker():
    return module("generation").running_worker()


def keyframe_files(folder: Path, size_a=(64, 64), size_b=(64, 64)):
    return (write_png(folder / "Start ä.png", *size_a, (0.8, 0.2, 0.1)),
            write_png(folder / "End ö.png", *size_b, (0.1, 0.3, 0.9)))


def use_files(scene, start, end, frame_a, frame_b):
    assert bpy.ops.mpd.keyframes_from_files(start_image=str(start), end_image=str(end)) == {"FINISHED"}
    settings = scene.mpd_inbetween
    settings.frame_a, settings.frame_b = frame_a, frame_b
    return settings


def assert_inbetween_strip(strip, frame_a, frame_b, channel):
    assert strip.frame_final_start == frame_a
    assert strip.frame_final_end == frame_b + 1  # B - A + 1 frames, B included
    assert len(strip.elements) == frame_b - frame_a + 1
    assert strip.channel == channel
    folder = Path(strip.directory)
    assert all((folder / e.filename).is_file() for e in strip.elements)
    record = strip["mpd_inbetween"].to_dict()
    manifest = json.loads((Path(record["job"]) / "manifest.json").read_text())
    assert [Path(f).name for f in manifest["frames"]] == [e.filename for e in strip.elements]
    assert record["frame_a"] == frame_a and record["frame_b"] == frame_b
    return record, manifest


def test_extension_installs_registers_and_shows_panels(addon):
    assert PACKAGE in bpy.context.preferences.addons
    for name in ("MPD_PT_sequencer", "MPD_PT_view3d", "MPD_OT_generate"):
        assert hasattr(bpy.types, name), name
    for op in ("generate", "rerun", "cancel", "release_backend", "keyframes_from_scene", "keyframes_from_strips",
               "keyframes_from_files", "import_job"):
        assert hasattr(bpy.ops.mpd, op), op


def test_image_files_to_a_strip_beside_existing_strips(scene, prefs, tmp_path):
    start, end = keyframe_files(tmp_path / "key frames ü")
    editor = scene.sequence_editor_create()
    blocker = (editor.strips if hasattr(editor, "strips") else editor.sequences).new_image(
        name="Existing", filepath=str(start), channel=1, frame_start=15, fit_method="FIT")
    blocker.frame_final_duration = 5
    settings = use_files(scene, start, end, 10, 21)
    settings.seed = 0
    bpy.ops.ed.undo_push(message="before generate")  # background mode starts without an undo system

    assert bpy.ops.mpd.generate() == {"FINISHED"}
    state = wait_for_job()
    assert state.state == "DONE", state.message
    (strip,) = [s for s in strips_of(scene) if s.name != "Existing"]
    record, manifest = assert_inbetween_strip(strip, 10, 21, channel=2)  # channel 1 is taken over 15-19
    assert (blocker.channel, blocker.frame_final_start, blocker.frame_final_duration) == (1, 15, 5)
    assert record["sampler"] == "mpd" and record["seed"] == 0 and record["source"] == "FILES" and record["schema"] == 1
    assert (record["width"], record["height"], record["steps"]) == (64, 64, 2)  # resolved, from the manifest
    assert strip.name.startswith("Inbetween ")
    # Shown at the scene's resolution: 64x64 frames scaled to fit the frame (fit method FIT).
    fit = min(scene.render.resolution_x / 64, scene.render.resolution_y / 64)
    assert strip.transform.scale_x == pytest.approx(fit) and strip.transform.scale_y == pytest.approx(fit)
    assert "job folders ü" in record["job"] and manifest["parameters"]["seed"] == 0

    window = bpy.context.window_manager.windows[0]
    with bpy.context.temp_override(window=window, screen=window.screen):  # headless: give undo a screen
        bpy.ops.ed.undo()
        assert [s.name for s in strips_of(bpy.context.scene)] == ["Existing"]
        bpy.ops.ed.redo()
    scene = bpy.context.scene  # undo reloads the data: fetch it anew
    (strip,) = [s for s in strips_of(scene) if s.name != "Existing"]

    # One click re-runs the shot from the strip's record: a new job folder, a new strip above.
    scene.sequence_editor.active_strip = strip
    assert bpy.ops.mpd.rerun() == {"FINISHED"}
    assert wait_for_job().state == "DONE"
    (again,) = [s for s in strips_of(scene) if s.name not in ("Existing", strip.name)]
    record_again, _ = assert_inbetween_strip(again, 10, 21, channel=3)
    assert record_again["job"] != record["job"] and record_again["seed"] == 0 and record_again["steps"] == 2
    assert Path(record_again["job"], "start.png").read_bytes() == Path(record["job"], "start.png").read_bytes()


def test_storyboard_strips_fill_the_gap_between_them(scene, prefs, tmp_path):
    start, end = keyframe_files(tmp_path / "boards")
    editor = scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    first = strips.new_image(name="Board 1", filepath=str(start), channel=1, frame_start=1, fit_method="FIT")
    first.frame_final_duration = 8  # frames 1-8
    strips.new_image(name="Board 2", filepath=str(end), channel=1, frame_start=20, fit_method="FIT")
    for s in strips:
        s.select = True

    assert bpy.ops.mpd.keyframes_from_strips() == {"FINISHED"}
    settings = scene.mpd_inbetween
    assert (settings.frame_a, settings.frame_b) == (8, 20)
    assert Path(settings.start_image) == start and Path(settings.end_image) == end
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    state = wait_for_job()
    assert state.state == "DONE", state.message
    (strip,) = [s for s in strips_of(scene) if s.name.startswith("Inbetween")]
    record, _ = assert_inbetween_strip(strip, 8, 20, channel=2)  # boards 1 and 2 cover frames 8 and 20
    assert record["source"] == "STRIPS" and strip.name == "Inbetween Board 1-Board 2"


def test_scene_keyframes_render_the_3d_scene_and_restore_settings(scene, prefs):
    build_animated_scene(scene)
    editor = scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    strips.new_effect(name="Red", type="COLOR", channel=1, frame_start=1, **(
        {"length": 30} if bpy.app.version >= (5, 0, 0) else {"frame_end": 31})).color = (1, 0, 0)
    render = scene.render
    render.use_sequencer, render.image_settings.file_format, render.filepath = True, "JPEG", "//keep/me_"
    scene.frame_set(3)

    assert bpy.ops.mpd.keyframes_from_scene() == {"FINISHED"}
    settings = scene.mpd_inbetween
    assert (settings.frame_a, settings.frame_b, settings.source) == (1, 5, "SCENE")
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    # Every setting the renders touched is back, before the backend has even finished.
    assert (scene.frame_current, render.use_sequencer, render.image_settings.file_format, render.filepath) == (
        3, True, "JPEG", "//keep/me_")
    state = wait_for_job()
    assert state.state == "DONE", state.message
    (strip,) = [s for s in strips_of(scene) if s.name.startswith("Inbetween")]
    record, _ = assert_inbetween_strip(strip, 1, 5, channel=2)

    start = bpy.data.images.load(str(Path(record["job"]) / "start.png"))
    assert tuple(start.size) == (96, 64)
    pixels = list(start.pixels)
    reds = [pixels[i] for i in range(0, len(pixels), 4)]
    greens = [pixels[i + 1] for i in range(0, len(pixels), 4)]
    assert not all(r > 0.9 for r in reds) or any(g > 0.1 for g in greens), "got the sequencer composite, not the scene"
    assert max(reds) - min(reds) > 0.05  # the cube and the world differ: a real render


def test_auto_frames_fall_back_to_preview_range_then_numbers(scene, addon):
    scene.use_preview_range = True
    scene.frame_preview_start, scene.frame_preview_end = 7, 30
    bpy.ops.mpd.keyframes_from_scene()
    assert (scene.mpd_inbetween.frame_a, scene.mpd_inbetween.frame_b) == (7, 30)
    scene.use_preview_range = False
    scene.mpd_inbetween.frame_a, scene.mpd_inbetween.frame_b = 3, 9
    bpy.ops.mpd.keyframes_from_scene()
    assert (scene.mpd_inbetween.frame_a, scene.mpd_inbetween.frame_b) == (3, 9)


def test_cancel_mid_run_imports_nothing_and_keeps_the_worker(scene, prefs, tmp_path):
    start, end = keyframe_files(tmp_path)
    settings = use_files(scene, start, end, 1, 30)
    settings.steps = 200  # long enough to be cancelled while denoising
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    folder = Path(bpy.context.window_manager.mpd_job.folder)
    pid = running_worker().client.pid

    cancelled_at = None

    def cancel_when_denoising():
        nonlocal cancelled_at
        if cancelled_at is None and bpy.context.window_manager.mpd_job.phase == "denoise":
            assert bpy.ops.mpd.cancel() == {"FINISHED"}
            cancelled_at = time.monotonic()

    state = wait_for_job(on_tick=cancel_when_denoising)
    assert cancelled_at is not None and time.monotonic() - cancelled_at < 10
    assert state.state == "CANCELLED"
    assert not (folder / "manifest.json").exists()
    assert strips_of(scene) == []
    assert running_worker().client.pid == pid and running_worker().client.alive()  # the model stays loaded

    # Release Backend ends the worker at once: the whole process group is gone.
    assert bpy.ops.mpd.release_backend() == {"FINISHED"}
    assert running_worker() is None and bpy.context.window_manager.mpd_worker.state == "stopped"
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


def test_a_missing_model_is_reported_with_its_message_and_hint_before_anything_runs(scene, prefs, tmp_path):
    start, end = keyframe_files(tmp_path)
    use_files(scene, start, end, 1, 10)
    prefs.model, prefs.engine = str(tmp_path / "no model here"), "svd"
    with pytest.raises(RuntimeError, match="Model folder not found"):
        bpy.ops.mpd.generate()
    state = bpy.context.window_manager.mpd_job
    assert state.state == "FAILED" and "Model folder not found" in state.message and state.hint
    assert not module("generation").busy() and strips_of(scene) == []


def test_backend_that_dies_without_an_event(scene, prefs, tmp_path):
    """Fault injection: a 'Python' that prints a crash to stderr and exits non-zero."""
    start, end = keyframe_files(tmp_path)
    use_files(scene, start, end, 1, 10)
    crashing = tmp_path / "crashing python"
    crashing.write_text("#!/bin/sh\necho 'Fatal Python error: Segmentation fault' >&2\nexit 139\n")
    crashing.chmod(0o755)
    prefs.backend_python = str(crashing)
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    state = wait_for_job()
    assert state.state == "FAILED"
    assert "stopped without finishing" in state.message and "Segmentation fault" in state.message


def test_missing_backend_python_is_a_clear_report(scene, prefs, tmp_path):
    start, end = keyframe_files(tmp_path)
    use_files(scene, start, end, 1, 10)
    prefs.backend_python = str(tmp_path / "nowhere" / "python")
    with pytest.raises(RuntimeError, match="backend Python was not found.*Preferences"):
        bpy.ops.mpd.generate()
    assert not module("generation").busy()
    assert bpy.context.window_manager.mpd_job.state == "FAILED"


@pytest.mark.parametrize("frame_a, frame_b, message", [(10, 10, "must come after"), (10, 11, "adjacent")])
def test_keyframe_gap_of_zero_or_one_frame(scene, prefs, tmp_path, frame_a, frame_b, message):
    start, end = keyframe_files(tmp_path)
    use_files(scene, start, end, frame_a, frame_b)
    with pytest.raises(RuntimeError, match=message):
        bpy.ops.mpd.generate()
    assert not module("generation").busy()


def test_keyframes_of_different_sizes(scene, prefs, tmp_path):
    start, end = keyframe_files(tmp_path, size_a=(64, 64), size_b=(96, 48))
    use_files(scene, start, end, 1, 6)
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    state = wait_for_job()
    assert state.state == "DONE", state.message
    assert "differ in size" in state.message
    (strip,) = strips_of(scene)
    assert_inbetween_strip(strip, 1, 6, channel=1)


def test_read_only_output_folder(scene, prefs, tmp_path, read_only_folder):
    start, end = keyframe_files(tmp_path)
    use_files(scene, start, end, 1, 10)
    prefs.output_dir = str(read_only_folder) + os.sep
    with as_user(), pytest.raises(RuntimeError, match="read-only.*Job Folders"):
        bpy.ops.mpd.generate()
    assert list(read_only_folder.iterdir()) == [] and strips_of(scene) == []
    assert bpy.context.window_manager.mpd_job.state == "FAILED"


def test_without_weights_the_rife_engine_runs_and_says_so(scene, prefs, tmp_path):
    start, end = keyframe_files(tmp_path)
    use_files(scene, start, end, 1, 8)
    prefs.model, prefs.engine = str(tmp_path / "no weights"), "auto"
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    state = wait_for_job()
    assert state.state == "DONE", state.message
    assert "no SVD weights found" in state.message and "RIFE engine" in state.message
    (strip,) = strips_of(scene)
    _, manifest = assert_inbetween_strip(strip, 1, 8, channel=1)
    assert manifest["engine"] == "rife"


def test_incomplete_job_folder_is_never_imported(scene, addon, tmp_path):
    folder = tmp_path / "half"
    (folder / "frames").mkdir(parents=True)
    with pytest.raises(RuntimeError, match="incomplete"):
        bpy.ops.mpd.import_job(manifest=str(folder / "manifest.json"))
    assert strips_of(scene) == []


def test_unregister_leaves_no_timer_handler_or_process(scene, prefs, tmp_path):
    start, end = keyframe_files(tmp_path)
    settings = use_files(scene, start, end, 1, 30)
    settings.steps = 200
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    background = module("background")
    pid = running_worker().client.pid
    background.tick()
    assert bpy.app.timers.is_registered(background.tick)

    bpy.ops.preferences.addon_disable(module=PACKAGE)
    try:
        assert not bpy.app.timers.is_registered(background.tick)
        assert background.registry.tasks == []
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)
        assert not hasattr(bpy.types, "MPD_OT_generate") and not hasattr(bpy.types.WindowManager, "mpd_job")
        header_draws = getattr(bpy.types.STATUSBAR_HT_header.draw, "_draw_funcs", [])
        assert background.draw_status not in header_draws
    finally:
        bpy.ops.preferences.addon_enable(module=PACKAGE)
