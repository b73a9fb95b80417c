import bpy

from .. import backend_setup
from ..core.user_error import reports_user_errors


class MPD_OT_model_download(bpy.types.Operator):
    """Download the model from Hugging Face into its cache, with progress (only when Blender's
    online access is allowed; a gated model needs HF_TOKEN or a Hugging Face login, never stored in
    the .blend)"""

    bl_idname = "mpd.model_download"
    bl_label = "Download Model"
    bl_options = {"REGISTER", "INTERNAL"}

    @classmethod
    def poll(cls, context):
        return not backend_setup.setup_running()

    @reports_user_errors
    def execute(self, context):
        backend_setup.start_download(context)
        return {"FINISHED"}
