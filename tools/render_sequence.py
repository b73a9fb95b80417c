"""Render the demo's scene as a ground-truth sequence (headless Blender): ``python render_sequence.py OUT FRAMES``.

A checkered ball rolling across a checkered floor over FRAMES frames (Cycles on the CPU), for the
quality benchmark's Blender footage."""

import os
import sys
import tempfile
from pathlib import Path

os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="mpd_render_")
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import bpy  # noqa: E402
from demo import build_scene  # noqa: E402

from compat import action_fcurves  # noqa: E402  (the add-on's 4.2-to-5.0 animation API shim)


def main(out: Path, frames: int) -> None:
    scene = build_scene()
    ball = scene.objects["Sphere"]
    ball.animation_data_clear()  # a steady roll over the whole range instead of the demo's two keys
    ball.location.x, ball.rotation_euler.y = -2.4, 0.0
    ball.keyframe_insert("location", frame=1)
    ball.keyframe_insert("rotation_euler", frame=1)
    ball.location.x, ball.rotation_euler.y = 2.4, 3.0
    ball.keyframe_insert("location", frame=frames)
    ball.keyframe_insert("rotation_euler", frame=frames)
    for fcurve in action_fcurves(ball):
        for key in fcurve.keyframe_points:
            key.interpolation = "LINEAR"
    out.mkdir(parents=True, exist_ok=True)
    for frame in range(1, frames + 1):
        scene.frame_set(frame)
        bpy.ops.render.render(scene=scene.name)
        bpy.data.images["Render Result"].save_render(str(out / f"{frame:04d}.png"), scene=scene)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
