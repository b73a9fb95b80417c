"""The add-on's panels, registered in this order and unregistered in reverse."""

import bpy

from . import live_preview
from .sequencer import MPD_PT_sequencer
from .view3d import MPD_PT_view3d

classes = (MPD_PT_sequencer, MPD_PT_view3d)

_register_classes, _unregister_classes = bpy.utils.register_classes_factory(classes)  # unregisters in reverse


def register():
    live_preview.register()
    _register_classes()


def unregister():
    _unregister_classes()
    live_preview.unregister()
