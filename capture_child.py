"""The script a background Blender runs to render the keys of the 3D scene, so that Blender's own
window never waits on a render (``capture.py`` starts it):

    blender -b --python capture_child.py -- COPY.blend FOLDER SCENE ENGINE FRAME [FRAME ...] [--percentage P] [--samples S] [--workbench]
    python capture_child.py COPY.blend ...            (where Blender is the bpy module, as in the tests)

It opens the copy of the user's file, renders each frame with the scene camera and render settings,
exactly as a render in the open file would (``render_settings``), and writes ``frame_NNNN.png`` into
FOLDER under a temporary name first, so that a cancelled capture never leaves half a key that a
later one would reuse. One protocol event per key on stdout; an error event and exit 1 when a key
cannot be rendered. Quick Capture's overrides: a resolution percentage, a sample cap, Workbench.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # Blender's own Python ignores PYTHONPATH
from mpd_backend.contract.protocol import ErrorCode, ErrorEvent, ProgressEvent, encode_event  # noqa: E402

BUILT_IN_ENGINES = {"BLENDER_EEVEE", "BLENDER_EEVEE_NEXT", "BLENDER_WORKBENCH", "CYCLES"}
QUICK_CAPTURE_HINT = "turn on Quick Capture in the Inbetween panel (Workbench), or switch the Render Engine to Cycles"


def key_name(frame: int) -> str:
    return f"frame_{frame:04d}.png"


@contextmanager
def render_settings(scene):
    """Render the 3D scene to 8-bit RGB PNG, restoring every setting touched, whatever happens."""
    render, image = scene.render, scene.render.image_settings
    saved = (scene.frame_current, scene.frame_subframe, render.use_sequencer, image.file_format, image.color_mode, image.color_depth)
    try:
        render.use_sequencer = False  # else a render returns the sequencer composite, not the scene
        image.file_format, image.color_mode, image.color_depth = "PNG", "RGB", "8"
        yield
    finally:
        frame, subframe, render.use_sequencer, image.file_format, image.color_mode, image.color_depth = saved
        scene.frame_set(frame, subframe=subframe)


def quick_capture(scene, percentage: int, samples: int, workbench: bool) -> None:
    """Quick Capture's overrides on this copy of the file (the user's own file is never touched)."""
    if workbench:
        scene.render.engine = "BLENDER_WORKBENCH"
    if percentage:
        scene.render.resolution_percentage = max(1, min(percentage, scene.render.resolution_percentage))
    if samples and scene.render.engine == "CYCLES":
        scene.cycles.samples = min(samples, scene.cycles.samples)
    elif samples and hasattr(scene, "eevee"):
        scene.eevee.taa_render_samples = min(samples, scene.eevee.taa_render_samples)


def engine_available(engine: str) -> bool:
    return engine in BUILT_IN_ENGINES or any(getattr(cls, "bl_idname", "") == engine for cls in bpy.types.RenderEngine.__subclasses__())


def render_keys(scene, frames: list[int], folder: Path) -> None:
    with render_settings(scene):
        for step, frame in enumerate(frames, 1):
            scene.frame_set(frame)
            bpy.ops.render.render(scene=scene.name)
            partial = folder / f".partial_{os.getpid()}_{key_name(frame)}"
            bpy.data.images["Render Result"].save_render(str(partial), scene=scene)
            os.replace(partial, folder / key_name(frame))  # whole, or not there at all
            say(ProgressEvent(phase=f"frame {frame}", step=step, total=len(frames)))


def say(event) -> None:
    print(encode_event(event), flush=True)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="capture_child")
    parser.add_argument("blend")
    parser.add_argument("folder", type=Path)
    parser.add_argument("scene")
    parser.add_argument("engine")
    parser.add_argument("frames", type=int, nargs="+")
    parser.add_argument("--percentage", type=int, default=0)
    parser.add_argument("--samples", type=int, default=0)
    parser.add_argument("--workbench", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    bpy.ops.wm.open_mainfile(filepath=args.blend, load_ui=False)
    scene = bpy.data.scenes[args.scene]
    quick_capture(scene, args.percentage, args.samples, args.workbench)
    engine = "BLENDER_WORKBENCH" if args.workbench else args.engine
    if not engine_available(engine) or scene.render.engine != engine:
        say(ErrorEvent(code=ErrorCode.RENDER_FAILED, message=f"The render engine {engine} is not available to a background Blender.",
                       hint=QUICK_CAPTURE_HINT))
        return 1
    try:
        render_keys(scene, args.frames, args.folder)
    except (RuntimeError, OSError) as exc:
        say(ErrorEvent(code=ErrorCode.RENDER_FAILED, message=f"The render engine {engine} could not render a key: {exc}",
                       hint=QUICK_CAPTURE_HINT))
        return 1
    return 0


def run_child(main) -> None:
    """Run a child script's ``main`` on its arguments (after ``--`` under Blender) and end the
    process at once: the bpy module can crash at interpreter exit, after the work is on disk.
    ``movie_child.py`` runs the same way."""
    arguments = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    code = main(arguments)
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    run_child(main)
