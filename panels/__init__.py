"""The add-on's panels, registered in this order and unregistered in reverse."""

import bpy

from .sequencer import MPD_PT_sequencer
from .view3d import MPD_PT_view3d

classes = (MPD_PT_sequencer, MPD_PT_view3d)

register, unregister = bpy.utils.register_classes_factory(classes)  # unregisters in reverse
