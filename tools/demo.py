"""``make demo``: the main job, headless, through the real add-on and the real backend process.

Builds a small animated scene (a ball rolling a short way across a floor between keys at frames 1 and 13),
installs the extension zip the way a user does, renders the two keyframes with Cycles on the CPU,
runs the generate operator, and writes the .blend, the job folder and a contact sheet into a new
folder under OUT. Uses SVD-XT weights when MPD_MODEL names them (or when they are in the Hugging
Face cache); otherwise the RIFE engine (or, where RIFE is not installed, the flow engine) makes the
inbetweens, and the demo says so.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="mpd_demo_blender_")  # leave ~/.config alone

import bpy  # noqa: E402

from mpd_testing.scenes import demo_scene  # noqa: E402

PACKAGE = "bl_ext.user_default.mpd_inbetween"


def main(out_root: Path) -> int:
    out = out_root / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True)
    zip_path = REPO / "build/mpd_inbetween.zip"
    result = bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default", enable_on_install=True)
    assert result == {"FINISHED"}, result
    scene = demo_scene()
    blend = out / "demo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))  # job folders go next to it: //inbetweens/

    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    prefs.backend_python = os.environ["MPD_BACKEND_PYTHON"]
    settings = scene.mpd_inbetween
    settings.sampler, settings.seed = "mpd", 0
    prefs.engine = "auto"  # SVD-XT when its weights are found locally, else RIFE, else the flow engine
    if os.environ.get("MPD_MODEL"):
        prefs.model = os.environ["MPD_MODEL"]
    print(f"model asked for: {prefs.model}")

    assert bpy.ops.mpd.keyframes_from_scene() == {"FINISHED"}
    print(f"keyframes: frames {settings.frame_a} and {settings.frame_b}, rendered with Cycles on the CPU")
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    tick = sys.modules[PACKAGE + ".background"].tick
    state = bpy.context.window_manager.mpd_job
    last = ""
    while state.state == "RUNNING":  # the timer's work, driven by hand without an event loop
        tick()
        if state.message != last:
            last = state.message
            print(f"  {last}", flush=True)
        time.sleep(0.1)
    print(f"{state.state.lower()}: {state.message} {state.hint}".rstrip())
    if state.state != "DONE":
        return 1
    job = Path(state.folder)
    manifest = json.loads((job / "manifest.json").read_text())
    if manifest["engine"] in ("rife", "flow"):
        print(f"engine: {manifest['engine'].upper()}. No SVD-XT weights were found (set MPD_MODEL to a local diffusers")
        print("        folder, or cache the Hugging Face model), so " + ("RIFE v4, a learned frame interpolator,"
              if manifest["engine"] == "rife" else "optical flow") + " between the two renders made the")
        print("        inbetweens: real motion, no generative model, no MPD sampler.")
    else:
        print(f"engine: SVD-XT, sampler {manifest['parameters']['sampler']}, {manifest['parameters']['steps']} steps")
    bpy.ops.wm.save_mainfile()
    bpy.ops.preferences.addon_disable(module=PACKAGE)

    sheet = out / "contact_sheet.png"
    shutil.copyfile(job / "contact_sheet.png", sheet)  # every job folder has one, labelled with the timeline frames
    if manifest["engine"] == "flow":
        print(f"flow engine confidence: {manifest['confidence']:.2f}")
    print(f"blend: {blend}\njob folder: {job}\ncontact sheet: {sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "out/demo").resolve()))
