"""Chains of keys in headless Blender: Generate over Markers as one strip exact at every marker, the 3D
scene's keys, several storyboard strips, resume per window, re-run; with the real backend and the
tiny model (8 frames a window: a chain of 17 frames takes two windows that share a key)."""

from __future__ import annotations

import json
from pathlib import Path

import bpy
import pytest

from .conftest import build_animated_scene, module, render_now, strips_of, wait_for_job, write_png
from .test_batch import add_markers, capturing, inbetween_strips

MARKERS = [("A", 1), ("B", 5), ("C", 9), ("D", 13), ("E", 17)]


def key_the_cube(cube, poses):
    """Keys of the cube's location: {frame: x}; a path that turns, so every marker shows another pose."""
    for frame, x in poses.items():
        cube.location.x, cube.location.z = x, 0.5 + 0.1 * frame
        cube.keyframe_insert("location", frame=frame)


def manifest_of(strip) -> dict:
    return json.loads((Path(strip["mpd_inbetween"]["job"]) / "manifest.json").read_text())


def pixels_of(path: Path) -> list[float]:
    image = bpy.data.images.load(str(path))
    try:
        return list(image.pixels)
    finally:
        bpy.data.images.remove(image)


def the_inbetween(scene):
    (strip,) = [s for s in strips_of(scene) if s.name.startswith("Inbetween")]
    return strip


def test_batch_over_markers_is_one_chain_strip_exact_at_every_marker(scene, prefs, tmp_path):
    cube = build_animated_scene(scene)
    key_the_cube(cube, {1: -1.5, 5: 0.0, 9: 1.2, 13: 0.4, 17: -0.8})
    add_markers(scene, MARKERS)
    assert bpy.ops.mpd.generate_markers() == {"FINISHED"}
    assert capturing() == [1, 5, 9, 13, 17]  # each marker rendered once
    state = wait_for_job()
    assert state.state == "DONE", state.message
    assert inbetween_strips(scene) == [(1, 17)]  # one strip, first to last marker, on one channel
    strip = the_inbetween(scene)
    assert strip.channel == 1 and strip["mpd_inbetween"]["key_frames"].to_list() == [1, 5, 9, 13, 17]
    manifest = manifest_of(strip)
    assert [k["frame"] for k in manifest["keys"]] == [1, 5, 9, 13, 17]
    assert [w["frames"] for w in manifest["windows"]] == [[1, 9], [9, 17]]  # two windows sharing marker C
    # The strip shows each marker's own render at its frame: rendered again here, pixel for pixel.
    renders = render_now(scene, [9, 13], tmp_path)
    job = Path(strip["mpd_inbetween"]["job"])
    for frame in (9, 13):
        assert pixels_of(job / manifest["frames"][frame - 1]) == pixels_of(Path(renders[frame]))

    # Run again: the whole chain is reused. Move the last pose: only the window holding it is made again.
    assert bpy.ops.mpd.generate_markers() == {"FINISHED"}
    state = wait_for_job()
    assert state.state == "DONE" and "reused the earlier result" in state.message and inbetween_strips(scene) == [(1, 17)]
    key_the_cube(cube, {17: 1.5})
    assert bpy.ops.mpd.generate_markers() == {"FINISHED"}
    state = wait_for_job()
    assert state.state == "DONE", state.message
    newest = max((s for s in strips_of(scene) if s.name.startswith("Inbetween")), key=lambda s: s.channel)
    assert [w["reused"] for w in manifest_of(newest)["windows"]] == [True, False]


def test_batch_over_markers_keeps_one_strip_per_shot_when_asked(scene, prefs):
    cube = build_animated_scene(scene)
    key_the_cube(cube, {1: -1.5, 5: 0.0, 9: 1.2})
    add_markers(scene, MARKERS[:3])
    assert bpy.ops.mpd.generate_markers(per_shot=True) == {"FINISHED"}
    assert wait_for_job().state == "DONE"
    assert inbetween_strips(scene) == [(1, 5), (5, 9)]


def test_the_3d_scene_chains_every_key_of_the_active_object_in_range(scene, prefs):
    cube = build_animated_scene(scene)
    key_the_cube(cube, {1: -1.5, 5: 0.0, 9: 1.2, 30: 0.0})  # 30 is outside the preview range
    scene.use_preview_range, scene.frame_preview_start, scene.frame_preview_end = True, 1, 12
    settings = scene.mpd_inbetween
    settings.source, settings.frame_a, settings.frame_b = "SCENE", 2, 4  # not used while chaining
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    state = wait_for_job()
    assert state.state == "DONE", state.message
    strip = the_inbetween(scene)
    assert (strip.frame_final_start, len(strip.elements)) == (1, 9)
    assert strip["mpd_inbetween"]["key_frames"].to_list() == [1, 5, 9]

    settings.chain = False  # frames A and B only
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    assert wait_for_job().state == "DONE"
    assert (2, 4) in inbetween_strips(scene)


def test_several_storyboard_strips_make_one_chain_holding_a_long_board(scene, prefs, tmp_path):
    colours = [(0.8, 0.2, 0.1), (0.1, 0.6, 0.2), (0.1, 0.2, 0.8), (0.6, 0.6, 0.1), (0.5, 0.1, 0.5)]
    boards = [write_png(tmp_path / f"board{n}.png", 64, 64, rgb) for n, rgb in enumerate(colours)]
    editor = scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    first = strips.new_image(name="Board 1", filepath=str(boards[0]), channel=1, frame_start=1, fit_method="FIT")
    first.frame_final_duration = 3  # frames 1-3
    middle = strips.new_image(name="Board 2", filepath=str(boards[1]), channel=1, frame_start=8, fit_method="FIT")
    middle.frame_final_duration = 3  # frames 8-10: held
    sequence = strips.new_image(name="Board 3", filepath=str(boards[2]), channel=1, frame_start=15, fit_method="FIT")
    sequence.elements.append(boards[3].name)  # frames 15-16: two images of its own, kept
    strips.new_image(name="Board 4", filepath=str(boards[4]), channel=1, frame_start=20, fit_method="FIT")
    for s in strips:
        s.select = True
    scene.mpd_inbetween.source = "STRIPS"
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    state = wait_for_job()
    assert state.state == "DONE", state.message
    strip = the_inbetween(scene)
    assert (strip.frame_final_start, len(strip.elements), strip.channel) == (3, 18, 2)
    assert strip.name == "Inbetween Board 1-Board 4 chain"
    manifest = manifest_of(strip)
    assert [k["frame"] for k in manifest["keys"]] == [3, 8, 10, 15, 16, 20]
    assert [s["kind"] for s in manifest["segments"]] == ["generate", "hold", "generate", "adjacent", "generate"]
    job = Path(strip["mpd_inbetween"]["job"])
    assert pixels_of(job / manifest["frames"][9 - 3]) == pixels_of(job / manifest["frames"][8 - 3])  # held
    assert pixels_of(job / manifest["frames"][16 - 3]) == pixels_of(boards[3])  # the sequence's own image
    assert any("hold one image" in note for note in manifest["notes"])

    # Re-run the chain strip: the same keys again, into a new strip.
    editor.active_strip = strip
    assert bpy.ops.mpd.rerun() == {"FINISHED"}
    assert wait_for_job().state == "DONE"
    assert sorted(s["mpd_inbetween"]["key_frames"].to_list() for s in strips_of(scene) if s.name.startswith("Inbetween")) == [
        [3, 8, 10, 15, 16, 20]] * 2


def test_a_chain_with_a_two_key_sampler_is_refused_before_rendering(scene, prefs):
    cube = build_animated_scene(scene)
    key_the_cube(cube, {1: -1.5, 5: 0.0, 9: 1.2})
    add_markers(scene, MARKERS[:3])
    scene.mpd_inbetween.sampler = "trf"
    with pytest.raises(RuntimeError, match="takes only two keys"):
        bpy.ops.mpd.generate_markers()
    scene.mpd_inbetween.source = "SCENE"
    with pytest.raises(RuntimeError, match="use mpd or vibid"):
        bpy.ops.mpd.generate()
    assert module("capture").running() is None and not inbetween_strips(scene)
    assert bpy.context.window_manager.mpd_job.state == "FAILED"
