import bpy
from bpy.props import BoolProperty

from .. import generation
from ..core.shots import keyframe_frames, markers_in_use, plan_chain, plan_shots
from ..core.states import ShotStatus
from ..core.user_error import UserError, reports_user_errors


class MPD_OT_generate_markers(bpy.types.Operator):
    """Fill the frames between the timeline markers (the selected ones, or all) as one strip, exact at
    every marker and continuous through them; or one strip per gap. Each marker's frame is rendered
    once, in a background Blender, and a re-run reuses what is already done"""

    bl_idname = "mpd.generate_markers"
    bl_label = "Generate over Markers"
    bl_options = {"REGISTER"}

    selected_only: BoolProperty(
        name="Selected Markers Only", description="Only the selected markers, when at least two are selected", default=True
    )
    per_shot: BoolProperty(
        name="One Strip per Shot",
        description="A separate strip for each gap between consecutive markers, instead of one chain through them all",
        default=False,
    )

    @classmethod
    def poll(cls, context):
        return generation.poll_idle(cls)

    @reports_user_errors(also=generation.show_failure)
    def execute(self, context):
        scene = context.scene
        markers = markers_in_use([(m.name, m.frame, m.select) for m in scene.timeline_markers], self.selected_only)
        shots = plan_shots(markers) if self.per_shot else [plan_chain(markers)]
        frames = keyframe_frames(shots)
        if not frames:
            raise UserError("Every pair of markers is adjacent: there is no frame to fill.")
        generation.start(context, shots, "MARKERS", frames, resume=True)
        runnable = sum(s.status == ShotStatus.QUEUED for s in shots)
        what = f"{runnable} shots queued" if self.per_shot else f"one chain through {len(frames)} markers queued"
        self.report({"INFO"}, f"Markers: {what} (their {len(frames)} keys render in the background)")
        return {"FINISHED"}
