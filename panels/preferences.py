"""Drawing of the add-on's preferences."""


def draw_preferences(prefs, layout):
    layout.use_property_split = True
    col = layout.column(heading="Backend")
    col.prop(prefs, "backend_python")
    col.prop(prefs, "engine")
    col.prop(prefs, "model")
    col.prop(prefs, "device")
    col.prop(prefs, "dtype")
    col.prop(prefs, "low_vram")
    layout.prop(prefs, "output_dir")
