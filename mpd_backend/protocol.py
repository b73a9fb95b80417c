"""The job protocol shared by the backend and the Blender add-on. Standard library only.

The backend writes events as JSON lines on stdout (``generate --json`` and, later, ``serve``):

    {"event": "progress", "protocol": 1, "phase": "denoise", "step": 3, "total": 25}
    {"event": "log",      "protocol": 1, "message": "..."}
    {"event": "done",     "protocol": 1, "frames": 48, "manifest": "/abs/job/manifest.json"}
    {"event": "error",    "protocol": 1, "code": "bad_input", "message": "...", "hint": "..."}

Phases, in order: "load", "encode", "denoise", "decode", "write". A job folder is complete when its
``manifest.json`` exists; it is written last, atomically.
"""

from __future__ import annotations

import json

PROTOCOL_VERSION = 1

SAMPLER_NAMES = ("forward", "trf", "vibid", "mpd", "mpd-trf")
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


def done_event(frames: int, manifest: str) -> dict:
    return _event("done", frames=frames, manifest=manifest)


def error_event(code: str, message: str, hint: str = "") -> dict:
    return _event("error", code=code, message=message, hint=hint)


def encode_event(event: dict) -> str:
    return json.dumps(event, ensure_ascii=False)


def decode_event(line: str) -> dict | None:
    """An event dict from one line, or None for a line that is not a protocol event."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if isinstance(event, dict) and "event" in event:
        return event
    return None
