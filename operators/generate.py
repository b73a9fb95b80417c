import tempfile
from pathlib import Path

import bpy

from .. import compat, jobs
from ..core.backend_process import BackendMissing
from ..core.shots import ShotError, check_gap
from ..keyframes import file_keyframes, render_scene_frames, strip_keyframes


class MPD_OT_generate(bpy.types.Operator):
    """Generate the inbetweens between keyframes A and B in a separate backend process and import them
    as a strip (Esc cancels)"""

    bl_idname = "mpd.generate"
    bl_label = "Generate Inbetweens"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return not jobs.busy()

    def execute(self, context):
        try:
            self.start_job(context)
        except BackendMissing as exc:
            self.fail(context, f"{exc} Set it in Preferences > Add-ons > MPD Inbetween > Backend Python.")
            return {"CANCELLED"}
        except ShotError as exc:
            self.fail(context, str(exc))
            return {"CANCELLED"}
        return {"FINISHED"}

    def invoke(self, context, event):
        if self.execute(context) != {"FINISHED"}:
            return {"CANCELLED"}
        context.window_manager.modal_handler_add(self)  # only to catch Esc and report the end
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC" and event.value == "PRESS":
            jobs.cancel()
        if jobs.is_running():
            return {"PASS_THROUGH"}
        state = jobs.job_state(context)
        if state.state == "FAILED":
            self.report({"ERROR"}, state.message + (f" ({state.hint})" if state.hint else ""))
        elif state.message:
            self.report({"INFO"}, state.message)
        return {"FINISHED"}

    def fail(self, context, message):
        state = jobs.job_state(context)
        state.state, state.message, state.hint = "FAILED", message, ""
        self.report({"ERROR"}, message)

    def start_job(self, context):
        settings = context.scene.mpd_inbetween
        frame_a, frame_b, shot, staging = settings.frame_a, settings.frame_b, settings.shot_name, None
        if settings.source == "SCENE":
            check_gap(frame_a, frame_b)  # before rendering anything
            staging = tempfile.mkdtemp(prefix="mpd_keyframes_")
            try:
                renders = render_scene_frames(context.scene, (frame_a, frame_b), Path(staging))
            except BaseException:
                import shutil

                shutil.rmtree(staging, ignore_errors=True)
                raise
            start, end = renders[frame_a], renders[frame_b]
            shot = shot or f"{context.scene.name}_{frame_a}-{frame_b}"
        elif settings.source == "STRIPS":
            start, end, frame_a, frame_b, strip_shot = strip_keyframes(compat.sequencer_scene(context))
            shot = shot or strip_shot
        else:
            start, end = file_keyframes(settings)
            shot = shot or f"{Path(start).stem}-{Path(end).stem}"
        jobs.start(context, start_image=start, end_image=end, frame_a=frame_a, frame_b=frame_b, shot=shot, staging=staging)
        self.report({"INFO"}, f"Generating {frame_b - frame_a + 1} frames for {shot}")
