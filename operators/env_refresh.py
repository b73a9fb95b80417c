import bpy

from .. import backend_setup


class MPD_OT_env_refresh(bpy.types.Operator):
    """Read the backend environment's state again and ask its doctor for a fresh report (devices,
    free memory, whether the model is found)"""

    bl_idname = "mpd.env_refresh"
    bl_label = "Refresh"
    bl_options = {"REGISTER", "INTERNAL"}

    def execute(self, context):
        backend_setup.refresh(context)
        backend_setup.run_doctor(context)
        return {"FINISHED"}
