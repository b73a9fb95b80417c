import json

import bpy
from bpy.props import IntProperty, StringProperty

from ..core.shots import ShotError
from ..strips import import_job_strip


class MPD_OT_import_job(bpy.types.Operator):
    """Import a complete job folder's frames as an image strip on the first free channel"""

    bl_idname = "mpd.import_job"
    bl_label = "Import Inbetween Job"
    bl_options = {"REGISTER", "UNDO"}  # one undo removes the strip

    manifest: StringProperty(name="Manifest", subtype="FILE_PATH")
    scene: StringProperty(name="Scene", description="The sequencer's scene; empty: the active one")
    frame_start: IntProperty(name="Start Frame", default=1)
    name: StringProperty(name="Strip Name", default="Inbetween")
    record: StringProperty(name="Record", description="The job's parameters as JSON, kept on the strip", default="{}")

    def execute(self, context):
        from .. import compat

        scene = bpy.data.scenes.get(self.scene) if self.scene else compat.sequencer_scene(context)
        if scene is None:
            self.report({"ERROR"}, f"The scene {self.scene!r} no longer exists: nothing was imported.")
            return {"CANCELLED"}
        try:
            strip = import_job_strip(scene, self.manifest, self.frame_start, self.name, json.loads(self.record))
        except ShotError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Imported {strip.name} on channel {strip.channel}")
        return {"FINISHED"}
