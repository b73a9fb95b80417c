from pathlib import Path

import bpy

from .. import compat, generation, strips
from ..core.shots import Shot, chain_shot
from ..core.takes import new_group, plan_takes
from ..core.user_error import UserError, backend_errors_as_user_errors, reports_user_errors
from ..mpd_backend.contract.job_folder import END_IMAGE, START_IMAGE, read_request
from .generate import scene_shot

# What a re-run takes from the strip's record instead of the panel; the worker's options (model,
# device, precision) stay the preferences': they describe this machine, not the shot.
RECORDED_OPTIONS = ("engine", "sampler", "steps", "width", "height", "num_frames", "fps", "motion_bucket_id",
                    "noise_aug_strength", "decode_chunk_size", "rife_scale")


def recorded_keys(record: dict) -> list[tuple[int, str]]:
    """The key images of a strip's job (its request's), the job folder's own copy standing in for a
    first or last key whose file is gone. Raises UserError."""
    job = Path(record["job"])
    with backend_errors_as_user_errors():
        request = read_request(job)
    keys = [(key.frame, request.key_path(j, job)) for j, key in enumerate(request.keys)]
    copies = {0: job / START_IMAGE, len(keys) - 1: job / END_IMAGE}
    keys = [(frame, copies[j] if not path.is_file() and copies.get(j, path).is_file() else path) for j, (frame, path) in enumerate(keys)]
    missing = [str(path) for _, path in keys if not path.is_file()]
    if missing:
        raise UserError(f"A key image of this strip's job is gone: {missing[0]}.", "re-import the keys, then Generate")
    return [(frame, str(path)) for frame, path in keys]


def recorded_shot(record: dict) -> tuple[Shot, list[int]]:
    """The strip's shot again, at its recorded frames and keys whatever the panel says now: the 3D
    scene captured at its key frames (3D scene, markers), else the key images of its job. Returns
    (shot, frames to capture). Raises UserError."""
    name, frames = record.get("shot", ""), list(record["key_frames"])
    if record["source"] in ("SCENE", "MARKERS"):
        return scene_shot(frames, name), frames
    return chain_shot(name, recorded_keys(record)), []


def take_set(scene, strip) -> tuple[str, int]:
    """The take set a re-run of ``strip`` joins, and its next take number; a strip that is no take
    yet becomes take 1 of a new set."""
    record = strips.record_of(strip)
    if not record.get("take_group"):
        strips.mark_take(strip, new_group(), 1)
        record = strips.record_of(strip)
    takes = strips.take_strips(scene, record["take_group"])
    return record["take_group"], max(s[strips.RECORD_KEY]["take"] for s in takes) + 1


class MPD_OT_rerun(bpy.types.Operator):
    """Generate the active inbetween strip's shot again, as its record says (frames, keys, engine,
    sampler, steps, size, motion): new takes beside it, the newest playing. The 3D scene's keys are
    captured again (reused when the scene is unchanged)"""

    bl_idname = "mpd.rerun"
    bl_label = "Re-run Inbetween"
    bl_options = {"REGISTER"}

    new_seed: bpy.props.BoolProperty(
        name="New Seed", description="Draw a new seed for every take; off: the first take keeps the recorded seed",
        options={"SKIP_SAVE"},
    )

    @classmethod
    def poll(cls, context):
        return strips.poll_active_inbetween(cls, context) and generation.poll_idle(cls)

    @reports_user_errors(also=generation.show_failure)
    def execute(self, context):
        strip, variants = strips.active_inbetween(context), context.scene.mpd_inbetween.variants
        record = strips.record_of(strip)
        shot, frames = recorded_shot(record)
        overrides = {name: record.get(name) for name in RECORDED_OPTIONS}
        settled = generation.plan(context, [shot], record["source"], overrides=overrides)  # refused before the strip joins a take set
        group, first = take_set(compat.sequencer_scene(context), strip)
        settled.shots, note = plan_takes(shot, variants, record["engine"], None if self.new_seed else record["seed"],
                                         consecutive=False, group=group, first_take=first)  # the checked shot, with seeds
        generation.launch(context, settled, frames, note)
        takes = len(settled.shots)
        self.report({"INFO"}, f"Generating {shot.name} again ({takes} take{'s' if takes > 1 else ''})")
        if note:
            self.report({"WARNING"}, note)  # and again with the result
        return {"FINISHED"}
