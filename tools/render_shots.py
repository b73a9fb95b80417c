"""Ground-truth Blender shots for ``make bench-quality``: ``python -m tools.render_shots OUT [FRAMES]``.

Five kinds of motion the weight-free engine meets in blocking, each a textured scene rendered with
Cycles on the CPU (384x216, 8 samples, denoised, a fixed noise seed so that still pixels render
the same in every frame) into ``OUT/<shot>/NNNN.png``:

- ``arc``: a checkered ball on an eased arc (Bezier keys), spinning;
- ``pan``: the camera trucks sideways past objects at three depths (parallax);
- ``rotation``: a patterned box turning 120 degrees on a turntable;
- ``swing``: an articulated arm (shoulder, elbow, weight) swinging with ease in and out;
- ``large-move``: a plain, untextured box crossing 70 % of the frame (the move the engine used to lose).

A shot whose folder already holds every frame is not rendered again.

``python -m tools.render_shots OUT 97 --shot large-move --size 1920x1080 --only 1 25 49`` renders only
those frames of one shot, at another size (issue 15's box at full HD: a third of the frame in 48 frames).
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path

os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="mpd_render_")

import bpy  # noqa: E402

from mpd_testing.scenes import insert_keys, material, render_frames, staged_scene  # noqa: E402


def base_scene(frames: int):
    scene = staged_scene(((0, -10, 2.0), (math.radians(84), 0, 0)), (0.7, 0.25, 0.3), (0.3, 0.38, 0.5),
                         ((0.3, 0.3, 0.28), (0.55, 0.5, 0.42)), 40)
    bpy.ops.mesh.primitive_plane_add(size=40, location=(0, 8, 0), rotation=(math.radians(90), 0, 0))
    bpy.context.active_object.data.materials.append(material("Wall", (0.45, 0.3, 0.25), checker=(0.62, 0.55, 0.4)))
    render = scene.render
    scene.cycles.samples, scene.cycles.seed = 8, 0
    scene.cycles.use_denoising = True
    render.resolution_x, render.resolution_y, render.resolution_percentage = 384, 216, 100
    scene.frame_start, scene.frame_end = 1, frames
    return scene


def shot_arc(frames: int):
    scene = base_scene(frames)
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.6)
    ball = bpy.context.active_object
    ball.data.materials.append(material("Ball", (0.9, 0.35, 0.1), checker=(0.95, 0.85, 0.2)))
    mid = (frames + 1) // 2
    insert_keys(ball, "location", {1: (-3.0, 0, 0.6), mid: (0, 0, 2.6), frames: (3.0, 0, 0.6)})
    insert_keys(ball, "rotation_euler", {1: (0, 0, 0), frames: (0, 2.4 * math.pi, 0.5)})
    return scene


def shot_pan(frames: int):
    scene = base_scene(frames)
    for x, y, colour in ((-1.4, -5.0, (0.2, 0.5, 0.8)), (1.1, -4.5, (0.8, 0.2, 0.5))):  # near poles
        bpy.ops.mesh.primitive_cylinder_add(radius=0.25, depth=4, location=(x, y, 2))
        bpy.context.active_object.data.materials.append(material(f"Pole{x}", colour, checker=tuple(min(1, c + 0.3) for c in colour)))
    for x, y, size, colour in ((-2.5, 0.0, 0.9, (0.85, 0.6, 0.1)), (0.6, 0.5, 1.0, (0.2, 0.7, 0.3)), (3.0, 1.0, 0.8, (0.6, 0.3, 0.9))):
        bpy.ops.mesh.primitive_cube_add(size=2 * size, location=(x, y, size))
        bpy.context.active_object.data.materials.append(material(f"Box{x}", colour, checker=tuple(min(1, c + 0.3) for c in colour)))
    insert_keys(scene.camera, "location", {1: (-2.5, -10, 2.0), frames: (2.5, -10, 2.0)}, interpolation="LINEAR")
    return scene


def shot_rotation(frames: int):
    scene = base_scene(frames)
    bpy.ops.mesh.primitive_cylinder_add(radius=1.8, depth=0.2, location=(0, 0, 0.1))
    bpy.context.active_object.data.materials.append(material("Turntable", (0.2, 0.2, 0.25), checker=(0.4, 0.4, 0.45)))
    bpy.ops.mesh.primitive_cube_add(size=2.0, location=(0, 0, 1.2))
    box = bpy.context.active_object
    box.data.materials.append(material("Crate", (0.75, 0.45, 0.15), checker=(0.3, 0.55, 0.8)))
    box.parent = bpy.data.objects["Cylinder"]
    box.location = (0, 0, 1.1)
    insert_keys(bpy.data.objects["Cylinder"], "rotation_euler", {1: (0, 0, 0), frames: (0, 0, math.radians(120))}, interpolation="LINEAR")
    return scene


def shot_swing(frames: int):
    scene = base_scene(frames)
    bpy.ops.object.empty_add(location=(0, 0, 2.9))
    shoulder = bpy.context.active_object
    bpy.ops.mesh.primitive_cylinder_add(radius=0.12, depth=1.3, location=(0, 0, -0.65))
    upper = bpy.context.active_object
    upper.data.materials.append(material("Upper", (0.2, 0.4, 0.8), checker=(0.8, 0.8, 0.9)))
    upper.parent = shoulder
    bpy.ops.object.empty_add(location=(0, 0, -1.3))
    elbow = bpy.context.active_object
    elbow.parent = shoulder
    bpy.ops.mesh.primitive_cylinder_add(radius=0.1, depth=0.8, location=(0, 0, -0.4))
    lower = bpy.context.active_object
    lower.data.materials.append(material("Lower", (0.8, 0.3, 0.2), checker=(0.9, 0.8, 0.7)))
    lower.parent = elbow
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.3, location=(0, 0, -1.0))
    weight = bpy.context.active_object
    weight.data.materials.append(material("Weight", (0.9, 0.75, 0.1), checker=(0.3, 0.2, 0.1)))
    weight.parent = elbow
    mid = (frames + 1) // 2
    insert_keys(shoulder, "rotation_euler", {1: (0, math.radians(-55), 0), mid: (0, math.radians(10), 0), frames: (0, math.radians(55), 0)})
    insert_keys(elbow, "rotation_euler", {1: (0, math.radians(-40), 0), mid: (0, math.radians(35), 0), frames: (0, math.radians(-20), 0)})
    return scene


def shot_large_move(frames: int):
    scene = base_scene(frames)
    bpy.ops.mesh.primitive_cube_add(size=1.4, location=(-2.6, 0, 0.7))
    box = bpy.context.active_object
    plain = material("Plain", (0.8, 0.12, 0.1))
    box.data.materials.append(plain)
    insert_keys(box, "location", {1: (-2.6, 0, 0.7), frames: (2.6, 0, 0.7)}, interpolation="LINEAR")
    return scene


SHOTS = {"arc": shot_arc, "pan": shot_pan, "rotation": shot_rotation, "swing": shot_swing, "large-move": shot_large_move}


def render(name: str, out: Path, frames: int, size: tuple[int, int] | None = None, only: list[int] | None = None) -> None:
    wanted = only or list(range(1, frames + 1))
    if out.is_dir() and all((out / f"{frame:04d}.png").exists() for frame in wanted):
        return
    scene = SHOTS[name](frames)
    if size:
        scene.render.resolution_x, scene.render.resolution_y = size
    render_frames(scene, wanted, out)
    print(f"{name}: {len(wanted)} frames", file=sys.stderr, flush=True)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("frames", type=int, nargs="?", default=33)
    parser.add_argument("--shot", choices=list(SHOTS))
    parser.add_argument("--size", help="WIDTHxHEIGHT (384x216 unless given)")
    parser.add_argument("--only", type=int, nargs="*", help="these frames only")
    args = parser.parse_args(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:])
    size = tuple(int(v) for v in args.size.split("x")) if args.size else None
    for shot in [args.shot] if args.shot else SHOTS:
        render(shot, args.out / shot, args.frames, size, args.only)
