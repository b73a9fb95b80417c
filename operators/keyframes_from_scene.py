import bpy

from ..keyframes import auto_scene_frames


class MPD_OT_keyframes_from_scene(bpy.types.Operator):
    """Use frames A and B of the 3D scene: the active object's keys around the current frame, else the
    preview range, else the frame numbers given"""

    bl_idname = "mpd.keyframes_from_scene"
    bl_label = "Keyframes from Scene"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        settings = context.scene.mpd_inbetween
        settings.frame_a, settings.frame_b, why = auto_scene_frames(context)
        settings.source = "SCENE"
        self.report({"INFO"}, f"Keyframes {settings.frame_a} and {settings.frame_b} ({why})")
        return {"FINISHED"}
