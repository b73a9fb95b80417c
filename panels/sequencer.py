import bpy

from .common import InbetweenPanel


class MPD_PT_sequencer(InbetweenPanel, bpy.types.Panel):
    bl_idname = "MPD_PT_sequencer"
    bl_space_type = "SEQUENCE_EDITOR"
