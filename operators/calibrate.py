import bpy

from .. import backend_setup, generation
from ..core.user_error import reports_user_errors


class MPD_OT_calibrate(bpy.types.Operator):
    """Time the model's UNet and VAE decode on this machine's device and precision (loads the model
    once, in the background, after releasing an idle backend so that two copies never share the
    memory), so that the panel can say what each job will cost before it runs"""

    bl_idname = "mpd.calibrate"
    bl_label = "Calibrate"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        if backend_setup.background.registry.running(backend_setup.CalibrateTask.kind):
            cls.poll_message_set("A calibration is running")
            return False
        return generation.poll_idle(cls) and backend_setup.poll_backend_ready(cls, context)

    @reports_user_errors
    def execute(self, context):
        released = generation.release_worker()
        backend_setup.calibrate(context)
        self.report({"INFO"}, "Calibrating in the background" + (" (the idle backend was released)" if released else ""))
        return {"FINISHED"}
