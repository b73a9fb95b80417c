import bpy

from .. import batch, jobs


class MPD_OT_cancel(bpy.types.Operator):
    """Cancel the running inbetween job or batch; nothing half-written is imported"""

    bl_idname = "mpd.cancel"
    bl_label = "Cancel Inbetween Job"

    @classmethod
    def poll(cls, context):
        return jobs.busy()

    def execute(self, context):
        jobs.cancel() or batch.cancel()
        return {"FINISHED"}
