import bpy

from .. import jobs


class MPD_OT_cancel(bpy.types.Operator):
    """Cancel the running inbetween job; nothing half-written is imported"""

    bl_idname = "mpd.cancel"
    bl_label = "Cancel Inbetween Job"

    @classmethod
    def poll(cls, context):
        return jobs.is_running()

    def execute(self, context):
        jobs.cancel()
        return {"FINISHED"}
