from pathlib import Path

import bpy
from bpy.props import StringProperty

from .. import compat, generation, strips
from ..core.batch_import import batch_results
from ..core.user_error import UserError, reports_user_errors
from ..mpd_backend.contract.job_folder import JOB_MANIFEST


class MPD_OT_import_batch(bpy.types.Operator):
    """Import every complete shot of a farm batch as its strip, at its keys' frames; incomplete
    shots are counted and left, and a shot already on the timeline is not imported again"""

    bl_idname = "mpd.import_batch"
    bl_label = "Import Batch Results"
    bl_options = {"REGISTER", "UNDO"}  # one undo removes the strips

    filepath: StringProperty(name="Batch", description="The batch's batch.json", subtype="FILE_PATH")
    filter_glob: StringProperty(default="batch.json", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        return generation.poll_idle(cls)

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    @reports_user_errors
    def execute(self, context):
        scene = compat.sequencer_scene(context)
        results = batch_results(Path(bpy.path.abspath(self.filepath)))
        imported, present, failed = 0, 0, []
        for folder in results.complete:
            if strips.job_strip(scene, str(folder)) is not None:
                present += 1
                continue
            try:
                strips.import_job_strip(scene, folder / JOB_MANIFEST)
                imported += 1
            except UserError as exc:  # one shot's files gone: the others still come in
                failed.append(str(exc))
        self.report({"WARNING" if failed else "INFO"}, import_summary(imported, present, results.incomplete, failed))
        return {"FINISHED"}


def import_summary(imported: int, present: int, incomplete: list[str], failed: list[str]) -> str:
    text = f"Imported {imported} shots"
    if present:
        text += f", {present} already on the timeline"
    if incomplete:
        text += f"; {len(incomplete)} not complete yet ({', '.join(incomplete[:3])}{'...' if len(incomplete) > 3 else ''})"
    if failed:
        text += f"; {len(failed)} could not be imported: {failed[0]}"
    return text
