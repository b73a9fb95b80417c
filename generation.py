"""Generation: a Generate, a re-run and a batch over markers are all a queue of shots on one
persistent backend worker (a single job is a batch of one).

Route: Blender writes each shot's job folder and ``job.json`` (``core.shots``), sends the worker the
path, and imports each result from its manifest with a plain function call (``strips``) as it
arrives. The worker stays up between generations (the model loads once), exits by itself after the
idle time set in the preferences, and Release Backend ends it at once.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import time
from pathlib import Path

import bpy

from . import background, compat, preferences, strips
from .backend_setup import resolve_backend_python
from .core.shots import Shot, safe_name, shot_request, summary, write_shot_job
from .core.states import JobState, ShotStatus, WorkerState
from .core.tasks import Task
from .core.user_error import UserError
from .core.worker_client import WorkerClient
from .mpd_backend.estimate import format_duration
from .mpd_backend.protocol import JOB_REQUEST, DoneEvent, ErrorCode, ErrorEvent, LogEvent, PreviewEvent, ProgressEvent, ReadyEvent, encode_event

CANCEL_GRACE_S = 3.0  # after this, a worker that has not stopped the cancelled jobs is ended
_generations = itertools.count(1)  # numbers each generation's job ids: a worker outlives generations


def job_state(context=None):
    return (context or bpy.context).window_manager.mpd_job


def worker_state(context=None):
    return (context or bpy.context).window_manager.mpd_worker


def busy() -> bool:
    """A generation runs: only one at a time."""
    return background.registry.running(GenerationTask.kind)


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
        raise UserError(f"Cannot create the job folder location {root}: {exc.strerror}.") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise UserError(f"Cannot write job folders to {root}: it is read-only.", "choose another folder in the preferences")
    return root


def job_options(settings, prefs) -> dict:
    """The job request's options (``mpd_backend.request.JobRequest``) from the scene's settings and
    the preferences: the one place the properties become a request."""
    return {
        "engine": prefs.engine,
        "sampler": settings.sampler,
        "seed": settings.seed,
        "steps": settings.steps or None,
        "width": settings.width or None,
        "height": settings.height or None,
        "model": prefs.model_argument(),
        "device": prefs.device,
        "dtype": prefs.dtype,
        "offload": True if prefs.low_vram else None,  # None: the backend decides (on for GPUs under 16 GB)
        "offline": prefs.offline or not getattr(bpy.app, "online_access", True),
    }


def check_shots(context, shots: list[Shot]) -> None:
    """Refuse, before anything is rendered, shots whose requests the backend would refuse (e.g. a
    chain with a sampler that takes two keys). Raises UserError."""
    options = job_options(context.scene.mpd_inbetween, preferences.get(context))
    for shot in shots:
        if shot.status == ShotStatus.QUEUED:
            shot_request(shot, options, "", [])


# ----------------------------------------------------------------------------------------------
# The worker


class WorkerTask(Task):
    """The worker process for as long as it lives; hands each job's events to the generation."""

    kind = "worker"

    def __init__(self, client: WorkerClient):
        self.client = client
        self.listener: GenerationTask | None = None

    @property
    def idle(self) -> bool:
        return self.listener is None

    def poll(self):
        return self.client.poll()

    def apply(self, event) -> None:
        worker_state().state, worker_state().message = self.client.state.value, self.client.describe()
        if self.listener is not None:
            self.listener.inbox.append(event)

    def done(self) -> bool:
        return not self.client.alive()

    def finish(self) -> None:
        for event in self.client.poll():  # its last words (e.g. why the model did not load)
            self.apply(event)
        state = worker_state()
        state.state, state.message = self.client.state.value, self.client.describe()
        if self.listener is not None:
            self.listener.worker_gone(self.client.failure or f"the worker stopped: {self.client.process.last_stderr()}")

    def cancel(self) -> None:
        self.client.release()


def running_worker() -> WorkerTask | None:
    return background.registry.get(WorkerTask.kind)


def ensure_worker(python: str, options: dict, idle_timeout_s: float | None) -> WorkerTask:
    """The running worker when it serves these options, else a new one (the old one released)."""
    task = running_worker()
    if task is not None and task.client.serves(python, options):
        return task
    release_worker()
    task = WorkerTask(WorkerClient(python, options, idle_timeout_s))
    worker_state().state, worker_state().message = WorkerState.LOADING.value, task.client.describe()
    return background.start(task)


def release_worker() -> bool:
    """End the worker now, freeing its memory; False when none runs. Refused while generating."""
    task = running_worker()
    if task is None:
        return False
    background.registry.remove(task)
    task.client.release()
    if task.listener is not None:
        task.listener.worker_gone("the backend was released")
    state = worker_state()
    state.state, state.message = WorkerState.STOPPED.value, "Backend released"
    return True


# ----------------------------------------------------------------------------------------------
# A generation: a queue of shots


class GenerationTask(Task):
    kind = "generation"

    def __init__(self, worker: WorkerTask, shots: list[Shot], scene_name: str, staging: str | None, log: Path | None):
        self.worker, self.shots, self.scene_name = worker, shots, scene_name
        self.staging, self.log = staging, log
        self.inbox: list = []
        self.notes: list[str] = []
        self.errors: dict[int, ErrorEvent] = {}
        self.frames: dict[int, int] = {}
        self.cancelled_at: float | None = None
        self.worker_error: ErrorEvent | None = None  # the worker itself failed (e.g. loading the model)
        # Job ids "<generation>.<shot>": a late event or a cancel of an earlier generation's shot 0
        # must never be taken for this one's.
        self.id_prefix = f"{next(_generations)}."

    def start(self) -> None:
        for index, shot in enumerate(self.shots):
            if shot.status == ShotStatus.QUEUED:
                self.worker.client.run(self.id_prefix + str(index), Path(shot.job) / JOB_REQUEST)

    # The Task shape --------------------------------------------------------------------------

    def poll(self):
        if self.cancelled_at is not None and time.monotonic() - self.cancelled_at > CANCEL_GRACE_S and not self.done():
            self.worker.client.process.kill()  # it did not stop in time: end it (its task then says it is gone)
        events, self.inbox = self.inbox, []
        if events and self.log is not None:
            with open(self.log, "a", encoding="utf-8") as log:
                log.writelines(encode_event(e) + "\n" for e in events)
        return events

    def apply(self, event) -> None:
        state = job_state()
        shot = self._shot_of(event)
        if shot is None:
            if isinstance(event, ReadyEvent):
                state.message = f"Model loaded in {event.load_s:.1f} s"
            elif isinstance(event, ErrorEvent):
                self.worker_error = event
        elif isinstance(event, ProgressEvent):
            self._progress(shot, event, state)
        elif isinstance(event, PreviewEvent):
            state.preview, state.preview_step = event.path, event.step
            state.timing = f"{format_duration(event.elapsed_s)} so far, about {format_duration(event.remaining_s)} to go"
        elif isinstance(event, LogEvent) and event.note:
            self.notes.append(event.message)
        elif isinstance(event, DoneEvent):
            self._import(shot, event)
        elif isinstance(event, ErrorEvent):
            self.errors[self.shots.index(shot)] = event
            shot.status = ShotStatus.CANCELLED if event.code == ErrorCode.CANCELLED else ShotStatus.FAILED
            shot.reason = event.text()
        show_shots(state, self.shots)

    def done(self) -> bool:
        return all(s.status.finished for s in self.shots)

    def cancel(self) -> None:
        if self.cancelled_at is None:
            self.cancelled_at = time.monotonic()
            self._cancel_unfinished()
            job_state().message = "Cancelling..."

    def stop_now(self) -> None:
        self.worker.listener = None
        self._remove_staging()

    def crashed(self, error: Exception) -> None:
        self._cancel_unfinished()
        state = job_state()
        state.state, state.hint = JobState.FAILED.value, "this is a bug: the system console has the details"
        state.message = f"The add-on failed while following the job: {type(error).__name__}: {error}"

    def worker_gone(self, reason: str) -> None:
        """The worker exited (killed, crashed, or released): every unfinished shot ends."""
        for shot in self.shots:
            if not shot.status.finished:
                if self.cancelled_at is not None:
                    shot.status, shot.reason = ShotStatus.CANCELLED, "cancelled"
                else:
                    shot.status, shot.reason = ShotStatus.FAILED, self.worker_error.text() if self.worker_error else reason

    def finish(self) -> None:
        self.worker.listener = None
        self._remove_staging()
        state = job_state()
        state.preview, state.timing = "", ""
        show_shots(state, self.shots)
        cancelled = self.cancelled_at is not None
        failed = any(s.status == ShotStatus.FAILED for s in self.shots)
        state.state = (JobState.CANCELLED if cancelled else JobState.FAILED if failed else JobState.DONE).value
        state.progress = 1.0 if state.state == JobState.DONE else state.progress
        state.hint = ""
        if len(self.shots) > 1:
            state.message = f"Batch {'cancelled' if cancelled else 'finished'}: {summary(self.shots)}"
            return
        (shot,) = self.shots
        if cancelled:
            state.message = "Cancelled: nothing was imported."
        elif shot.status == ShotStatus.FAILED:
            error = self.errors.get(0) or self.worker_error
            if error is not None:
                state.message, state.hint = error.message, error.hint
            else:
                state.message = f"The backend stopped without finishing: {self.worker.client.process.last_stderr()}"
        elif shot.status == ShotStatus.REUSED and not state.strip_name:
            state.message = f"{shot.name}: reused the earlier result ({self.frames.get(0, 0)} frames), already on the timeline."
        else:
            notes = f" Note: {'; '.join(self.notes)}." if self.notes else ""
            state.message = f"{state.strip_name}: {self.frames.get(0, 0)} frames imported.{notes}"

    # Details ---------------------------------------------------------------------------------

    def _cancel_unfinished(self) -> None:
        for index, shot in enumerate(self.shots):
            if not shot.status.finished:
                self.worker.client.cancel(self.id_prefix + str(index))

    def _shot_of(self, event) -> Shot | None:
        if not isinstance(event.id, str) or not event.id.startswith(self.id_prefix):
            return None  # the worker's own news, or an earlier generation's
        try:
            return self.shots[int(event.id.removeprefix(self.id_prefix))]
        except (ValueError, IndexError):
            return None

    def _progress(self, shot: Shot, event: ProgressEvent, state) -> None:
        shot.status = ShotStatus.RUNNING
        state.phase = event.phase
        if len(self.shots) == 1:
            state.progress = event.fraction if event.phase in ("denoise", "interpolate") else state.progress
            state.message = f"{event.phase} {event.step}/{event.total}"
        elif event.phase in ("denoise", "interpolate"):
            finished = sum(s.status.finished for s in self.shots)
            state.progress = min(1.0, (finished + event.fraction) / len(self.shots))
            state.message = f"Shot {self.shots.index(shot) + 1}/{len(self.shots)}, {shot.name}: {event.phase} {event.step}/{event.total}"

    def _import(self, shot: Shot, event: DoneEvent) -> None:
        shot.job = str(Path(event.manifest).parent)
        self.frames[self.shots.index(shot)] = event.frames
        scene = bpy.data.scenes.get(self.scene_name)
        try:
            if scene is None:
                raise UserError(f"The scene {self.scene_name!r} no longer exists: nothing was imported.")
            if not (event.reused and strips.job_strip(scene, shot.job) is not None):
                strip = strips.import_job_strip(scene, Path(event.manifest))
                job_state().strip_name = strip.name
                push_undo(f"Import {strip.name}")  # one undo removes the strip
        except UserError as exc:
            shot.status, shot.reason = ShotStatus.FAILED, str(exc)
            return
        shot.status, shot.reason = (ShotStatus.REUSED if event.reused else ShotStatus.DONE), ""

    def _remove_staging(self) -> None:
        if self.staging:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None


def push_undo(message: str) -> None:
    """One undo step for a change made outside an operator. ``ed.undo_push`` needs an active
    screen, which a timer's context may lack: then the first window's is used."""
    if bpy.ops.ed.undo_push.poll():
        bpy.ops.ed.undo_push(message=message)
        return
    window = next(iter(bpy.context.window_manager.windows), None)
    if window is not None:
        with bpy.context.temp_override(window=window, screen=window.screen):
            bpy.ops.ed.undo_push(message=message)


def show_shots(state, shots: list[Shot]) -> None:
    """The shots with their status, for the panel (a batch's list)."""
    state.shots.clear()
    if len(shots) < 2:
        return
    for shot in shots:
        item = state.shots.add()
        item.name, item.frames, item.status, item.reason = shot.name, f"{shot.frame_a}-{shot.frame_b}", shot.status.value, shot.reason


def start(context, shots: list[Shot], source: str, staging: str | None = None, resume: bool = False) -> GenerationTask:
    """Write every runnable shot's job folder and queue them all on the worker. ``staging``: a
    temporary folder of rendered keyframes, removed at the end; ``resume``: offer each shot's
    earlier job folders for reuse (a batch run again), where a Generate always makes a new result.
    Raises UserError."""
    if busy():
        raise UserError("A job is already running: wait for it or cancel it.")
    prefs = preferences.get(context)
    python = resolve_backend_python(prefs)
    root = writable_root(output_root(prefs))
    options = job_options(context.scene.mpd_inbetween, prefs)
    for shot in shots:
        if shot.status == ShotStatus.QUEUED:
            write_shot_job(root, shot, options, source, resume)
    worker = ensure_worker(python, options, prefs.worker_idle_minutes * 60 or None)
    scene = compat.sequencer_scene(context)
    log = root / f"batch_{safe_name(scene.name)}_{time.strftime('%Y%m%d-%H%M%S')}.jsonl" if len(shots) > 1 else None
    task = GenerationTask(worker, shots, scene.name, staging, log)
    worker.listener = task
    background.start(task)
    task.start()
    state = job_state(context)
    state.state, state.phase, state.progress, state.hint, state.strip_name = JobState.RUNNING.value, "starting", 0.0, "", ""
    state.preview, state.timing = "", ""
    state.folder = shots[0].job if len(shots) == 1 else str(root)
    state.log = str(log or "")
    state.message = f"Batch of {len(shots)} shots: starting" if len(shots) > 1 else f"Starting {shots[0].name}"
    show_shots(state, shots)
    return task


def show_failure(context, error: UserError, staging: str | None = None) -> None:
    """A generation that could not start: the panel says why; temporary keyframes are removed."""
    if staging:
        shutil.rmtree(staging, ignore_errors=True)
    state = job_state(context)
    state.state, state.message, state.hint = JobState.FAILED.value, error.message, error.hint


def cancel() -> bool:
    """Ask the running generation to stop; the worker is ended if it does not within seconds."""
    task = background.registry.get(GenerationTask.kind)
    if task is None:
        return False
    task.cancel()
    return True
