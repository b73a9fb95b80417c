"""A Blender session (the bpy module in a process of its own) that starts a Generate and then waits
to be killed: the host process of the backend-never-outlives-Blender tests.

    python blender_host.py ZIP MODEL OUT UNTIL

Prints one JSON line once UNTIL holds ("denoise": the job is denoising; "started": the worker has
been started), then keeps ticking the add-on's timer until it is killed."""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="mpd_host_blender_")

import bpy  # noqa: E402

PACKAGE = "bl_ext.user_default.mpd_inbetween"


def keyframe(path: Path, colour) -> str:
    image = bpy.data.images.new("key", 64, 64)
    image.pixels = [*colour, 1.0] * (64 * 64)
    image.filepath_raw, image.file_format = str(path), "PNG"
    image.save()
    bpy.data.images.remove(image)
    return str(path)


def main(zip_path: str, model: str, out: str, until: str) -> None:
    assert bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True) == {"FINISHED"}
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    prefs.backend_python = os.environ["MPD_BACKEND_PYTHON"]
    prefs.model, prefs.engine, prefs.device, prefs.dtype = model, "auto", "cpu", "float32"
    prefs.output_dir = out + os.sep
    settings = bpy.context.scene.mpd_inbetween
    settings.source, settings.frame_a, settings.frame_b = "FILES", 1, 9
    settings.start_image = keyframe(Path(out) / "a.png", (0.9, 0.2, 0.1))
    settings.end_image = keyframe(Path(out) / "b.png", (0.1, 0.2, 0.9))
    settings.width, settings.height, settings.steps = 64, 64, 400
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    generation = sys.modules[PACKAGE + ".generation"]
    tick, state = sys.modules[PACKAGE + ".background"].tick, bpy.context.window_manager.mpd_job
    said = False
    while True:
        tick()
        if not said and (until == "started" or state.phase == "denoise"):
            print(json.dumps({"worker": generation.running_worker().client.pid, "job": state.folder}), flush=True)
            said = True
        time.sleep(0.05)


if __name__ == "__main__":
    main(*sys.argv[1:5])
