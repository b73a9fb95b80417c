import bpy

from .. import environment


class MPD_OT_env_cancel(bpy.types.Operator):
    """Stop the install; the half-made environment is removed"""

    bl_idname = "mpd.env_cancel"
    bl_label = "Cancel Install"
    bl_options = {"REGISTER", "INTERNAL"}

    @classmethod
    def poll(cls, context):
        return environment.is_installing()

    def execute(self, context):
        environment.cancel()
        environment.tick()
        return {"FINISHED"}
