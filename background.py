"""The add-on's one timer and its one registry of background tasks (``core.tasks``): the worker,
a generation, an install, the doctor, a download.

``bpy.app.timers`` only fire inside Blender's event loop; headless tests call ``tick()`` directly.
"""

from __future__ import annotations

import bpy

from .core.tasks import Task, TaskRegistry
from .mpd_backend.contract.protocol import with_hint

TICK_S = 0.2
IDLE_TICK_S = 1.0  # only an idle worker is left: watch it for its exit, slowly
REDRAW_AREAS = {"SEQUENCE_EDITOR", "VIEW_3D", "STATUSBAR", "PREFERENCES"}

registry = TaskRegistry()


def start(task: Task) -> Task:
    """Add a task and make sure the timer runs."""
    registry.add(task)
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=TICK_S)
    return task


def tick():
    """Advance every task; the next interval, or None once nothing is left (the timer ends)."""
    left = registry.tick()
    redraw()
    if not left:
        return None
    return IDLE_TICK_S if all(t.idle for t in registry.tasks) else TICK_S


def redraw() -> None:
    wm = bpy.context.window_manager
    for window in getattr(wm, "windows", []):
        for area in window.screen.areas:
            if area.type in REDRAW_AREAS:
                area.tag_redraw()


def report(level: str, message: str, hint: str = "") -> None:
    """The end of a long action that no operator waits on any more (a capture, a generation, a
    download, a calibration): one line in the status bar and the Info log, like an operator's."""
    text = with_hint(message, hint)
    try:
        bpy.ops.mpd.report(level=level, message=text)
    except (RuntimeError, AttributeError) as exc:  # bpy.ops raises on an error report, after showing it
        if text not in str(exc):  # not shown: no window to report in (unregistering, a timer without one)
            print(f"MPD Inbetween: {text}")


def draw_status(self, context):
    """Status bar: the running capture's or generation's progress, and its Cancel."""
    state = context.window_manager.mpd_job
    if state.state == "RUNNING":
        self.layout.progress(factor=state.progress, type="BAR", text=f"Inbetween: {state.message}")
        self.layout.operator("mpd.cancel", text="", icon="CANCEL")


def register():
    bpy.types.STATUSBAR_HT_header.append(draw_status)


def unregister():
    """Leave nothing behind: every task's processes, the timer and the status-bar drawing."""
    registry.stop_all()
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
    bpy.types.STATUSBAR_HT_header.remove(draw_status)
