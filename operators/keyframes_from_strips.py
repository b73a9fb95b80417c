import bpy

from .. import compat
from ..core.user_error import UserError
from ..keyframes import strip_keyframes


class MPD_OT_keyframes_from_strips(bpy.types.Operator):
    """Use the two selected image strips as storyboard keyframes: the gap between them is filled"""

    bl_idname = "mpd.keyframes_from_strips"
    bl_label = "Keyframes from Strips"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        settings = context.scene.mpd_inbetween
        try:
            start, end, frame_a, frame_b, shot = strip_keyframes(compat.sequencer_scene(context))
        except UserError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        settings.source = "STRIPS"
        settings.start_image, settings.end_image = start, end
        settings.frame_a, settings.frame_b = frame_a, frame_b
        settings.shot_name = shot
        self.report({"INFO"}, f"Keyframes {frame_a} and {frame_b} from the strips {shot}")
        return {"FINISHED"}
