import bpy

from .. import backend_setup
from ..core.user_error import reports_user_errors


class MPD_OT_calibrate(bpy.types.Operator):
    """Time the model's UNet and VAE decode on this machine's device and precision (loads the model
    once, in the background), so that the panel can say what each job will cost before it runs"""

    bl_idname = "mpd.calibrate"
    bl_label = "Calibrate"
    bl_options = {"REGISTER"}

    @reports_user_errors
    def execute(self, context):
        backend_setup.calibrate(context)
        self.report({"INFO"}, "Calibrating in the background")
        return {"FINISHED"}
