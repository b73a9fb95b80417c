import bpy
from bpy.props import EnumProperty, StringProperty


class MPD_OT_report(bpy.types.Operator):
    """Report the end of a long background action in the status bar and the Info log"""

    bl_idname = "mpd.report"
    bl_label = "Report"
    bl_options = {"INTERNAL"}

    level: EnumProperty(items=(("INFO", "Info", ""), ("WARNING", "Warning", ""), ("ERROR", "Error", "")), options={"SKIP_SAVE"})
    message: StringProperty(options={"SKIP_SAVE"})

    def execute(self, context):
        self.report({self.level}, self.message)
        return {"FINISHED"}
