import bpy

from ..props import reset_motion


class MPD_OT_motion_reset(bpy.types.Operator):
    """Set Motion Amount, Noise Augmentation and FPS Conditioning back to the chosen sampler's defaults"""

    bl_idname = "mpd.motion_reset"
    bl_label = "Reset Motion"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        reset_motion(context.scene.mpd_inbetween)
        return {"FINISHED"}
