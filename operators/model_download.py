import bpy

from .. import environment
from ..core.backend_process import BackendMissing


class MPD_OT_model_download(bpy.types.Operator):
    """Download the model from Hugging Face into its cache, with progress (only when Blender's
    online access is allowed; a gated model needs HF_TOKEN or a Hugging Face login, never stored in
    the .blend)"""

    bl_idname = "mpd.model_download"
    bl_label = "Download Model"
    bl_options = {"REGISTER", "INTERNAL"}

    @classmethod
    def poll(cls, context):
        return not environment.is_downloading() and not environment.is_installing()

    def execute(self, context):
        try:
            environment.start_download(context)
        except BackendMissing as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return {"FINISHED"}
