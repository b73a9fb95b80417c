from pathlib import Path

import bpy

from .. import compat
from ..mpd_backend.protocol import END_IMAGE, START_IMAGE
from ..strips import RECORD_KEY


def active_record(context):
    editor = compat.sequence_editor(compat.sequencer_scene(context), create=False)
    strip = editor.active_strip if editor else None
    return strip.get(RECORD_KEY) if strip else None


class MPD_OT_rerun(bpy.types.Operator):
    """Generate the active inbetween strip's shot again with the parameters it records: the 3D scene
    is rendered anew; storyboard and file keyframes come from its job folder"""

    bl_idname = "mpd.rerun"
    bl_label = "Re-run Inbetween"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return active_record(context) is not None

    def restore_settings(self, context) -> None:
        record = active_record(context)
        settings = context.scene.mpd_inbetween
        settings.frame_a, settings.frame_b = record["frame_a"], record["frame_b"]
        settings.sampler, settings.seed = record["sampler"], record["seed"]
        settings.steps = record.get("steps", 0)
        settings.width, settings.height = record.get("width", 0), record.get("height", 0)
        settings.shot_name = record.get("shot", "")
        if record["source"] == "SCENE":
            settings.source = "SCENE"
        else:
            job = Path(record["job"])
            settings.source = "FILES"
            settings.start_image, settings.end_image = str(job / START_IMAGE), str(job / END_IMAGE)

    def execute(self, context):
        self.restore_settings(context)
        return bpy.ops.mpd.generate()

    def invoke(self, context, event):
        self.restore_settings(context)
        return bpy.ops.mpd.generate("INVOKE_DEFAULT")
