from pathlib import Path

import bpy

from .. import compat, generation
from ..core.shots import Shot, chain_shot, check_gap
from ..core.takes import plan_takes
from ..core.user_error import reports_user_errors
from ..keyframes import file_keyframes, scene_chain_frames, strip_keyframes


def scene_shot(frames: list[int], name: str) -> Shot:
    """A shot through the 3D scene at ``frames``; its keys come from the capture."""
    return chain_shot(name, [(frame, "") for frame in frames])


def shot_from_settings(context) -> tuple[Shot, list[int]]:
    """The shot the panel describes, and the 3D scene's frames to capture for it (none when its
    keys are images already). Raises UserError."""
    settings = context.scene.mpd_inbetween
    frame_a, frame_b, name = settings.frame_a, settings.frame_b, settings.shot_name
    if settings.source == "SCENE":
        frames = scene_chain_frames(context)[0] if settings.chain else []
        frames = frames or [frame_a, frame_b]
        return scene_shot(frames, name or f"{context.scene.name}_{frames[0]}-{frames[-1]}"), frames
    if settings.source == "STRIPS":
        keys, strip_shot = strip_keyframes(compat.sequencer_scene(context))
        return chain_shot(name or strip_shot, keys), []
    start, end = file_keyframes(settings)
    name = name or f"{Path(start).stem}-{Path(end).stem}"
    check_gap(frame_a, frame_b)
    return Shot(name, frame_a, frame_b, start, end), []


class MPD_OT_generate(bpy.types.Operator):
    """Generate the inbetweens through the panel's keys on the backend worker and import them as a
    strip; the 3D scene's keys render in a background Blender first. Cancel in the panel or the
    status bar"""

    bl_idname = "mpd.generate"
    bl_label = "Generate Inbetweens"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return generation.poll_idle(cls)

    @reports_user_errors(also=generation.show_failure)
    def execute(self, context):
        settings = context.scene.mpd_inbetween
        shot, frames = shot_from_settings(context)
        shots, note = plan_takes(shot, settings.variants, generation.engine_in_use(context),
                                 None if settings.random_seed else settings.seed, consecutive=not settings.random_seed)
        generation.start(context, shots, settings.source, frames, note=note)
        keys = f", its {len(frames)} keys rendering in the background" if generation.busy() and frames else ""
        takes = f" ({len(shots)} takes)" if len(shots) > 1 else ""
        self.report({"INFO"}, f"Generating {shot.frame_b - shot.frame_a + 1} frames for {shot.name}{takes}{keys}")
        if note:
            self.report({"WARNING"}, note)  # and again with the result
        return {"FINISHED"}
