import bpy
from bpy.props import StringProperty

from .. import backend_setup
from ..core.user_error import UserError, reports_user_errors


class MPD_OT_hf_login(bpy.types.Operator):
    """Keep your Hugging Face access token where the hub client finds it (never in the .blend or
    Blender's preferences), so that a gated model such as SVD-XT downloads once its licence is
    accepted on the model's page"""

    bl_idname = "mpd.hf_login"
    bl_label = "Log In to Hugging Face"
    bl_options = {"INTERNAL"}  # not REGISTER: the token never enters the operator history

    token: StringProperty(name="Access Token", description="A read token from your Hugging Face settings (Access Tokens)",
                          subtype="PASSWORD", options={"SKIP_SAVE"})

    @classmethod
    def poll(cls, context):
        if backend_setup.background.registry.running(backend_setup.LoginTask.kind):
            cls.poll_message_set("A log-in is already running")
            return False
        return True

    def invoke(self, context, event):
        return context.window_manager.invoke_props_dialog(self, width=420)

    @reports_user_errors
    def execute(self, context):
        token, self.token = self.token, ""
        if not token.strip():
            raise UserError("Paste an access token first.", "create one in your Hugging Face settings, under Access Tokens")
        backend_setup.log_in(context, token)
        self.report({"INFO"}, "Saving the Hugging Face token")
        return {"FINISHED"}
