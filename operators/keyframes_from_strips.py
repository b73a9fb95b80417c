import bpy

from .. import compat
from ..core.user_error import reports_user_errors
from ..keyframes import strip_keyframes


class MPD_OT_keyframes_from_strips(bpy.types.Operator):
    """Use the selected image strips as storyboard keyframes: the gaps between them are filled (more
    than two make one chain)"""

    bl_idname = "mpd.keyframes_from_strips"
    bl_label = "Keyframes from Strips"
    bl_options = {"REGISTER", "UNDO"}

    @reports_user_errors
    def execute(self, context):
        settings = context.scene.mpd_inbetween
        keys, shot = strip_keyframes(compat.sequencer_scene(context))
        settings.source = "STRIPS"
        (frame_a, start), (frame_b, end) = keys[0], keys[-1]
        settings.start_image, settings.end_image = start, end
        settings.frame_a, settings.frame_b = frame_a, frame_b
        settings.shot_name = shot
        self.report({"INFO"}, f"Keyframes {', '.join(str(f) for f, _ in keys)} from the strips {shot}")
        return {"FINISHED"}
