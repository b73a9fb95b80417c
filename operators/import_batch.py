from pathlib import Path

import bpy
from bpy.props import StringProperty

from .. import compat, strips
from ..core.batch_import import batch_results
from ..core.user_error import UserError


class MPD_OT_import_batch(bpy.types.Operator):
    """Import every complete shot of a farm batch as its strip, at its keys' frames; incomplete
    shots are counted and left, and a shot already on the timeline is not imported again"""

    bl_idname = "mpd.import_batch"
    bl_label = "Import Batch Results"
    bl_options = {"REGISTER", "UNDO"}  # one undo removes the strips

    filepath: StringProperty(name="Batch", description="The batch's batch.json", subtype="FILE_PATH")
    filter_glob: StringProperty(default="batch.json", options={"HIDDEN"})

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        scene = compat.sequencer_scene(context)
        imported = present = 0
        try:
            results = batch_results(Path(bpy.path.abspath(self.filepath)))
            for folder in results.complete:
                if strips.job_strip(scene, str(folder)) is not None:
                    present += 1
                    continue
                strips.import_job_strip(scene, folder / "manifest.json")
                imported += 1
        except UserError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"} if not imported else {"FINISHED"}
        text = f"Imported {imported} shots"
        if present:
            text += f", {present} already on the timeline"
        if results.incomplete:
            text += f"; {len(results.incomplete)} not complete yet ({', '.join(results.incomplete[:3])}{'...' if len(results.incomplete) > 3 else ''})"
        self.report({"INFO"}, text)
        return {"FINISHED"}
