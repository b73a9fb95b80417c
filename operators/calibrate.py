import bpy

from .. import backend_setup
from ..core.user_error import UserError


class MPD_OT_calibrate(bpy.types.Operator):
    """Time the model's UNet and VAE decode on this machine's device and precision (loads the model
    once, in the background), so that the panel can say what each job will cost before it runs"""

    bl_idname = "mpd.calibrate"
    bl_label = "Calibrate"
    bl_options = {"REGISTER"}

    def execute(self, context):
        try:
            backend_setup.calibrate(context)
        except UserError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, "Calibrating in the background")
        return {"FINISHED"}
