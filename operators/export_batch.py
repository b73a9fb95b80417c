import shutil
from pathlib import Path

import bpy
from bpy.props import BoolProperty, StringProperty

from .. import generation, preferences
from ..core.shots import keyframe_frames, markers_in_use, new_job_folder, plan_shots
from ..core.states import ShotStatus
from ..core.user_error import UserError, backend_errors_as_user_errors, reports_user_errors
from ..keyframes import render_to_staging
from ..mpd_backend.contract.farm_batch import write_batch


class MPD_OT_export_batch(bpy.types.Operator):
    """Write the gaps between consecutive timeline markers as a batch folder for a render farm
    (Flamenco or Deadline Cloud): each marker's frame rendered once, one job folder per shot, and
    batch.json. Nothing is generated here"""

    bl_idname = "mpd.export_batch"
    bl_label = "Export Batch for Farm"
    bl_options = {"REGISTER"}

    directory: StringProperty(name="Folder", description="Where the new batch folder is made (default: the job folder location)",
                              subtype="DIR_PATH")
    selected_only: BoolProperty(
        name="Selected Markers Only", description="Only the selected markers, when at least two are selected", default=True
    )

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
        images, staging = render_to_staging(scene, keyframe_frames(shots), "mpd_farm_keyframes_")
        try:
            with backend_errors_as_user_errors():
                batch_file = write_batch(new_job_folder(root, f"{scene.name} farm batch"), images,
                                         [(s.name, s.frame_a, s.frame_b) for s in shots], generation.job_options(scene.mpd_inbetween, prefs),
                                         source="MARKERS")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self.report({"INFO"}, f"Batch of {len(shots)} shots for the farm (shot count {len(shots)}): {batch_file}")
        return {"FINISHED"}
