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
        if generation.running_worker() is None:
            cls.poll_message_set("The backend is not running")
            return False
        return generation.poll_idle(cls)

    def execute(self, context):
        generation.release_worker()
        self.report({"INFO"}, "Backend released")
        return {"FINISHED"}
