"""The job protocol shared by the backend and the Blender add-on, version 1. Standard library only.

The backend writes events as JSON lines on stdout (``generate --json`` and ``serve``):

    {"event": "progress", "protocol": 1, "phase": "denoise", "step": 3, "total": 25}
    {"event": "log",      "protocol": 1, "message": "..."}
    {"event": "done",     "protocol": 1, "frames": 48, "manifest": "/abs/job/manifest.json", "reused": false}
    {"event": "error",    "protocol": 1, "code": "bad_input", "message": "...", "hint": "..."}

Phases, in order: "load", "denoise" (svd) or "interpolate" (flow), "write"; ``download`` reports
"download" (bytes) and ends with ``{"event": "done", "folder": ...}``. A job folder is complete when its ``manifest.json``
exists; it is written last, atomically.

``serve`` (a worker: the model loaded once, jobs one after another) reads requests as JSON lines on
stdin, and adds ``"id"`` to every event of a job:

    {"request": "generate", "protocol": 1, "id": "shot-010", "job": {"start": ..., "end": ..., "out": ...,
                                                                       "frames": 24, "seed": 0, ...}}
    {"request": "cancel", "protocol": 1, "id": "shot-010"}      the running or a queued job
    {"request": "shutdown", "protocol": 1}                       after the jobs already sent

It answers ``{"event": "ready", "engine": ..., "model": ..., "device": ..., "dtype": ..., "load_s": ...}``
once the model is loaded (engine "flow": nothing to load), the job events above for each job (a failed job does not stop the worker), and
``{"event": "bye"}`` before it exits. The end of stdin (the parent is gone) cancels the running
job and the queued ones, then ``bye``. ``job`` takes the fields of ``generate.JobRequest``; ``reuse``
lists earlier job folders whose result is reused when their fingerprint (keyframe pixels and
parameters) matches, answered by ``done`` with ``"reused": true``.
"""

from __future__ import annotations

import json

PROTOCOL_VERSION = 1

SAMPLER_NAMES = ("forward", "trf", "vibid", "mpd", "mpd-trf")
ENGINES = ("auto", "svd", "flow")
# The options of ``serve`` fixed for a worker's life; a job may not ask for other values.
WORKER_OPTIONS = ("engine", "model", "device", "dtype", "offload", "offline")
DEFAULT_SAMPLER = "mpd"
DEFAULT_MODEL_ID = "stabilityai/stable-video-diffusion-img2vid-xt"

JOB_REQUEST = "job.json"
JOB_MANIFEST = "manifest.json"
FRAMES_DIR = "frames"
START_IMAGE = "start.png"
END_IMAGE = "end.png"


def frame_name(index: int) -> str:
    return f"{index:04d}.png"


class ErrorCode:
    BAD_INPUT = "bad_input"
    OUTPUT_EXISTS = "output_exists"
    MODEL_NOT_FOUND = "model_not_found"
    MODEL_INCOMPLETE = "model_incomplete"
    UNSAFE_WEIGHTS = "unsafe_weights"
    GATED_MODEL = "gated_model"
    OFFLINE_NOT_CACHED = "offline_not_cached"
    NETWORK = "network"
    OUT_OF_MEMORY = "out_of_memory"
    DEVICE = "device"
    CANCELLED = "cancelled"
    INTERNAL = "internal"


def _event(kind: str, **fields) -> dict:
    return {"event": kind, "protocol": PROTOCOL_VERSION, **fields}


def progress_event(phase: str, step: int, total: int) -> dict:
    return _event("progress", phase=phase, step=step, total=total)


def log_event(message: str) -> dict:
    return _event("log", message=message)


def done_event(frames: int, manifest: str, reused: bool = False) -> dict:
    return _event("done", frames=frames, manifest=manifest, reused=reused)


def model_ready_event(folder: str) -> dict:
    """The end of ``download``: a "done" event with the model's local folder."""
    return _event("done", folder=folder)


def ready_event(model: str, device: str, dtype: str, load_s: float, engine: str = "svd") -> dict:
    return _event("ready", engine=engine, model=model, device=device, dtype=dtype, load_s=round(load_s, 3))


def bye_event() -> dict:
    return _event("bye")


def generate_request(job_id: str, job: dict) -> dict:
    return {"request": "generate", "protocol": PROTOCOL_VERSION, "id": job_id, "job": job}


def cancel_request(job_id: str) -> dict:
    return {"request": "cancel", "protocol": PROTOCOL_VERSION, "id": job_id}


def shutdown_request() -> dict:
    return {"request": "shutdown", "protocol": PROTOCOL_VERSION}


def error_event(code: str, message: str, hint: str = "") -> dict:
    return _event("error", code=code, message=message, hint=hint)


def encode_event(event: dict) -> str:
    return json.dumps(event, ensure_ascii=False)


def decode_event(line: str) -> dict | None:
    """An event dict from one line, or None for a line that is not a protocol event."""
    return _decode(line, "event")


def decode_request(line: str) -> dict | None:
    """A request dict from one line, or None for a line that is not a request."""
    return _decode(line, "request")


def _decode(line: str, key: str) -> dict | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) and key in message else None
