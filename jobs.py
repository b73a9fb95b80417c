"""The running job: one backend process at a time, polled by a timer, imported when complete.

``bpy.app.timers`` only fire inside Blender's event loop; headless tests call ``tick()`` directly.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from .core.backend_process import BackendProcess, generate_command
from .core.shots import ShotError, check_gap, new_job_folder
from .environment import resolve_backend_python
from .mpd_backend.protocol import JOB_MANIFEST

TICK_S = 0.2
REDRAW_AREAS = {"SEQUENCE_EDITOR", "VIEW_3D", "STATUSBAR", "PREFERENCES"}


@dataclass
class RunningJob:
    process: BackendProcess
    folder: Path
    scene_name: str
    frame_a: int
    frames: int
    strip_name: str
    record: dict
    staging: str | None = None  # a temporary folder of rendered keyframes, removed at the end
    done: dict | None = None
    error: dict | None = None
    notes: list = field(default_factory=list)


_job: RunningJob | None = None


def is_running() -> bool:
    return _job is not None


def busy() -> bool:
    """A single job or a batch runs: only one at a time."""
    from . import batch

    return _job is not None or batch.is_running()


def job_state(context=None):
    return (context or bpy.context).window_manager.mpd_job


def output_root(prefs) -> Path:
    """Where job folders go: the preference, relative to the .blend; a temporary folder if unsaved."""
    directory = prefs.output_dir or "//inbetweens/"
    if directory.startswith("//") and not bpy.data.filepath:
        return Path(tempfile.gettempdir()) / "mpd_inbetween"
    return Path(bpy.path.abspath(directory))


def writable_root(root: Path) -> Path:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ShotError(f"Cannot create the job folder location {root}: {exc.strerror}.") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise ShotError(f"Cannot write job folders to {root}: it is read-only. Choose another folder in the preferences.")
    return root


def backend_options(settings, prefs) -> dict:
    """CLI flags for the backend from the scene's settings and the preferences."""
    return {
        "engine": prefs.engine,
        "sampler": settings.sampler,
        "seed": settings.seed,
        "steps": settings.steps or None,
        "width": settings.width or None,
        "height": settings.height or None,
        "model": bpy.path.abspath(prefs.model) if prefs.model.startswith("//") else prefs.model,
        "device": prefs.device,
        "dtype": prefs.dtype,
        "offload": prefs.low_vram,  # off: the backend decides (on for GPUs under 16 GB)
        "offline": prefs.offline or not getattr(bpy.app, "online_access", True),
    }


def start(context, *, start_image: str, end_image: str, frame_a: int, frame_b: int, shot: str, staging: str | None = None):
    """Start the backend on one shot. Raises ShotError or BackendMissing with a message for the user."""
    from . import preferences

    global _job
    if busy():
        raise ShotError("A job is already running: wait for it or cancel it.")
    prefs = preferences.get(context)
    settings = context.scene.mpd_inbetween
    frames = check_gap(frame_a, frame_b)
    python = resolve_backend_python(prefs)
    folder = new_job_folder(writable_root(output_root(prefs)), shot)
    options = backend_options(settings, prefs)
    command = generate_command(python, start_image, end_image, str(folder), frames, options)
    process = BackendProcess(command)
    record = {
        "job": str(folder),
        "shot": shot,
        "source": settings.source,
        "frame_a": frame_a,
        "frame_b": frame_b,
        **{k: v for k, v in options.items() if v is not None and v is not False},
    }
    from . import compat

    _job = RunningJob(process, folder, compat.sequencer_scene(context).name, frame_a, frames, f"Inbetween {shot}", record, staging)
    state = job_state(context)
    state.state, state.phase, state.progress = "RUNNING", "starting", 0.0
    state.message, state.hint, state.folder, state.strip_name = f"Starting the backend for {shot}", "", str(folder), ""
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=TICK_S)
    return _job


def cancel() -> bool:
    """Ask the running job to stop; ``tick`` ends the process tree if it does not within seconds."""
    if _job is None:
        return False
    _job.process.cancel()
    job_state().message = "Cancelling..."
    return True


def _apply(job: RunningJob, event: dict, state) -> None:
    kind = event.get("event")
    if kind == "progress":
        total = max(1, int(event.get("total", 1)))
        state.phase = event.get("phase", "")
        state.progress = min(1.0, int(event.get("step", 0)) / total)
        state.message = f"{state.phase} {event.get('step')}/{total}"
    elif kind == "log":
        if event.get("message", "").startswith("note: "):
            job.notes.append(event["message"].removeprefix("note: "))
    elif kind == "done":
        job.done = event
    elif kind == "error":
        job.error = event


def tick():
    """Poll the running job; returns the next interval, or None once nothing runs (the timer ends)."""
    global _job
    job = _job
    if job is None:
        return None
    state = job_state()
    for event in job.process.poll():
        _apply(job, event, state)
    redraw()
    if job.process.running():
        return TICK_S
    job.process.poll()
    _job = None
    _finish(job, state)
    redraw()
    return None


def _finish(job: RunningJob, state) -> None:
    if job.staging:
        shutil.rmtree(job.staging, ignore_errors=True)
    manifest = job.folder / JOB_MANIFEST
    if job.process.cancel_requested_at is not None:
        state.state, state.message, state.hint = "CANCELLED", "Cancelled: nothing was imported.", ""
    elif job.done is not None and manifest.is_file():
        problem = import_result(manifest, job.scene_name, job.frame_a, job.strip_name, job.record)
        if problem:
            state.state, state.message, state.hint = "FAILED", problem, ""
            return
        notes = f" Note: {'; '.join(job.notes)}." if job.notes else ""
        state.state, state.progress, state.strip_name = "DONE", 1.0, job.strip_name
        state.message, state.hint = f"{job.strip_name}: {job.frames} frames imported.{notes}", ""
    elif job.error is not None:
        state.state, state.message, state.hint = "FAILED", job.error.get("message", "The backend failed."), job.error.get("hint", "")
    else:
        state.state, state.hint = "FAILED", "see the system console for the backend's output"
        state.message = f"The backend stopped without finishing: {job.process.last_stderr()}"


def import_result(manifest: Path, scene_name: str, frame_a: int, strip_name: str, record: dict) -> str | None:
    """Import a finished job as a strip, as one undo step; the problem in words, or None."""
    try:
        bpy.ops.mpd.import_job(  # undo=True: Python calls push an undo step only when asked
            "EXEC_DEFAULT", True, manifest=str(manifest), scene=scene_name, frame_start=frame_a, name=strip_name,
            record=json.dumps(record),
        )
    except RuntimeError as exc:  # the operator's own report, e.g. a folder removed meanwhile
        return str(exc).removeprefix("Error: ").strip()
    return None


def redraw() -> None:
    wm = bpy.context.window_manager
    for window in getattr(wm, "windows", []):
        for area in window.screen.areas:
            if area.type in REDRAW_AREAS:
                area.tag_redraw()


def draw_status(self, context):
    """Status bar: the running job's progress (Esc in the sequencer or 3D view cancels)."""
    state = context.window_manager.mpd_job
    if state.state == "RUNNING":
        self.layout.progress(factor=state.progress, type="BAR", text=f"Inbetween: {state.message}")
        self.layout.operator("mpd.cancel", text="", icon="CANCEL")


def abandon(process: BackendProcess, staging: str | None) -> None:
    """Stop a backend now and remove its temporary keyframes: for unregister, which cannot wait."""
    process.stop()
    if staging:
        shutil.rmtree(staging, ignore_errors=True)


def register():
    bpy.types.STATUSBAR_HT_header.append(draw_status)


def unregister():
    """Leave nothing behind: the process tree, the timer and the status-bar drawing."""
    global _job
    if _job is not None:
        abandon(_job.process, _job.staging)
        _job = None
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
    bpy.types.STATUSBAR_HT_header.remove(draw_status)

