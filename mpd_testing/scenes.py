"""Blender scenes the demo and the benchmarks render: materials Cycles draws, the demo's rolling
ball, and keys with a chosen interpolation. Blender's Python only (bpy is imported when used, so
that a caller can point Blender's user folders elsewhere first)."""

from __future__ import annotations


def material(name, colour, checker=None):
    """A node material Cycles renders (the viewport colour alone renders grey)."""
    import bpy

    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
    if checker:
        texture = nodes.new("ShaderNodeTexChecker")
        texture.inputs["Scale"].default_value = 5.0
        texture.inputs["Color1"].default_value = (*colour, 1)
        texture.inputs["Color2"].default_value = (*checker, 1)
        links.new(texture.outputs["Color"], bsdf.inputs["Base Color"])
    else:
        bsdf.inputs["Base Color"].default_value = (*colour, 1)
    return mat


def insert_keys(obj, path: str, values: dict, interpolation: str = "BEZIER") -> None:
    """Keys of ``obj.<path>`` at {frame: value} with ``interpolation`` (Bezier keys ease in and
    out). Set through the preference for new keys, the same in Blender 4.2 to 5.0 whatever its
    animation API."""
    import bpy

    edit = bpy.context.preferences.edit
    before, edit.keyframe_new_interpolation_type = edit.keyframe_new_interpolation_type, interpolation
    try:
        for frame, value in values.items():
            setattr(obj, path, value)
            obj.keyframe_insert(path, frame=frame)
    finally:
        edit.keyframe_new_interpolation_type = before


def staged_scene(camera: tuple, sun_rotation: tuple, sky: tuple, floor: tuple, floor_size: float):
    """A new empty scene with a camera (location, rotation), a sun, a sky colour and a chequered
    floor (two colours): what every rendered scene here starts from. Cycles on the CPU."""
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.object.camera_add(location=camera[0], rotation=camera[1])
    scene.camera = bpy.context.active_object
    bpy.ops.object.light_add(type="SUN", location=(2, -2, 6), rotation=sun_rotation)
    bpy.context.active_object.data.energy = 4
    scene.world = bpy.data.worlds.new("Sky")
    scene.world.color = sky
    bpy.ops.mesh.primitive_plane_add(size=floor_size)
    bpy.context.active_object.data.materials.append(material("Floor", floor[0], checker=floor[1]))
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    return scene


def demo_scene(last_frame: int = 13):
    """The demo's scene: a ball rolling between keys at frames 1 and ``last_frame`` over a
    chequered floor, rendered by Cycles on the CPU at 320x180."""
    import bpy

    scene = staged_scene(((0, -9, 2.2), (1.35, 0, 0)), (0.6, 0.2, 0), (0.25, 0.35, 0.55), ((0.15, 0.35, 0.12), (0.25, 0.5, 0.2)), 20)
    scene.name = "Rolling Ball"
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.8, location=(-0.6, 0, 0.8))
    ball = bpy.context.active_object
    ball.data.materials.append(material("Ball", (0.9, 0.35, 0.1), checker=(0.95, 0.85, 0.2)))
    ball.keyframe_insert("location", frame=1)
    ball.keyframe_insert("rotation_euler", frame=1)
    ball.location.x, ball.rotation_euler.y = 0.6, 0.75  # it rolls
    ball.keyframe_insert("location", frame=last_frame)
    ball.keyframe_insert("rotation_euler", frame=last_frame)
    render = scene.render
    scene.cycles.samples = 8
    render.resolution_x, render.resolution_y, render.resolution_percentage = 320, 180, 100
    scene.frame_start, scene.frame_end = 1, last_frame
    scene.frame_set(1)
    return scene


def render_frames(scene, frames, out) -> None:
    """Render each of ``frames`` with the scene's camera into ``out/NNNN.png``."""
    import bpy

    out.mkdir(parents=True, exist_ok=True)
    for frame in frames:
        scene.frame_set(frame)
        bpy.ops.render.render(scene=scene.name)
        bpy.data.images["Render Result"].save_render(str(out / f"{frame:04d}.png"), scene=scene)
