import bpy

from .common import draw_inbetween_panel


class MPD_PT_sequencer(bpy.types.Panel):
    bl_label = "Inbetween"
    bl_idname = "MPD_PT_sequencer"
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "Inbetween"

    def draw(self, context):
        draw_inbetween_panel(self.layout, context)
