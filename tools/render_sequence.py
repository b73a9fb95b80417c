"""Render the demo's scene as a ground-truth sequence (headless Blender): ``python -m tools.render_sequence OUT FRAMES``.

A checkered ball rolling across a checkered floor over FRAMES frames (Cycles on the CPU), for the
quality benchmark's Blender footage."""

import os
import sys
import tempfile
from pathlib import Path

os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="mpd_render_")

import bpy  # noqa: E402, F401  (Blender first, then what renders with it)

from mpd_testing.scenes import demo_scene, insert_keys, render_frames  # noqa: E402


def main(out: Path, frames: int) -> None:
    scene = demo_scene()
    ball = scene.objects["Sphere"]
    ball.animation_data_clear()  # a steady roll over the whole range instead of the demo's two keys
    insert_keys(ball, "location", {1: (-2.4, 0, 0.8), frames: (2.4, 0, 0.8)}, "LINEAR")
    insert_keys(ball, "rotation_euler", {1: (0, 0.0, 0), frames: (0, 3.0, 0)}, "LINEAR")
    render_frames(scene, range(1, frames + 1), out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
