import bpy

from .. import strip_export, strips
from ..core.user_error import reports_user_errors


class MPD_OT_camera_background(bpy.types.Operator):
    """Show the active inbetween strip's frames on the active camera's background in the 3D view, frame
    for frame with the strip's place on the timeline"""

    bl_idname = "mpd.camera_background"
    bl_label = "Use as Camera Background"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return strips.poll_active_inbetween(cls, context)

    @reports_user_errors
    def execute(self, context):
        strip = strips.active_inbetween(context)
        camera = strip_export.use_as_camera_background(context.scene, strip)
        self.report({"INFO"}, f"{strip.name} is on {camera.name}'s background from frame {strip.frame_final_start}: "
                              "look through the camera (Numpad 0)")
        return {"FINISHED"}
