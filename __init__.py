"""MPD Inbetween: generate the frames between two keyframes as a strip in the Video Sequence Editor.

Register and unregister only. The bpy modules are imported here, inside register(), so that the
package's bpy-free parts (core/, mpd_backend/) import without Blender.
"""


def _modules():
    from . import backend_setup, background, capture, operators, panels, preferences, props

    return (preferences, props, operators, panels, background, capture, backend_setup)  # dependency order


def register():
    for module in _modules():
        module.register()


def unregister():
    for module in reversed(_modules()):
        module.unregister()
