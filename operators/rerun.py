from pathlib import Path

import bpy

from .. import compat, generation
from ..core.shots import chain_shot
from ..core.user_error import UserError, backend_errors_as_user_errors, reports_user_errors
from ..mpd_backend.contract.job_folder import END_IMAGE, START_IMAGE, read_request
from ..strips import RECORD_KEY
from .generate import scene_shot


def active_record(context):
    editor = compat.sequence_editor(compat.sequencer_scene(context), create=False)
    strip = editor.active_strip if editor else None
    return strip.get(RECORD_KEY) if strip else None


def chain_from_record(context, record):
    """A chain strip's shot again: the 3D scene captured at its keys (3D scene, markers), else the
    key images its job request names. Returns (shot, frames to capture). Raises UserError."""
    name, frames = record.get("shot", ""), list(record["key_frames"])
    if record["source"] in ("SCENE", "MARKERS"):
        return scene_shot(frames, name), frames
    with backend_errors_as_user_errors():
        request = read_request(Path(record["job"]))
    keys = [(key.frame, str(request.key_path(j, Path(record["job"])))) for j, key in enumerate(request.keys)]
    missing = [path for _, path in keys if not Path(path).is_file()]
    if missing:
        raise UserError(f"A key image of this chain is gone: {missing[0]}.")
    return chain_shot(name, keys), []


class MPD_OT_rerun(bpy.types.Operator):
    """Generate the active inbetween strip's shot again with the parameters it records: the 3D scene's
    keys are captured again (reused when the scene is unchanged); storyboard and file keyframes come
    from its job folder"""

    bl_idname = "mpd.rerun"
    bl_label = "Re-run Inbetween"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        if active_record(context) is None:
            cls.poll_message_set("Make an inbetween strip the active strip in the sequencer (one this add-on imported)")
            return False
        return generation.poll_idle(cls)

    def restore_settings(self, context) -> None:
        record = active_record(context)
        settings = context.scene.mpd_inbetween
        settings.frame_a, settings.frame_b = record["frame_a"], record["frame_b"]
        settings.sampler, settings.seed = record["sampler"], record["seed"]
        settings.steps = record.get("steps", 0)
        settings.width, settings.height = record.get("width", 0), record.get("height", 0)
        settings.shot_name = record.get("shot", "")
        if record["source"] == "SCENE":
            settings.source = "SCENE"
        else:
            job = Path(record["job"])
            settings.source = "FILES"
            settings.start_image, settings.end_image = str(job / START_IMAGE), str(job / END_IMAGE)

    @reports_user_errors(also=generation.show_failure)
    def run_chain(self, context) -> set:
        record = active_record(context)
        shot, frames = chain_from_record(context, record)
        generation.start(context, [shot], record["source"], frames)
        self.report({"INFO"}, f"Generating the chain {shot.name} again ({len(shot.key_frames)} keys)")
        return {"FINISHED"}

    def execute(self, context):
        self.restore_settings(context)
        if len(active_record(context).get("key_frames", ())) > 2:
            return self.run_chain(context)
        return bpy.ops.mpd.generate()
