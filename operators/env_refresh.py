import bpy

from .. import environment


class MPD_OT_env_refresh(bpy.types.Operator):
    """Read the managed environment's state and doctor's report again"""

    bl_idname = "mpd.env_refresh"
    bl_label = "Refresh"
    bl_options = {"REGISTER", "INTERNAL"}

    def execute(self, context):
        environment.refresh(context)
        return {"FINISHED"}
