import bpy

from .. import compat, strips


class MPD_OT_take_keep(bpy.types.Operator):
    """Keep the active take of this shot and remove its other takes from the timeline (one undo brings
    them back; their job folders stay on disk)"""

    bl_idname = "mpd.take_keep"
    bl_label = "Keep This Take"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return strips.poll_active_inbetween(cls, context)

    def execute(self, context):
        strip = strips.active_inbetween(context)
        scene = compat.sequencer_scene(context)
        group = strips.record_of(strip).get("take_group")
        if not group or len(strips.take_strips(scene, group)) < 2:
            self.report({"INFO"}, f"{strip.name} is the only take of its shot: there is nothing else to remove")
            return {"CANCELLED"}
        name = strip.name
        removed = strips.keep_take(scene, strip)
        self.report({"INFO"}, f"Kept {name}; removed {removed} other take{'s' if removed > 1 else ''} (their folders stay)")
        return {"FINISHED"}
