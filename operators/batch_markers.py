import tempfile
from pathlib import Path

import bpy
from bpy.props import BoolProperty

from .. import generation
from ..core.shots import keyframe_frames, markers_in_use, plan_shots
from ..core.states import ShotStatus
from ..core.user_error import UserError
from ..keyframes import render_scene_frames


class MPD_OT_batch_markers(bpy.types.Operator):
    """Fill every gap between consecutive timeline markers (the selected ones, or all) in one run:
    each marker's frame is rendered once, the worker keeps the model loaded for every shot, and a
    re-run reuses the shots already done"""

    bl_idname = "mpd.batch_markers"
    bl_label = "Batch over Markers"
    bl_options = {"REGISTER"}

    selected_only: BoolProperty(
        name="Selected Markers Only", description="Only the selected markers, when at least two are selected", default=True
    )

    @classmethod
    def poll(cls, context):
        return not generation.busy()

    def execute(self, context):
        scene = context.scene
        markers = markers_in_use([(m.name, m.frame, m.select) for m in scene.timeline_markers], self.selected_only)
        staging = None
        try:
            shots = plan_shots(markers)
            frames = keyframe_frames(shots)
            if not frames:
                raise UserError("Every pair of markers is adjacent: there is no frame to fill.")
            staging = tempfile.mkdtemp(prefix="mpd_batch_keyframes_")
            renders = render_scene_frames(scene, frames, Path(staging))
            for shot in shots:
                shot.start_image, shot.end_image = renders.get(shot.frame_a, ""), renders.get(shot.frame_b, "")
            generation.start(context, shots, "MARKERS", staging, resume=True)
        except UserError as exc:
            generation.show_failure(context, exc, staging)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        runnable = sum(s.status == ShotStatus.QUEUED for s in shots)
        self.report({"INFO"}, f"Batch: {runnable} shots queued ({len(frames)} keyframes rendered)")
        return {"FINISHED"}
