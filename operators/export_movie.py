import bpy

from .. import strip_export, strips
from ..core.strip_frames import movie_path
from ..core.user_error import reports_user_errors


class MPD_OT_export_movie(bpy.types.Operator):
    """Write the active inbetween strip as an MP4 movie (H.264, the scene's frame rate) with Blender's
    own FFmpeg output, in a background Blender; an existing file is never overwritten"""

    bl_idname = "mpd.export_movie"
    bl_label = "Export Movie"
    bl_options = {"REGISTER"}

    filepath: bpy.props.StringProperty(name="File", subtype="FILE_PATH", options={"SKIP_SAVE"})
    filter_glob: bpy.props.StringProperty(default="*.mp4", options={"HIDDEN", "SKIP_SAVE"})
    check_existing: bpy.props.BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})

    @classmethod
    def poll(cls, context):
        return strips.poll_active_inbetween(cls, context)

    def invoke(self, context, event):
        strip = strips.active_inbetween(context)
        self.filepath = str(movie_path(strips.record_of(strip)["job"], strip.name))
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    @reports_user_errors
    def execute(self, context):
        strip = strips.active_inbetween(context)
        path = self.filepath or str(movie_path(strips.record_of(strip)["job"], strip.name))
        task = strip_export.export_movie(context.scene, strip, bpy.path.abspath(path))
        self.report({"INFO"}, f"Writing {strip.name} to {task.path} in the background")
        return {"FINISHED"}
