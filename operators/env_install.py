import bpy

from .. import environment, jobs
from ..core.backend_process import BackendMissing


class MPD_OT_env_install(bpy.types.Operator):
    """Create or update the managed backend environment: a virtual environment of its own with the
    backend's pinned requirements for the chosen accelerator, checked by the doctor (never Blender's
    own Python)"""

    bl_idname = "mpd.env_install"
    bl_label = "Install Backend Environment"
    bl_options = {"REGISTER", "INTERNAL"}

    @classmethod
    def poll(cls, context):
        return not environment.is_installing() and not jobs.busy()

    def execute(self, context):
        try:
            installer = environment.install(context)
        except BackendMissing as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Installing the backend environment in {installer.folder}")
        return {"FINISHED"}
