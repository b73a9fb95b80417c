"""Blender 4.2 LTS, 4.5 LTS and 5.0 differences, in one place.

- Strips: 4.2 has ``SequenceEditor.sequences``, 4.5 both, 5.0 only ``strips``; the type ``Sequence``
  became ``Strip`` in 4.4.
- Blender 5 may edit a sequencer scene other than the active one (``context.sequencer_scene``).
- Actions are layered from 4.4 on; 5.0 removed ``Action.fcurves``.
"""

from __future__ import annotations


def sequencer_scene(context):
    """The scene whose timeline the sequencer edits."""
    return getattr(context, "sequencer_scene", None) or context.scene


def sequence_editor(scene, create: bool = True):
    if scene.sequence_editor is None and create:
        scene.sequence_editor_create()
    return scene.sequence_editor


def top_strips(editor):
    """The editor's top-level strips collection (has ``new_image``)."""
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def new_image_strip(editor, name: str, filepath: str, channel: int, frame_start: int):
    return top_strips(editor).new_image(name=name, filepath=filepath, channel=channel, frame_start=frame_start, fit_method="FIT")


def action_fcurves(id_data):
    """The F-curves that animate ``id_data`` (an object), whatever the action API."""
    anim = getattr(id_data, "animation_data", None)
    action = anim.action if anim else None
    if action is None:
        return []
    if hasattr(action, "fcurves"):  # 4.2 .. 4.5 legacy API
        return list(action.fcurves)
    try:
        from bpy_extras import anim_utils

        channelbag = anim_utils.action_get_channelbag_for_slot(action, anim.action_slot)
    except (ImportError, AttributeError):
        return []
    return list(channelbag.fcurves) if channelbag else []

