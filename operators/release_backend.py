import bpy

from .. import generation


class MPD_OT_release_backend(bpy.types.Operator):
    """End the backend worker now and free its memory (GPU memory included); the next Generate
    starts it again and loads the model anew"""

    bl_idname = "mpd.release_backend"
    bl_label = "Release Backend"
    bl_options = {"REGISTER", "INTERNAL"}

    @classmethod
    def poll(cls, context):
        return generation.running_worker() is not None and not generation.busy()

    def execute(self, context):
        generation.release_worker()
        self.report({"INFO"}, "Backend released")
        return {"FINISHED"}
