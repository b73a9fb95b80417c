import bpy

from .. import environment


class MPD_OT_env_refresh(bpy.types.Operator):
    """Read the backend environment's state again and ask its doctor for a fresh report (devices,
    free memory, whether the model is found)"""

    bl_idname = "mpd.env_refresh"
    bl_label = "Refresh"
    bl_options = {"REGISTER", "INTERNAL"}

    def execute(self, context):
        environment.refresh(context)
        environment.run_doctor(context)
        return {"FINISHED"}
