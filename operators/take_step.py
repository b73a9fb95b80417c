import bpy

from .. import compat, strips
from ..core.takes import stepped_take

TAKE_NEEDED = "Make a strip with other takes the active strip (Variants above 1, or a Re-run of it)"


def takes_of_active(context) -> list:
    """The take set of the active inbetween strip (empty when it is no take)."""
    record = strips.record_of(strips.active_inbetween(context)) or {}
    group = record.get("take_group")
    return strips.take_strips(compat.sequencer_scene(context), group) if group else []


class MPD_OT_take_step(bpy.types.Operator):
    """Play the next take of the active strip's shot: it is unmuted and made active, the other takes muted"""

    bl_idname = "mpd.take_step"
    bl_label = "Next Take"
    bl_options = {"REGISTER", "UNDO"}

    step: bpy.props.IntProperty(name="Step", description="1: the next take; -1: the previous one", default=1, options={"SKIP_SAVE"})

    @classmethod
    def poll(cls, context):
        if len(takes_of_active(context)) < 2:
            cls.poll_message_set(TAKE_NEEDED)
            return False
        return True

    @classmethod
    def description(cls, context, properties):
        return "Play the previous take of the active strip's shot" if properties.step < 0 else cls.__doc__

    def execute(self, context):
        takes = takes_of_active(context)
        playing = next((s for s in takes if not s.mute), strips.active_inbetween(context))
        number = stepped_take([s[strips.RECORD_KEY]["take"] for s in takes], playing[strips.RECORD_KEY]["take"], self.step)
        shown = next(s for s in takes if s[strips.RECORD_KEY]["take"] == number)
        strips.show_take(compat.sequencer_scene(context), shown)
        self.report({"INFO"}, f"Playing {shown.name} ({takes.index(shown) + 1} of {len(takes)})")
        return {"FINISHED"}
