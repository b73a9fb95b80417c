"""Generation: a Generate, a re-run and a batch over markers are all a queue of shots on one
persistent backend worker (a single job is a batch of one).

Route: Blender writes each shot's job folder and ``job.json`` (``core.shots``), sends the worker the
path, and imports each result from its manifest with a plain function call (``strips``) as it
arrives. The worker stays up between generations (the model loads once), exits by itself after the
idle time set in the preferences, and Release Backend ends it at once.
"""

from __future__ import annotations

import errno
import itertools
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from . import background, capture, compat, preferences, strips
from .backend_setup import resolve_backend_python
from .core.generation_queue import GenerationQueue, Snapshot
from .core.shots import Shot, safe_name, shot_request, write_shot_job
from .core.states import JobState, ShotStatus, WorkerState
from .core.tasks import Task
from .core.user_error import UserError, backend_errors_as_user_errors
from .core.worker_client import WorkerClient
from .mpd_backend.contract.job_folder import JOB_REQUEST
from .mpd_backend.contract.model_folder import check_model_folder, looks_like_path, model_presence
from .mpd_backend.contract.protocol import DoneEvent, encode_event
from .props import FROM_PREFERENCES, MOTION_NAMES

_generations = itertools.count(1)  # numbers each generation's job ids: a worker outlives generations


def job_state(context=None):
    return (context or bpy.context).window_manager.mpd_job


def worker_state(context=None):
    return (context or bpy.context).window_manager.mpd_worker


def busy() -> bool:
    """A generation runs, or the capture of its keys: only one at a time."""
    return background.registry.running(GenerationTask.kind) or capture.running() is not None


def poll_idle(operator) -> bool:
    """An operator's poll that needs the generation idle, with the reason when it is not."""
    if busy():
        operator.poll_message_set("A job is running: wait for it, or press Cancel in the Inbetween panel")
        return False
    return True


def output_root(prefs) -> Path:
    """Where job folders go: the preference, relative to the .blend; a temporary folder if unsaved."""
    directory = prefs.output_dir or "//inbetweens/"
    if directory.startswith("//") and not bpy.data.filepath:
        return Path(tempfile.gettempdir()) / "mpd_inbetween"
    return Path(bpy.path.abspath(directory))


def writable_root(root: Path) -> Path:
    """``root``, made if need be, once a file could really be written there (a permission check
    alone says yes to root, and no to nothing on a read-only share). Raises UserError."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=root).close()
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise UserError(f"Cannot write job folders to {root}: it is read-only.", "choose another Job Folders location in the preferences") from None
        raise UserError(f"Cannot create the job folder location {root}: {exc.strerror}.", "choose another Job Folders location in the preferences") from None
    return root


def job_engine(settings, prefs) -> str:
    """The engine asked for: the panel's, or the preferences' when the panel leaves it to them."""
    return prefs.engine if settings.engine == FROM_PREFERENCES else settings.engine


def engine_in_use(context) -> str:
    """The engine a job will run on: "auto" settled as the backend will (svd when its weights are
    found, else rife unless the doctor said it cannot run, else flow)."""
    prefs = preferences.get(context)
    engine = job_engine(context.scene.mpd_inbetween, prefs)
    if engine != "auto":
        return engine
    if model_presence(prefs.model_argument()).found:
        return "svd"
    report = context.window_manager.mpd_env.report
    return "rife" if not report or json.loads(report).get("rife", {}).get("available", True) else "flow"


def job_options(settings, prefs) -> dict:
    """The job request's options (``mpd_backend.contract.job_request.JobRequest``) from the scene's settings and
    the preferences: the one place the properties become a request."""
    motion = {name: getattr(settings, name) if settings.custom_motion else None for name in MOTION_NAMES}
    return {
        "engine": job_engine(settings, prefs),
        "sampler": settings.sampler,
        "seed": settings.seed,
        "steps": settings.steps or None,
        "width": settings.width or None,
        "height": settings.height or None,
        **motion,  # None: the sampler's defaults
        "rife_scale": None if settings.rife_scale == "AUTO" else float(settings.rife_scale),
        "model": prefs.model_argument(),
        "device": prefs.device,
        "dtype": prefs.dtype,
        "offload": True if prefs.low_vram else None,  # None: the backend decides (on for GPUs under 16 GB)
        "offline": prefs.offline or not getattr(bpy.app, "online_access", True),
    }


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


def worker_is_warm(context) -> bool:
    """The worker is up with its model loaded for the panel's settings: a job pays no load."""
    task = running_worker()
    if task is None or task.client.state != WorkerState.READY:
        return False
    options = job_options(context.scene.mpd_inbetween, preferences.get(context))
    return all(options[name] == value for name, value in task.client.options.items())


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
# A generation: a queue of shots (``core.generation_queue``), mirrored into the properties


class GenerationTask(Task):
    kind = "generation"

    def __init__(self, worker: WorkerTask, queue: GenerationQueue, scene_name: str, log: Path | None):
        self.worker, self.queue, self.scene_name, self.log = worker, queue, scene_name, log
        self.inbox: list = []

    def start(self) -> None:
        for job_id, shot in self.queue.runs():
            self.worker.client.run(job_id, Path(shot.job) / JOB_REQUEST)
        mirror(self.queue.snapshot)

    def poll(self):
        if self.queue.overdue():
            self.worker.client.process.kill()  # it did not stop in time: end it (its task then says it is gone)
        events, self.inbox = self.inbox, []
        if events and self.log is not None:
            with open(self.log, "a", encoding="utf-8") as log:
                log.writelines(encode_event(e) + "\n" for e in events)
        return events

    def apply(self, event) -> None:
        shot = self.queue.take(event)
        if shot is not None:
            self._import(shot, event)
        mirror(self.queue.snapshot)

    def done(self) -> bool:
        return self.queue.done()

    def cancel(self) -> None:
        for job_id in self.queue.cancel():
            self.worker.client.cancel(job_id)
        mirror(self.queue.snapshot)

    def stop_now(self) -> None:
        self.worker.listener = None

    def crashed(self, error: Exception) -> None:
        for job_id in self.queue.crashed(error):
            self.worker.client.cancel(job_id)
        mirror(self.queue.snapshot)

    def worker_gone(self, reason: str) -> None:
        self.queue.worker_gone(reason)
        mirror(self.queue.snapshot)

    def finish(self) -> None:
        self.worker.listener = None
        snapshot = self.queue.finish(self.worker.client.process.last_stderr())
        mirror(snapshot)
        background.report("ERROR" if snapshot.state == JobState.FAILED else "INFO", snapshot.message, snapshot.hint)

    def _import(self, shot: Shot, event: DoneEvent) -> None:
        """A finished shot's strip, unless it is a reused result already on the timeline."""
        scene = bpy.data.scenes.get(self.scene_name)
        try:
            if scene is None:
                raise UserError(f"The scene {self.scene_name!r} no longer exists: nothing was imported.")
            if event.reused and strips.job_strip(scene, shot.job) is not None:
                self.queue.imported(shot, reused=True)
                return
            strip = strips.import_job_strip(scene, Path(event.manifest), shot.take_group, shot.take)
            push_undo(f"Import {strip.name}")  # one undo removes the strip
            self.queue.imported(shot, event.reused, strip.name)
        except UserError as exc:
            self.queue.import_failed(shot, str(exc))


def mirror(snapshot: Snapshot) -> None:
    """The queue's snapshot into the properties the panels and the status bar draw."""
    state = job_state()
    state.state, state.phase, state.progress = snapshot.state.value, snapshot.phase, snapshot.progress
    state.message, state.hint, state.strip_name = snapshot.message, snapshot.hint, snapshot.strip_name
    state.preview, state.preview_step, state.timing = snapshot.preview, snapshot.preview_step, snapshot.timing
    if [(s.name, s.status, s.reason) for s in state.shots] == [(s.name, s.status.value, s.reason) for s in snapshot.shots]:
        return  # unchanged: the panel's list is not rebuilt at every event
    state.shots.clear()
    for line in snapshot.shots:
        item = state.shots.add()
        item.name, item.frames, item.status, item.reason = line.name, line.frames, line.status.value, line.reason


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


@dataclass
class GenerationPlan:
    """A generation settled before anything renders: its shots, the worker's Python and options,
    where its job folders go."""

    shots: list[Shot]
    source: str
    resume: bool  # offer each shot's earlier job folders for reuse (a batch run again)
    root: Path
    python: str
    options: dict
    idle_timeout_s: float | None
    cancel_grace_s: float
    scene_name: str  # the scene whose sequencer gets the strips
    notes: list[str] = field(default_factory=list)  # said with the final message (e.g. why fewer takes)


def plan(context, shots: list[Shot], source: str, resume: bool = False, overrides: dict | None = None) -> GenerationPlan:
    """Every check a generation can fail before it starts (the requests, the backend's Python, the
    model, the job folders' location). ``overrides``: job options that replace the panel's (a
    re-run's record). Raises UserError."""
    if busy():
        raise UserError("A job is already running: wait for it or press Cancel in the Inbetween panel.")
    prefs = preferences.get(context)
    options = {**job_options(context.scene.mpd_inbetween, prefs), **(overrides or {})}
    for shot in shots:
        if shot.status == ShotStatus.QUEUED:
            shot_request(shot, options, "", [])  # a request the backend would refuse, e.g. a chain on a two-key sampler
    root = writable_root(output_root(prefs))
    python = resolve_backend_python(prefs)
    check_model(prefs, options["engine"])
    return GenerationPlan(shots, source, resume, root, python, options,
                          prefs.worker_idle_minutes * 60 or None, prefs.cancel_grace_s, compat.sequencer_scene(context).name)


def check_model(prefs, engine: str) -> None:
    """The SVD engine asked for and its weights not here (a folder that is not a model, or nothing
    may be downloaded): say so now. Raises UserError."""
    model = prefs.model_argument()
    if engine != "svd" or model_presence(model).found:
        return
    if looks_like_path(model):
        with backend_errors_as_user_errors():
            check_model_folder(Path(model).expanduser())
    if prefs.offline or not getattr(bpy.app, "online_access", True):
        raise UserError(f"The SVD-XT weights ({prefs.model}) are not on this machine, and online access is off.",
                        "download them in Preferences > Add-ons > MPD Inbetween > Model, or set the Engine in the Inbetween panel to Flow")


def start(context, shots: list[Shot], source: str, capture_frames: list[int] = (), resume: bool = False,
          note: str = "") -> None:
    """Check everything, render the 3D scene's keys at ``capture_frames`` in a background Blender
    if any (``capture``), once for all the shots, then write every runnable shot's job folder and
    queue them all on the worker. Raises UserError."""
    launch(context, plan(context, shots, source, resume), capture_frames, note)


def launch(context, generation: GenerationPlan, capture_frames: list[int] = (), note: str = "") -> None:
    """Start a settled plan (``plan``): the capture of its keys if any, then its queue."""
    generation.notes = [note] if note else []
    if capture_frames:
        generation.options["capture"] = capture.quick_capture(context.scene.mpd_inbetween).describe()
        capture.capture_keys(context, list(capture_frames), lambda keys: queue(generation, keys))
    else:
        queue(generation)


def queue(plan: GenerationPlan, keys: dict[int, str] | None = None) -> GenerationTask:
    """``plan``'s shots (their 3D-scene keys from ``keys``) queued on the worker."""
    if background.registry.running(GenerationTask.kind):
        raise UserError("A job is already running: wait for it or press Cancel in the Inbetween panel.")
    for shot in plan.shots:
        if keys:
            shot.use_images(keys)
        if shot.status == ShotStatus.QUEUED:
            write_shot_job(plan.root, shot, plan.options, plan.source, plan.resume)
    worker = ensure_worker(plan.python, plan.options, plan.idle_timeout_s)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log = plan.root / f"batch_{safe_name(plan.scene_name)}_{stamp}.jsonl" if len(plan.shots) > 1 else None
    task = GenerationTask(worker, GenerationQueue(plan.shots, next(_generations), plan.cancel_grace_s, notes=list(plan.notes)), plan.scene_name, log)
    worker.listener = task
    background.start(task)
    state = job_state()
    state.folder, state.log = plan.shots[0].job if len(plan.shots) == 1 else str(plan.root), str(log or "")
    task.start()
    return task


def show_failure(context, error: UserError) -> None:
    """A generation that could not start: the panel says why."""
    state = job_state(context)
    state.state, state.message, state.hint = JobState.FAILED.value, error.message, error.hint


def cancel() -> bool:
    """Stop the capture of the keys, or ask the running generation to stop (the worker is ended if
    it does not within the Cancel Timeout)."""
    if capture.cancel():
        return True
    task = background.registry.get(GenerationTask.kind)
    if task is None:
        return False
    task.cancel()
    return True
