from pathlib import Path

import bpy
from bpy.props import BoolProperty, StringProperty

from .. import capture, generation, preferences
from ..core.shots import keyframe_frames, markers_in_use, new_job_folder, plan_shots
from ..core.states import JobState, ShotStatus
from ..core.user_error import UserError, backend_errors_as_user_errors, reports_user_errors
from ..mpd_backend.contract.farm_batch import write_batch


class MPD_OT_export_batch(bpy.types.Operator):
    """Write the gaps between consecutive timeline markers as a batch folder for a render farm
    (Flamenco or Deadline Cloud): each marker's frame rendered once in a background Blender, one job
    folder per shot, and batch.json. Nothing is generated here"""

    bl_idname = "mpd.export_batch"
    bl_label = "Export Batch for Farm"
    bl_options = {"REGISTER"}

    directory: StringProperty(name="Folder", description="Where the new batch folder is made (default: the job folder location)",
                              subtype="DIR_PATH")
    selected_only: BoolProperty(
        name="Selected Markers Only", description="Only the selected markers, when at least two are selected", default=True
    )

    @classmethod
    def poll(cls, context):
        return generation.poll_idle(cls)

    def invoke(self, context, event):
        if not self.directory:
            self.directory = str(generation.output_root(preferences.get(context)))
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    @reports_user_errors
    def execute(self, context):
        scene = context.scene
        markers = markers_in_use([(m.name, m.frame, m.select) for m in scene.timeline_markers], self.selected_only)
        prefs = preferences.get(context)
        root = generation.writable_root(Path(bpy.path.abspath(self.directory)) if self.directory else generation.output_root(prefs))
        shots = [s for s in plan_shots(markers) if s.status == ShotStatus.QUEUED]
        if not shots:
            raise UserError("Every pair of markers is adjacent: there is no frame to fill.")
        options = {**generation.job_options(scene.mpd_inbetween, prefs), "capture": capture.quick_capture(scene.mpd_inbetween).describe()}
        folder = new_job_folder(root, f"{scene.name} farm batch")

        def write(images: dict[int, str]) -> None:
            with backend_errors_as_user_errors():
                batch_file = write_batch(folder, images, [(s.name, s.frame_a, s.frame_b) for s in shots], options, source="MARKERS")
            capture.show_end(JobState.DONE, f"Batch of {len(shots)} shots for the farm: {batch_file}")

        capture.capture_keys(context, keyframe_frames(shots), write)
        self.report({"INFO"}, f"Exporting {len(shots)} shots for the farm (their keys render in the background)")
        return {"FINISHED"}
