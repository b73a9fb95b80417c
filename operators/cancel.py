import bpy

from .. import generation


class MPD_OT_cancel(bpy.types.Operator):
    """Cancel the running generation; nothing half-written is imported"""

    bl_idname = "mpd.cancel"
    bl_label = "Cancel Inbetween Job"

    @classmethod
    def poll(cls, context):
        return generation.busy()

    def execute(self, context):
        generation.cancel()
        return {"FINISHED"}
