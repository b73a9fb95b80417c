"""``make demo``: the main job, headless, through the real add-on and the real backend process.

Builds a small animated scene (a ball rolling across a floor between keys at frames 1 and 13),
installs the extension zip the way a user does, renders the two keyframes with Cycles on the CPU,
runs the generate operator, and writes the .blend, the job folder and a contact sheet into a new
folder under OUT. Uses SVD-XT weights when MPD_MODEL names them; otherwise the tiny untrained test
model, and says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="mpd_demo_blender_")  # leave ~/.config alone

import bpy  # noqa: E402

PACKAGE = "bl_ext.user_default.mpd_inbetween"


def build_scene():
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.name = "Rolling Ball"
    bpy.ops.object.camera_add(location=(0, -9, 2.2), rotation=(1.35, 0, 0))
    scene.camera = bpy.context.active_object
    bpy.ops.object.light_add(type="SUN", location=(2, -2, 6), rotation=(0.6, 0.2, 0))
    bpy.context.active_object.data.energy = 4
    scene.world = bpy.data.worlds.new("Sky")
    scene.world.color = (0.25, 0.35, 0.55)
    bpy.ops.mesh.primitive_plane_add(size=20)
    floor = bpy.data.materials.new("Floor")
    floor.diffuse_color = (0.2, 0.45, 0.2, 1)
    bpy.context.active_object.data.materials.append(floor)
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.8, location=(-3, 0, 0.8))
    ball = bpy.context.active_object
    paint = bpy.data.materials.new("Ball")
    paint.diffuse_color = (0.9, 0.35, 0.1, 1)
    ball.data.materials.append(paint)
    ball.keyframe_insert("location", frame=1)
    ball.location.x = 3
    ball.keyframe_insert("location", frame=13)
    render = scene.render
    render.engine = "CYCLES"
    scene.cycles.samples, scene.cycles.device = 8, "CPU"
    render.resolution_x, render.resolution_y, render.resolution_percentage = 320, 180, 100
    scene.frame_start, scene.frame_end = 1, 13
    scene.frame_set(1)
    return scene


def main(out_root: Path) -> int:
    out = out_root / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True)
    zip_path = REPO / "build/mpd_inbetween.zip"
    result = bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default", enable_on_install=True)
    assert result == {"FINISHED"}, result
    scene = build_scene()
    blend = out / "demo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))  # job folders go next to it: //inbetweens/

    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    prefs.backend_python = os.environ["MPD_BACKEND_PYTHON"]
    settings = scene.mpd_inbetween
    settings.sampler, settings.seed = "mpd", 0
    if os.environ.get("MPD_MODEL"):
        prefs.model = os.environ["MPD_MODEL"]
        print(f"model: {prefs.model} (SVD-XT weights)")
    else:
        prefs.model = str(REPO / "build/tiny-svd")
        settings.width, settings.height, settings.steps = 256, 128, 10
        print("model: the tiny UNTRAINED test model: no SVD-XT weights are configured (set MPD_MODEL to a")
        print("       local diffusers folder or a Hugging Face id). Its inbetweens are noise; only the two")
        print("       rendered keyframes at the ends are real. They show the pipeline runs, not MPD's quality.")
    print(f"sampler: {settings.sampler}")

    assert bpy.ops.mpd.keyframes_from_scene() == {"FINISHED"}
    print(f"keyframes: frames {settings.frame_a} and {settings.frame_b}, rendered with Cycles on the CPU")
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    jobs = sys.modules[PACKAGE + ".jobs"]
    state = bpy.context.window_manager.mpd_job
    last = ""
    while jobs.tick() is not None:  # the timer's work, driven by hand without an event loop
        if state.message != last:
            last = state.message
            print(f"  {last}", flush=True)
        time.sleep(0.1)
    print(f"{state.state.lower()}: {state.message} {state.hint}".rstrip())
    if state.state != "DONE":
        return 1
    job = Path(state.folder)
    bpy.ops.wm.save_mainfile()
    bpy.ops.preferences.addon_disable(module=PACKAGE)

    sheet = out / "contact_sheet.png"
    subprocess.run([os.environ["MPD_BACKEND_PYTHON"], str(REPO / "tools/contact_sheet.py"), str(job / "frames"), str(sheet)], check=True)
    print(f"blend: {blend}\njob folder: {job}\ncontact sheet: {sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "out/demo").resolve()))
