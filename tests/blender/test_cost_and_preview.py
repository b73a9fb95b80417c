"""Before and during a Generate, in headless Blender: Calibrate runs the real backend and the panel
prices the current settings; a running job shows its live preview and the time still to go."""

from __future__ import annotations

import json
from pathlib import Path

import bpy

from .conftest import drive_until, module, strips_of, wait_for_job
from .test_addon import keyframe_files, use_files
from .test_panels import RecordingLayout


def panel_labels(context) -> list[str]:
    layout = RecordingLayout([])
    module("panels.common").draw_cost(layout, context)
    return [c[1] for c in layout.calls if c[0] == "label"], [c[1] for c in layout.calls if c[0] == "operator"]


def test_calibrate_then_the_panel_prices_the_settings(scene, prefs):
    labels, operators = panel_labels(bpy.context)
    assert labels[0].startswith("No estimate yet for cpu") and operators == ["mpd.calibrate"]
    assert bpy.ops.mpd.calibrate() == {"FINISHED"}
    drive_until(lambda: not module("background").registry.running("calibrate"), timeout=300)
    assert bpy.context.window_manager.mpd_env.calibration.startswith("Calibrated:"), bpy.context.window_manager.mpd_env.calibration
    settings = scene.mpd_inbetween
    settings.width, settings.height, settings.steps = 1024, 576, 0  # full size, the sampler's steps: seconds to price
    labels, operators = panel_labels(bpy.context)
    assert labels[0].startswith("about ") and "GB of RAM" in labels[0] and not operators
    small = labels[0]
    scene.mpd_inbetween.sampler = "mpd-trf"  # 185 UNet calls against mpd's 65: a longer estimate
    labels, _ = panel_labels(bpy.context)
    assert labels[0] != small
    settings.variants = 3  # three takes: one load, three times the rest
    assert panel_labels(bpy.context)[0][0].startswith("3 takes: about ")


def test_a_running_job_shows_its_live_preview_and_time_to_go(scene, prefs, tmp_path):
    start, end = keyframe_files(tmp_path)
    use_files(scene, start, end, 1, 9)
    scene.mpd_inbetween.steps = 40  # long enough for the timer to see it running, on any machine
    seen = []

    def look():
        state = bpy.context.window_manager.mpd_job
        if state.preview and state.timing:
            layout = RecordingLayout([])
            module("panels.common").draw_live_preview(layout, state)
            loaded = module("panels.live_preview")._collection.get("live")  # headless Blender makes no icon ids
            seen.append((state.preview_step, state.timing, Path(state.preview).is_file(), layout.calls,
                         tuple(loaded.image_size) if loaded else None))

    assert bpy.ops.mpd.generate() == {"FINISHED"}
    state = wait_for_job(on_tick=look)
    assert state.state == "DONE", state.message
    assert seen, "no preview event reached the panel"
    step, timing, on_disk, calls, loaded_size = seen[-1]
    assert on_disk and "so far, about" in timing and "to go" in timing and 1 <= step <= 40
    assert ("label", timing) in calls
    assert loaded_size == (4 * 16, 16)  # the panel's preview collection holds the job's preview: 4 frames of 16x16 latents
    assert not state.preview and not state.timing  # cleared with the job
    (strip,) = strips_of(scene)
    job = Path(strip["mpd_inbetween"]["job"])
    manifest = json.loads((job / "manifest.json").read_text())
    assert "contact_sheet.png" in manifest["files"] and (job / "preview.png").is_file()
