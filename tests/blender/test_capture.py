"""Capture without freezing, in headless Blender: the 3D scene's keys render in a background Blender
(here the bpy module in a process of its own) while Blender's own timer only reads its news."""

from __future__ import annotations

import os
import time
from pathlib import Path

import bpy
import pytest

from .conftest import as_user, build_animated_scene, module, render_now, strips_of, wait_for_job
from .test_batch import capturing, inbetween_strips
from .test_chains import pixels_of

MAIN_THREAD_LIMIT_S = 0.5  # the bound for any one call on Blender's main thread


def slow_keys_scene(scene):
    """Three Cycles keys of a moving cube (frames 1, 5, 9), each a render of a few seconds."""
    cube = build_animated_scene(scene)
    cube.location.x = 0.0
    cube.keyframe_insert("location", frame=9)
    scene.frame_start, scene.frame_end = 1, 9
    scene.render.resolution_x, scene.render.resolution_y = 256, 144
    scene.cycles.samples = 16
    settings = scene.mpd_inbetween
    settings.source, settings.chain = "SCENE", True
    return cube


def drive_timed(until, timeout: float = 600.0, on_tick=None) -> float:
    """Drive the add-on's timer until ``until()``; the longest single call, in seconds."""
    tick, longest = module("background").tick, 0.0
    deadline = time.monotonic() + timeout
    while not until():
        started = time.perf_counter()
        tick()
        longest = max(longest, time.perf_counter() - started)
        if on_tick:
            on_tick()
        assert time.monotonic() < deadline, "the capture did not finish in time"
        time.sleep(0.05)
    return longest


def timed(call):
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def test_keys_render_in_the_background_equal_to_a_render_here_and_are_reused(scene, prefs, tmp_path):
    slow_keys_scene(scene)
    result, call_s = timed(bpy.ops.mpd.generate)
    assert result == {"FINISHED"} and capturing() == [1, 5, 9]
    folder, messages = module("capture").running().folder, set()
    state = bpy.context.window_manager.mpd_job
    longest = drive_timed(lambda: not module("generation").busy(), on_tick=lambda: messages.add(state.message))
    per_key = module("capture")._seconds_per_key.get(scene.name, 0.0)
    print(f"\ncapture of 3 Cycles keys ({per_key:.1f} s each): operator call {call_s:.3f} s, longest timer call {longest:.3f} s")
    assert call_s < MAIN_THREAD_LIMIT_S and longest < MAIN_THREAD_LIMIT_S
    assert {"Rendering keys: 1 of 3 (frame 1)", "Rendering keys: 2 of 3 (frame 5)"} <= messages  # per key, in the panel
    assert state.state == "DONE", state.message
    assert inbetween_strips(scene) == [(1, 9)]

    # The same frames of the unchanged scene: nothing renders again.
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    assert capturing() == [] and module("generation").busy()
    assert wait_for_job().state == "DONE"
    # Each key is what a render in this Blender gives, pixel for pixel.
    here = render_now(scene, [1, 5, 9], tmp_path)
    for frame in (1, 5, 9):
        assert pixels_of(folder / f"frame_{frame:04d}.png") == pixels_of(Path(here[frame])), f"key {frame}"
    # A key moved: the keys render again.
    scene.objects["Cube"].location.z = 1.0
    scene.objects["Cube"].keyframe_insert("location", frame=5)
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    assert capturing() == [1, 5, 9]
    assert wait_for_job().state == "DONE"


def test_a_cancelled_capture_ends_its_render_imports_nothing_and_keeps_only_whole_keys(scene, prefs):
    slow_keys_scene(scene)
    capture = module("capture")
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    task = capture.running()
    drive_timed(lambda: task.step >= 1)  # the first key is done, the second renders
    assert bpy.ops.mpd.cancel() == {"FINISHED"}
    cancelled = time.monotonic()
    drive_timed(lambda: not module("generation").busy(), timeout=30)
    assert task.process.process.poll() is not None and time.monotonic() - cancelled < 5.0
    with pytest.raises(ProcessLookupError):
        os.kill(task.process.pid, 0)
    state = bpy.context.window_manager.mpd_job
    assert state.state == "CANCELLED" and "nothing was generated" in state.message
    assert not strips_of(scene)
    assert sorted(p.name for p in task.folder.iterdir() if p.suffix == ".png") == ["frame_0001.png"]  # no half-written key
    # Generate again: the finished key is reused, only the others render.
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    assert capturing() == [5, 9]
    assert wait_for_job().state == "DONE" and inbetween_strips(scene) == [(1, 9)]


def test_quick_capture_renders_smaller_keys_and_the_strip_records_it(scene, prefs):
    build_animated_scene(scene)
    settings = scene.mpd_inbetween
    settings.source, settings.chain, settings.frame_a, settings.frame_b = "SCENE", False, 1, 5
    settings.quick_capture, settings.capture_percentage, settings.capture_samples = True, 50, 4
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    folder = module("capture").running().folder
    assert wait_for_job().state == "DONE"
    key = bpy.data.images.load(str(folder / "frame_0001.png"))
    assert tuple(key.size) == (48, 32)  # half the scene's 96x64
    bpy.data.images.remove(key)
    (strip,) = [s for s in strips_of(scene) if s.name.startswith("Inbetween")]
    assert strip["mpd_inbetween"]["capture"] == "50%, 4 samples"
    assert scene.render.resolution_percentage == 100  # the open file is never touched


def test_a_scene_without_a_camera_is_refused_before_anything_runs(scene, prefs):
    build_animated_scene(scene)
    scene.camera = None
    scene.mpd_inbetween.source = "SCENE"
    with pytest.raises(RuntimeError, match="has no camera"):
        bpy.ops.mpd.generate()
    assert module("capture").running() is None and not module("generation").busy()


class UnavailableEngine(bpy.types.RenderEngine):
    """A render engine of an add-on that the background Blender does not have."""

    bl_idname = "MPD_TEST_ENGINE"
    bl_label = "Test Engine"


def test_an_engine_the_background_blender_lacks_is_named_with_quick_capture(scene, prefs):
    build_animated_scene(scene)
    bpy.utils.register_class(UnavailableEngine)
    try:
        scene.render.engine = "MPD_TEST_ENGINE"
        settings = scene.mpd_inbetween
        settings.source, settings.chain, settings.frame_a, settings.frame_b = "SCENE", False, 1, 5
        assert bpy.ops.mpd.generate() == {"FINISHED"}
        state = wait_for_job()
    finally:
        scene.render.engine = "CYCLES"
        bpy.utils.unregister_class(UnavailableEngine)
    assert state.state == "FAILED" and "MPD_TEST_ENGINE" in state.message and "Quick Capture" in state.hint
    assert not strips_of(scene)


@pytest.mark.parametrize("kind", ["read-only", "a file"])
def test_a_temporary_folder_that_cannot_take_the_copy(scene, prefs, tmp_path, read_only_folder, kind):
    build_animated_scene(scene)
    scene.mpd_inbetween.source, scene.mpd_inbetween.chain = "SCENE", False
    temporary = read_only_folder if kind == "read-only" else tmp_path / "not a folder"
    if kind == "a file":
        temporary.write_text("")
    paths = bpy.context.preferences.filepaths
    saved, paths.temporary_directory = paths.temporary_directory, str(temporary)
    try:
        if kind == "read-only":  # as a user who may not write there, the capture itself
            with as_user(), pytest.raises(module("core.user_error").UserError, match="Cannot save a copy of the file"):
                module("capture").capture_keys(bpy.context, [1, 5], lambda keys: None)
            return
        with pytest.raises(RuntimeError, match="Cannot save a copy of the file"):
            bpy.ops.mpd.generate()
    finally:
        paths.temporary_directory = saved
    state = bpy.context.window_manager.mpd_job
    assert state.state == "FAILED" and "Temporary Files" in state.hint
    assert module("capture").running() is None and not strips_of(scene)
