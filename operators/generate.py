from pathlib import Path

import bpy

from .. import compat, generation
from ..core.shots import Shot, chain_shot, check_gap
from ..core.user_error import reports_user_errors
from ..keyframes import file_keyframes, render_to_staging, scene_chain_frames, strip_keyframes
from ..mpd_backend.contract.protocol import with_hint


def scene_shot(context, frames: list[int], name: str) -> tuple[Shot, str]:
    """A shot through the 3D scene rendered at ``frames``, and the temporary folder of the renders."""
    shot = chain_shot(name, [(frame, "") for frame in frames])
    generation.check_shots(context, [shot])  # before rendering anything
    renders, staging = render_to_staging(context.scene, frames)
    shot.use_images(renders)
    return shot, staging


def shot_from_settings(context) -> tuple[Shot, str | None]:
    """The shot the panel describes, its keyframe images ready; and the temporary folder of scene
    renders, if any. Raises UserError."""
    settings = context.scene.mpd_inbetween
    frame_a, frame_b, name = settings.frame_a, settings.frame_b, settings.shot_name
    if settings.source == "SCENE":
        frames = scene_chain_frames(context)[0] if settings.chain else []
        frames = frames or [frame_a, frame_b]
        return scene_shot(context, frames, name or f"{context.scene.name}_{frames[0]}-{frames[-1]}")
    if settings.source == "STRIPS":
        keys, strip_shot = strip_keyframes(compat.sequencer_scene(context))
        return chain_shot(name or strip_shot, keys), None
    start, end = file_keyframes(settings)
    name = name or f"{Path(start).stem}-{Path(end).stem}"
    check_gap(frame_a, frame_b)
    return Shot(name, frame_a, frame_b, start, end), None


class MPD_OT_generate(bpy.types.Operator):
    """Generate the inbetweens through the panel's keys on the backend worker and import them as a
    strip (Esc cancels)"""

    bl_idname = "mpd.generate"
    bl_label = "Generate Inbetweens"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return not generation.busy()

    @reports_user_errors(also=generation.show_failure)
    def execute(self, context):
        shot, staging = shot_from_settings(context)
        generation.start(context, [shot], context.scene.mpd_inbetween.source, staging)
        self.report({"INFO"}, f"Generating {shot.frame_b - shot.frame_a + 1} frames for {shot.name}")
        return {"FINISHED"}

    def invoke(self, context, event):
        if self.execute(context) != {"FINISHED"}:
            return {"CANCELLED"}
        context.window_manager.modal_handler_add(self)  # only to catch Esc and report the end
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC" and event.value == "PRESS":
            generation.cancel()
        if generation.busy():
            return {"PASS_THROUGH"}
        state = generation.job_state(context)
        if state.state == "FAILED":
            self.report({"ERROR"}, with_hint(state.message, state.hint))
        elif state.message:
            self.report({"INFO"}, state.message)
        return {"FINISHED"}
