"""Where the two keyframe images come from: the 3D scene, storyboard strips, or files."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import bpy

from . import compat
from .core.shots import keyframes_around
from .core.user_error import UserError


def auto_scene_frames(context) -> tuple[int, int, str]:
    """Frames A and B: the active object's keys around the current frame, else the preview range,
    else the explicit numbers in the settings. Returns (A, B, why)."""
    scene, obj = context.scene, context.active_object
    if obj is not None:
        keys = {k.co[0] for fc in compat.action_fcurves(obj) for k in fc.keyframe_points}
        around = keyframes_around(keys, scene.frame_current)
        if around:
            return (*around, f"keys of {obj.name}")
    if scene.use_preview_range:
        return scene.frame_preview_start, scene.frame_preview_end, "preview range"
    settings = scene.mpd_inbetween
    return settings.frame_a, settings.frame_b, "frame numbers"


@contextmanager
def scene_render_settings(scene):
    """Render the 3D scene to PNG, restoring every setting touched, whatever happens."""
    render, image = scene.render, scene.render.image_settings
    saved = (scene.frame_current, scene.frame_subframe, render.use_sequencer, image.file_format, image.color_mode, image.color_depth)
    try:
        render.use_sequencer = False  # else a render returns the sequencer composite, not the scene
        image.file_format, image.color_mode, image.color_depth = "PNG", "RGB", "8"
        yield
    finally:
        frame, subframe, render.use_sequencer, image.file_format, image.color_mode, image.color_depth = saved
        scene.frame_set(frame, subframe=subframe)


def render_scene_frames(scene, frames, folder: Path) -> dict[int, str]:
    """Render each frame once with the scene camera and render settings into ``folder``."""
    if scene.camera is None:
        raise UserError(f"The scene {scene.name!r} has no camera to render the keyframes with.")
    paths = {}
    with scene_render_settings(scene):
        for frame in frames:
            scene.frame_set(frame)
            bpy.ops.render.render(scene=scene.name)
            path = folder / f"frame_{frame:04d}.png"
            bpy.data.images["Render Result"].save_render(str(path), scene=scene)
            paths[frame] = str(path)
    return paths


def strip_image_path(strip, element) -> str:
    return os.path.normpath(bpy.path.abspath(os.path.join(strip.directory, element.filename), library=strip.id_data.library))


def selected_image_strips(scene) -> list:
    editor = compat.sequence_editor(scene, create=False)
    if editor is None:
        return []
    return sorted((s for s in compat.top_strips(editor) if s.select and s.type == "IMAGE"), key=lambda s: s.frame_final_start)


def strip_keyframes(scene) -> tuple[str, str, int, int, str]:
    """(start image, end image, A, B, shot) from two selected image strips: A is the first strip's last
    frame and its last image; B is the second strip's first frame and its first image."""
    strips = selected_image_strips(scene)
    if len(strips) != 2:
        raise UserError(f"Select exactly two image strips in the sequencer ({len(strips)} selected).")
    first, second = strips
    start, end = strip_image_path(first, first.elements[-1]), strip_image_path(second, second.elements[0])
    for path in (start, end):
        if not Path(path).is_file():
            raise UserError(f"A strip's image file is missing: {path}")
    return start, end, first.frame_final_end - 1, second.frame_final_start, f"{first.name}-{second.name}"


def file_keyframes(settings) -> tuple[str, str]:
    paths = []
    for label, path in (("start", settings.start_image), ("end", settings.end_image)):
        if not path:
            raise UserError(f"Choose the {label} image.")
        path = bpy.path.abspath(path)
        if not Path(path).is_file():
            raise UserError(f"The {label} image was not found: {path}")
        paths.append(path)
    return paths[0], paths[1]
