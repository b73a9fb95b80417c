"""A batch of shots run by one ``serve`` worker (the model loaded once), polled by a timer.

Every shot is queued at the start; each result is imported as it arrives; a failed shot fails alone.
Resume: each job names the earlier job folders of its shot, and the worker reuses one whose
keyframe pixels and parameters match. The worker's events are kept in a JSON-lines log next to the
job folders.
"""

from __future__ import annotations

import glob
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import bpy

from . import jobs
from .core.backend_process import BackendProcess, serve_command
from .core.batch import FINISHED, Shot, summary
from .core.shots import ShotError, new_job_folder, safe_name
from .environment import resolve_backend_python
from .mpd_backend.protocol import generate_request, shutdown_request
from .strips import RECORD_KEY

JOB_OPTIONS = ("sampler", "seed", "steps", "width", "height")


@dataclass
class RunningBatch:
    process: BackendProcess
    shots: list[Shot]
    scene_name: str
    log: Path
    staging: str | None
    record: dict
    shutdown_sent: bool = False
    cancelled: bool = False
    stopped_reason: str = ""  # a worker-level error (e.g. the model failed to load)


_batch: RunningBatch | None = None


def is_running() -> bool:
    return _batch is not None


def earlier_jobs(root: Path, shot: Shot) -> list[str]:
    """Job folders of earlier runs of this shot: candidates for reuse (the worker checks them)."""
    return sorted(str(p) for p in root.glob(glob.escape(safe_name(shot.name)) + "_*") if p.is_dir())


def start(context, shots: list[Shot], keyframes: dict[int, str], staging: str | None = None) -> RunningBatch:
    """Queue every runnable shot on a new worker. ``keyframes`` maps each frame to its image."""
    from . import compat, preferences

    global _batch
    if jobs.busy():
        raise ShotError("A job is already running: wait for it or cancel it.")
    prefs = preferences.get(context)
    settings = context.scene.mpd_inbetween
    python = resolve_backend_python(prefs)
    root = jobs.writable_root(jobs.output_root(prefs))
    options = jobs.backend_options(settings, prefs)
    scene = compat.sequencer_scene(context)
    log = root / f"batch_{safe_name(scene.name)}_{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    process = BackendProcess(serve_command(python, options), requests=True)
    for index, shot in enumerate(shots):
        if shot.status != "queued":
            continue
        shot.job = str(new_job_folder(root, shot.name))
        job = {
            "start": keyframes[shot.frame_a],
            "end": keyframes[shot.frame_b],
            "out": shot.job,
            "frames": shot.frame_b - shot.frame_a + 1,
            "reuse": earlier_jobs(root, shot),
            **{k: options[k] for k in JOB_OPTIONS if options.get(k) is not None},
        }
        process.send(generate_request(str(index), job))
    record = {"source": "MARKERS", **{k: v for k, v in options.items() if v is not None and v is not False}}
    _batch = RunningBatch(process, shots, scene.name, log, staging, record)
    state = jobs.job_state(context)
    state.state, state.phase, state.progress, state.hint, state.folder = "RUNNING", "starting", 0.0, "", str(root)
    state.message = f"Batch of {len(shots)} shots: starting the worker"
    _show_shots(state, shots)
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=jobs.TICK_S)
    return _batch


def cancel() -> bool:
    if _batch is None:
        return False
    _batch.cancelled = True
    _batch.process.cancel()
    jobs.job_state().message = "Cancelling the batch..."
    return True


def _shot_of(batch: RunningBatch, event: dict) -> Shot | None:
    try:
        return batch.shots[int(event["id"])]
    except (KeyError, ValueError, IndexError):
        return None


def _apply(batch: RunningBatch, event: dict, state) -> None:
    shot = _shot_of(batch, event)
    kind = event.get("event")
    if shot is None:
        if kind == "error":  # the worker itself failed, e.g. loading the model
            batch.stopped_reason = event.get("message", "") + (f" ({event['hint']})" if event.get("hint") else "")
        elif kind == "ready":
            state.message = f"Model loaded in {event.get('load_s', 0):.1f} s"
        return
    if kind == "progress":
        shot.status = "running"
        if event.get("phase") == "denoise":
            state.phase = f"{shot.name}: denoise {event.get('step')}/{event.get('total')}"
            shot_fraction = int(event.get("step", 0)) / max(1, int(event.get("total", 1)))
            finished = sum(s.status in FINISHED for s in batch.shots)
            state.progress = min(1.0, (finished + shot_fraction) / len(batch.shots))
            state.message = f"Shot {batch.shots.index(shot) + 1}/{len(batch.shots)}, {state.phase}"
    elif kind == "done":
        shot.job = str(Path(event["manifest"]).parent)
        problem = None
        if not (event.get("reused") and _strip_exists(batch.scene_name, shot.job)):
            record = {**batch.record, "job": shot.job, "shot": shot.name, "frame_a": shot.frame_a, "frame_b": shot.frame_b}
            problem = jobs.import_result(Path(event["manifest"]), batch.scene_name, shot.frame_a, f"Inbetween {shot.name}", record)
        shot.status, shot.reason = ("failed", problem) if problem else ("reused" if event.get("reused") else "done", "")
    elif kind == "error":
        shot.status = "cancelled" if event.get("code") == "cancelled" else "failed"
        shot.reason = event.get("message", "") + (f" ({event['hint']})" if event.get("hint") else "")


def _strip_exists(scene_name: str, job_folder: str) -> bool:
    from . import compat

    scene = bpy.data.scenes.get(scene_name)
    editor = compat.sequence_editor(scene, create=False) if scene else None
    if editor is None:
        return False
    return any(s.get(RECORD_KEY, {}).get("job") == job_folder for s in compat.top_strips(editor))


def tick():
    """Poll the worker; returns the next interval, or None once the batch has ended (the timer ends)."""
    global _batch
    batch = _batch
    if batch is None:
        return None
    state = jobs.job_state()
    events = batch.process.poll()
    if events:
        with open(batch.log, "a", encoding="utf-8") as log:
            for event in events:
                log.write(json.dumps(event, ensure_ascii=False) + "\n")
                _apply(batch, event, state)
        _show_shots(state, batch.shots)
    if not batch.shutdown_sent and all(s.status in FINISHED for s in batch.shots):
        batch.process.send(shutdown_request())
        batch.shutdown_sent = True
    jobs.redraw()
    if batch.process.running():
        return jobs.TICK_S
    _batch = None
    _finish(batch, state)
    jobs.redraw()
    return None


def _finish(batch: RunningBatch, state) -> None:
    if batch.staging:
        shutil.rmtree(batch.staging, ignore_errors=True)
    for shot in batch.shots:
        if shot.status not in FINISHED:
            if batch.cancelled:
                shot.status, shot.reason = "cancelled", "the batch was cancelled"
            else:
                shot.status = "failed"
                shot.reason = batch.stopped_reason or f"the worker stopped: {batch.process.last_stderr()}"
    _show_shots(state, batch.shots)
    failed = any(s.status == "failed" for s in batch.shots)
    state.state = "CANCELLED" if batch.cancelled else "FAILED" if failed else "DONE"
    state.progress = 1.0 if state.state == "DONE" else state.progress
    state.message = f"Batch {'cancelled' if batch.cancelled else 'finished'}: {summary(batch.shots)}"
    state.hint = f"worker log: {batch.log}"


def _show_shots(state, shots: list[Shot]) -> None:
    state.shots.clear()
    for shot in shots:
        item = state.shots.add()
        item.name, item.frames, item.status, item.reason = shot.name, f"{shot.frame_a}-{shot.frame_b}", shot.status, shot.reason


def register():
    pass  # nothing to register: the timer starts with a batch


def unregister():
    """Leave nothing behind: the worker's process tree and the timer."""
    global _batch
    if _batch is not None:
        jobs.abandon(_batch.process, _batch.staging)
        _batch = None
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
