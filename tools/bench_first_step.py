"""Time from a Generate click to the first denoising step, for a first and a second job in one
Blender session: what keeping the worker (and its model) up between jobs buys.

Run with a Blender-as-a-module Python; the extension zip is built from SOURCE (this checkout by
default, or an older one for a before/after comparison):

    .venv-blender50/bin/python -m tools.bench_first_step --model build/tiny-svd --size 64x64 [--source DIR]

Timers never fire without Blender's event loop, so the tool drives the add-on's tick by hand every
10 ms, as the tests do; the time is taken when the panel's state first shows a denoising step.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="mpd_bench_blender_")

import bpy  # noqa: E402

PACKAGE = "bl_ext.user_default.mpd_inbetween"


def build_zip(source: Path, out: Path) -> Path:
    tool = Path(bpy.utils.resource_path("LOCAL")) / "scripts/addons_core/bl_pkg/cli/blender_ext.py"
    subprocess.run([sys.executable, str(tool), "build", "--source-dir", str(source), "--output-filepath", str(out)],
                   check=True, capture_output=True)
    return out


def tick_function():
    """The add-on's timer function: one for everything now, the job's own one before."""
    for name in ("background", "jobs"):
        module = sys.modules.get(f"{PACKAGE}.{name}")
        if module is not None and hasattr(module, "tick"):
            return module.tick
    raise RuntimeError("no tick function found in the add-on")


def keyframe(path: Path, colour) -> str:
    image = bpy.data.images.new("key", 64, 64)
    image.pixels = [*colour, 1.0] * (64 * 64)
    image.filepath_raw, image.file_format = str(path), "PNG"
    image.save()
    bpy.data.images.remove(image)
    return str(path)


def one_job(tick, state) -> tuple[float, float]:
    """(seconds to the first denoising step, seconds to the end)."""
    t0 = time.perf_counter()
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    first_step = None
    while state.state == "RUNNING":  # the worker stays up after the job: wait for the job alone
        tick()
        if first_step is None and "denoise" in f"{state.phase} {state.message}":
            first_step = time.perf_counter() - t0
        time.sleep(0.01)
    assert state.state == "DONE", state.message
    return first_step, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--source", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--size", default="64x64")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--sampler", default="mpd")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mpd_bench_first_step_"))
    zip_path = build_zip(Path(args.source), work / "mpd_inbetween.zip")
    assert bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default", enable_on_install=True) == {"FINISHED"}
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    prefs.backend_python = os.environ["MPD_BACKEND_PYTHON"]
    prefs.model, prefs.engine, prefs.device, prefs.dtype = str(Path(args.model).resolve()), "svd", "cpu", args.dtype
    prefs.output_dir = str(work / "jobs") + os.sep
    settings = bpy.context.scene.mpd_inbetween
    width, height = (int(v) for v in args.size.split("x"))
    settings.source, settings.frame_a, settings.frame_b = "FILES", 1, 9
    settings.start_image = keyframe(work / "a.png", (0.9, 0.2, 0.1))
    settings.end_image = keyframe(work / "b.png", (0.1, 0.2, 0.9))
    settings.width, settings.height, settings.steps, settings.sampler = width, height, args.steps, args.sampler
    tick, state = tick_function(), bpy.context.window_manager.mpd_job
    rows = []
    for k in range(args.jobs):
        settings.seed = k  # another seed each time, else the job folder of the last one is reused
        rows.append(one_job(tick, state))
    for k, (first_step, total) in enumerate(rows, 1):
        print(f"job {k}: first denoising step after {first_step:.2f} s, done after {total:.2f} s", flush=True)
    bpy.ops.preferences.addon_disable(module=PACKAGE)


if __name__ == "__main__":
    main()
