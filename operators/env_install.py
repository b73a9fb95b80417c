import bpy

from .. import backend_setup, background, generation
from ..core.user_error import reports_user_errors


class MPD_OT_env_install(bpy.types.Operator):
    """Create or update the managed backend environment: a virtual environment of its own with the
    backend's pinned requirements for the chosen accelerator, checked by the doctor (never Blender's
    own Python)"""

    bl_idname = "mpd.env_install"
    bl_label = "Install Backend Environment"
    bl_options = {"REGISTER", "INTERNAL"}

    @classmethod
    def poll(cls, context):
        return not background.registry.running(backend_setup.InstallTask.kind) and not generation.busy()

    @reports_user_errors
    def execute(self, context):
        task = backend_setup.install(context)
        self.report({"INFO"}, f"Installing the backend environment in {task.installer.folder}")
        return {"FINISHED"}
