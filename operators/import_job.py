import bpy
from bpy.props import StringProperty

from .. import compat
from ..core.user_error import reports_user_errors
from ..strips import import_job_strip


class MPD_OT_import_job(bpy.types.Operator):
    """Import a complete job folder's frames as an image strip at its keys' frames, on the first
    free channel"""

    bl_idname = "mpd.import_job"
    bl_label = "Import Inbetween Job"
    bl_options = {"REGISTER", "UNDO"}  # one undo removes the strip

    manifest: StringProperty(name="Manifest", subtype="FILE_PATH")

    @reports_user_errors
    def execute(self, context):
        strip = import_job_strip(compat.sequencer_scene(context), bpy.path.abspath(self.manifest))
        self.report({"INFO"}, f"Imported {strip.name} on channel {strip.channel}")
        return {"FINISHED"}
