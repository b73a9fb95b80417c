import tempfile
from pathlib import Path

import bpy
from bpy.props import BoolProperty

from .. import batch, jobs
from ..core.backend_process import BackendMissing
from ..core.batch import keyframe_frames, plan_shots
from ..core.shots import ShotError
from ..keyframes import render_scene_frames


class MPD_OT_batch_markers(bpy.types.Operator):
    """Fill every gap between consecutive timeline markers (the selected ones, or all) in one run:
    each marker's frame is rendered once, one worker loads the model once, and a re-run reuses the
    shots already done"""

    bl_idname = "mpd.batch_markers"
    bl_label = "Batch over Markers"
    bl_options = {"REGISTER"}

    selected_only: BoolProperty(
        name="Selected Markers Only", description="Only the selected markers, when at least two are selected", default=True
    )

    @classmethod
    def poll(cls, context):
        return not jobs.busy()

    def execute(self, context):
        scene = context.scene
        markers = [(m.name, m.frame) for m in scene.timeline_markers]
        selected = [(m.name, m.frame) for m in scene.timeline_markers if m.select]
        if self.selected_only and len({f for _, f in selected}) >= 2:
            markers = selected
        staging = None
        try:
            shots = plan_shots(markers)
            frames = keyframe_frames(shots)
            if not frames:
                raise ShotError("Every pair of markers is adjacent: there is no frame to fill.")
            staging = tempfile.mkdtemp(prefix="mpd_batch_keyframes_")
            keyframes = render_scene_frames(scene, frames, Path(staging))
            batch.start(context, shots, keyframes, staging)
        except (ShotError, BackendMissing) as exc:
            if staging:
                import shutil

                shutil.rmtree(staging, ignore_errors=True)
            state = jobs.job_state(context)
            state.state, state.message, state.hint = "FAILED", str(exc), ""
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        runnable = sum(s.status == "queued" for s in shots)
        self.report({"INFO"}, f"Batch: {runnable} shots queued ({len(frames)} keyframes rendered)")
        return {"FINISHED"}
