"""The add-on's panels, registered in this order and unregistered in reverse."""

import bpy

from .sequencer import MPD_PT_sequencer
from .view3d import MPD_PT_view3d

classes = (MPD_PT_sequencer, MPD_PT_view3d)


def register():
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister():
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
