"""Where the keyframe images come from: the 3D scene's frames (rendered by ``capture``), storyboard
strips, or files."""

from __future__ import annotations

import os
from pathlib import Path

import bpy

from . import compat
from .core.shots import keyframes_around, keys_in_range
from .core.user_error import UserError


def object_key_times(obj) -> set[float]:
    """The times of every key on the object's animated channels."""
    return {k.co[0] for fc in compat.action_fcurves(obj) for k in fc.keyframe_points}


def scene_range(scene) -> tuple[int, int]:
    """The preview range when it is on, else the scene's frame range."""
    if scene.use_preview_range:
        return scene.frame_preview_start, scene.frame_preview_end
    return scene.frame_start, scene.frame_end


def scene_chain_frames(context) -> tuple[list[int], str]:
    """The keys of the active object inside the preview range (else the scene range), for one chain;
    ([], why not) when there are fewer than two."""
    obj = context.active_object
    if obj is None:
        return [], "no active object"
    first, last = scene_range(context.scene)
    frames = keys_in_range(object_key_times(obj), first, last)
    if len(frames) < 2:
        return [], f"{obj.name} has {len(frames)} keys in frames {first}-{last}"
    return frames, f"{len(frames)} keys of {obj.name} in frames {first}-{last}"


def auto_scene_frames(context) -> tuple[int, int, str]:
    """Frames A and B: the active object's keys around the current frame, else the preview range,
    else the explicit numbers in the settings. Returns (A, B, why)."""
    scene, obj = context.scene, context.active_object
    if obj is not None:
        around = keyframes_around(object_key_times(obj), scene.frame_current)
        if around:
            return (*around, f"keys of {obj.name}")
    if scene.use_preview_range:
        return scene.frame_preview_start, scene.frame_preview_end, "preview range"
    settings = scene.mpd_inbetween
    return settings.frame_a, settings.frame_b, "frame numbers"


def strip_image_path(strip, element) -> str:
    return os.path.normpath(bpy.path.abspath(os.path.join(strip.directory, element.filename), library=strip.id_data.library))


def selected_image_strips(scene) -> list:
    editor = compat.sequence_editor(scene, create=False)
    if editor is None:
        return []
    return sorted((s for s in compat.top_strips(editor) if s.select and s.type == "IMAGE"), key=lambda s: s.frame_final_start)


def strip_keyframes(scene) -> tuple[list[tuple[int, str]], str]:
    """([(frame, image)], shot) from the selected image strips, in timeline order: the gaps between
    them are filled. The first strip gives its last frame and image, the last its first; a strip
    between gives its first and last frame when it holds one image (held between them), else every
    frame it shows, so its own images stay. Two strips: one gap."""
    strips = selected_image_strips(scene)
    if len(strips) < 2:
        raise UserError(f"Select at least two image strips in the sequencer ({len(strips)} selected).")
    keys = [(strips[0].frame_final_end - 1, strip_image_path(strips[0], strips[0].elements[-1]))]
    for strip in strips[1:-1]:
        first, last = strip.frame_final_start, strip.frame_final_end - 1
        frames = range(first, last + 1) if len(strip.elements) > 1 else sorted({first, last})
        keys += [(frame, strip_image_path(strip, strip.strip_elem_from_frame(frame))) for frame in frames]
    keys.append((strips[-1].frame_final_start, strip_image_path(strips[-1], strips[-1].elements[0])))
    frames = [frame for frame, _ in keys]
    if any(b <= a for a, b in zip(frames, frames[1:])):
        raise UserError("The selected strips overlap in time: each must end before the next begins.")
    for _, path in keys:
        if not Path(path).is_file():
            raise UserError(f"A strip's image file is missing: {path}")
    name = f"{strips[0].name}-{strips[1].name}" if len(strips) == 2 else f"{strips[0].name}-{strips[-1].name} chain"
    return keys, name


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
