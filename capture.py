"""Capture: the 3D scene's keys rendered by a background Blender from a copy of the open file
(unsaved changes included), with per-key progress and cancel; Blender's own window only saves the
copy and starts the process. The keys of an unchanged scene are reused (``core.key_capture``).

"Unchanged" is this session's count of edits (depsgraph updates beyond the scene datablock's own,
undo, redo, file loads) together with every render setting a key depends on: a .blend copy's bytes
would be exact, but Blender 4.2 writes different bytes for the same file.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from dataclasses import asdict
from pathlib import Path

import bpy
from bpy.app.handlers import persistent

from . import background
from .core.key_capture import KEYS_FOLDER, CaptureRun, QuickCapture, capture_command, captured, fingerprint
from .core.states import JobState
from .core.user_error import UserError

COPY_NAME = "scene-copy.blend"
CHILD_ENV = {"MPD_CAPTURE_CHILD": "1"}  # the add-on, if enabled in the child Blender, starts nothing there
TEMP_HINT = "choose another Temporary Files folder in Preferences > File Paths"
_session = uuid.uuid4().hex  # the change count starts again with every session
_changes = 0
_seconds_per_key: dict[str, float] = {}  # by scene: the last capture's, for the panel's price


@persistent
def note_change(*_args) -> None:
    global _changes
    _changes += 1


@persistent
def note_depsgraph_update(_scene, depsgraph) -> None:
    """An edit the keys may show. Not one of the scene datablock alone (a strip added in the
    sequencer, a render setting: those that matter are in the fingerprint), which Blender passes on
    to every object as a shading update and nothing else."""
    updates = list(depsgraph.updates)
    scene_only = any(isinstance(u.id, bpy.types.Scene) for u in updates) and all(
        isinstance(u.id, bpy.types.Scene) or (isinstance(u.id, bpy.types.Object) and not (u.is_updated_geometry or u.is_updated_transform))
        for u in updates)
    if not scene_only:
        note_change()


def quick_capture(settings) -> QuickCapture:
    if not settings.quick_capture:
        return QuickCapture()
    return QuickCapture(settings.capture_percentage, settings.capture_samples, settings.capture_workbench)


def scene_state(scene, quick: QuickCapture) -> dict:
    """What the keys of ``scene`` depend on, beside its objects (counted in ``_changes``)."""
    render, view = scene.render, scene.view_settings
    samples = [getattr(getattr(scene, "cycles", None), "samples", 0), getattr(getattr(scene, "eevee", None), "taa_render_samples", 0)]
    return {
        "session": _session, "changes": _changes, "file": bpy.data.filepath, "scene": scene.name, "engine": render.engine,
        "camera": scene.camera.name if scene.camera else "", "samples": samples, "quick": asdict(quick),
        "size": [render.resolution_x, render.resolution_y, render.resolution_percentage, render.pixel_aspect_x, render.pixel_aspect_y],
        "film": [render.film_transparent, render.use_compositing, render.dither_intensity],
        "colour": [view.view_transform, view.look, view.exposure, view.gamma, scene.display_settings.display_device],
    }


def temp_root() -> Path:
    """Blender's Temporary Files folder (Preferences > File Paths), else the system's."""
    return Path(bpy.path.abspath(bpy.context.preferences.filepaths.temporary_directory) or tempfile.gettempdir())


def keys_folder(scene) -> Path:
    """Where the keys of the scene as it is now are, or go."""
    return temp_root() / KEYS_FOLDER / fingerprint(scene_state(scene, quick_capture(scene.mpd_inbetween)))


def launcher() -> list[str]:
    """How to start a background Blender: Blender's own binary, or where Blender is the bpy module
    (the tests), this same Python."""
    if bpy.app.binary_path:
        return [bpy.app.binary_path, "-b", "--python-exit-code", "1", "--python"]
    return [sys.executable]


def copy_open_file(folder: Path) -> Path:
    """The open file as it is now, saved as a copy (the open file keeps its path and its unsaved
    state). Raises UserError when the folder cannot take it."""
    blend = folder / COPY_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True, check_existing=False)
    except (OSError, RuntimeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip()
        raise UserError(f"Cannot save a copy of the file for the background render in {folder}: {why}.", TEMP_HINT) from None
    if not blend.is_file():
        raise UserError(f"Cannot save a copy of the file for the background render in {folder}.", TEMP_HINT)
    return blend


class CaptureTask(CaptureRun):
    """A capture mirrored into the job's properties; ``then(keys)`` once every key is there."""

    def __init__(self, command, folder, frames, missing, then, scene_name: str):
        super().__init__(command, folder, frames, missing, CHILD_ENV)
        self.then, self.scene_name = then, scene_name

    def apply(self, event) -> None:
        super().apply(event)
        mirror(self)

    def finish(self) -> None:
        super().finish()
        (self.folder / COPY_NAME).unlink(missing_ok=True)
        keys = self.keys()
        if self.cancelled:
            show_end(JobState.CANCELLED, "Capture cancelled: nothing was generated.")
        elif self.error is not None or keys is None:
            error = self.error
            show_end(JobState.FAILED, error.message if error else "The keys were not all rendered.", error.hint if error else "")
        else:
            _seconds_per_key[self.scene_name] = self.seconds_per_key()
            start_next(self.then, keys)

    def stop_now(self) -> None:
        super().stop_now()
        (self.folder / COPY_NAME).unlink(missing_ok=True)


def start_next(then, keys: dict[int, str]) -> None:
    """What the capture was for (a generation, an export), reported where the user looks if it
    cannot start."""
    try:
        then(keys)
    except UserError as error:
        show_end(JobState.FAILED, error.message, error.hint)


def mirror(task: CaptureTask) -> None:
    state = bpy.context.window_manager.mpd_job
    state.state, state.phase, state.progress, state.message, state.hint = JobState.RUNNING.value, "capture", task.progress, task.message, ""


def show_end(job_state: JobState, message: str, hint: str = "") -> None:
    state = bpy.context.window_manager.mpd_job
    state.state, state.phase, state.message, state.hint = job_state.value, "", message, hint
    background.report("ERROR" if job_state == JobState.FAILED else "INFO", message, hint)


def running() -> CaptureTask | None:
    return background.registry.get(CaptureTask.kind)


def capture_keys(context, frames: list[int], then) -> CaptureTask | None:
    """Render ``frames`` of the scene in a background Blender, then call ``then({frame: image})``;
    keys captured before from the same scene state are reused (all there: ``then`` at once, and
    None). Raises UserError."""
    scene = context.scene
    if scene.camera is None:
        raise UserError(f"The scene {scene.name!r} has no camera to render the keys with.", "add a camera, or pick Keyframes From: Image Files")
    if running() is not None:
        raise UserError("Keys are already being rendered: wait for them or cancel.")
    context.evaluated_depsgraph_get()  # every edit so far is counted before the fingerprint
    folder = keys_folder(scene)
    found = captured(folder, frames)
    missing = [frame for frame in frames if frame not in found]
    if not missing:
        then(found)
        return None
    blend = copy_open_file(folder)
    command = capture_command(launcher(), blend, folder, scene.name, scene.render.engine, missing, quick_capture(scene.mpd_inbetween))
    task = background.start(CaptureTask(command, folder, frames, missing, then, scene.name))
    mirror(task)
    return task


def keys_to_render(scene, frames: list[int]) -> tuple[int, float | None]:
    """How many of ``frames`` a capture would render now, and the seconds that takes (None: not
    known until the scene has been captured once in this session)."""
    count = len(frames) - len(captured(keys_folder(scene), frames))
    per_key = _seconds_per_key.get(scene.name)
    return count, None if per_key is None else count * per_key


def cancel() -> bool:
    task = running()
    if task is None:
        return False
    task.cancel()
    return True


def register():
    bpy.app.handlers.depsgraph_update_post.append(note_depsgraph_update)
    for handlers in (bpy.app.handlers.undo_post, bpy.app.handlers.redo_post, bpy.app.handlers.load_post):
        handlers.append(note_change)


def unregister():
    for handlers in (bpy.app.handlers.undo_post, bpy.app.handlers.redo_post, bpy.app.handlers.load_post):
        if note_change in handlers:
            handlers.remove(note_change)
    if note_depsgraph_update in bpy.app.handlers.depsgraph_update_post:
        bpy.app.handlers.depsgraph_update_post.remove(note_depsgraph_update)

