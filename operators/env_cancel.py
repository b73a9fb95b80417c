import bpy

from .. import environment


class MPD_OT_env_cancel(bpy.types.Operator):
    """Stop the install (the half-made environment is removed) or the model download"""

    bl_idname = "mpd.env_cancel"
    bl_label = "Cancel"
    bl_options = {"REGISTER", "INTERNAL"}

    @classmethod
    def poll(cls, context):
        return environment.is_installing() or environment.is_downloading()

    def execute(self, context):
        environment.cancel()
        environment.tick()
        return {"FINISHED"}
