import bpy

from .. import backend_setup, background


class MPD_OT_env_cancel(bpy.types.Operator):
    """Stop the install (the half-made environment is removed) or the model download"""

    bl_idname = "mpd.env_cancel"
    bl_label = "Cancel"
    bl_options = {"REGISTER", "INTERNAL"}

    @classmethod
    def poll(cls, context):
        return backend_setup.setup_running()

    def execute(self, context):
        backend_setup.cancel_setup()
        background.tick()
        return {"FINISHED"}
