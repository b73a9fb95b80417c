import bpy

from .common import InbetweenPanel


class MPD_PT_view3d(InbetweenPanel, bpy.types.Panel):
    bl_idname = "MPD_PT_view3d"
    bl_space_type = "VIEW_3D"
