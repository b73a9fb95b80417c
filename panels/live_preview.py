"""The live preview's image in the panel: one preview collection, reloaded when the backend has
written a newer preview (each ``preview`` event names its step)."""

from __future__ import annotations

import os

import bpy.utils.previews

_collection = None
_shown: tuple[str, int] | None = None  # the (path, step) loaded now


def preview_icon(path: str, step: int) -> int:
    """The icon id of the preview at ``path`` as of ``step``; 0 when there is none to show."""
    global _shown
    if _collection is None or not path or not os.path.isfile(path):
        return 0
    if _shown != (path, step):
        _collection.clear()
        _collection.load("live", path, "IMAGE")
        _shown = (path, step)
    return _collection["live"].icon_id


def register():
    global _collection
    _collection = bpy.utils.previews.new()


def unregister():
    global _collection, _shown
    if _collection is not None:
        bpy.utils.previews.remove(_collection)
    _collection, _shown = None, None
