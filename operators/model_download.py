import bpy

from .. import backend_setup
from ..core.user_error import reports_user_errors


class MPD_OT_model_download(bpy.types.Operator):
    """Download the model from Hugging Face into its cache, with progress (only when Blender's
    online access is allowed; a gated model needs its licence accepted and Log In to Hugging Face
    first, the token never stored in the .blend)"""

    bl_idname = "mpd.model_download"
    bl_label = "Download Model"
    bl_options = {"REGISTER", "INTERNAL"}

    @classmethod
    def poll(cls, context):
        if backend_setup.setup_running():
            cls.poll_message_set("An install or a download is running: wait for it, or cancel it")
            return False
        return backend_setup.poll_backend_ready(cls, context)

    @reports_user_errors
    def execute(self, context):
        backend_setup.start_download(context)
        return {"FINISHED"}
