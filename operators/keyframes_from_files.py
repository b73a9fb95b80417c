import bpy
from bpy.props import CollectionProperty, StringProperty
from bpy_extras.io_utils import ImportHelper


class MPD_OT_keyframes_from_files(bpy.types.Operator, ImportHelper):
    """Choose the start and end keyframes as two image files (select two, in order)"""

    bl_idname = "mpd.keyframes_from_files"
    bl_label = "Keyframes from Files"
    bl_options = {"REGISTER", "UNDO"}

    filter_glob: StringProperty(default="*.png;*.jpg;*.jpeg;*.tif;*.tiff;*.exr;*.webp", options={"HIDDEN"})
    files: CollectionProperty(type=bpy.types.OperatorFileListElement, options={"HIDDEN", "SKIP_SAVE"})
    directory: StringProperty(subtype="DIR_PATH", options={"HIDDEN", "SKIP_SAVE"})
    start_image: StringProperty(name="Start Image", subtype="FILE_PATH", options={"SKIP_SAVE"})
    end_image: StringProperty(name="End Image", subtype="FILE_PATH", options={"SKIP_SAVE"})

    def execute(self, context):
        import os

        paths = [self.start_image, self.end_image]
        if not all(paths):
            names = sorted(f.name for f in self.files if f.name)
            if len(names) != 2:
                self.report({"ERROR"}, f"Choose exactly two images ({len(names)} chosen).")
                return {"CANCELLED"}
            paths = [os.path.join(self.directory, name) for name in names]
        settings = context.scene.mpd_inbetween
        settings.source = "FILES"
        settings.start_image, settings.end_image = paths
        self.report({"INFO"}, f"Keyframes: {os.path.basename(paths[0])} to {os.path.basename(paths[1])}")
        return {"FINISHED"}
