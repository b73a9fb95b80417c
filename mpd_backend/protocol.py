"""The wire between the backend and the Blender add-on, version 2. Standard library only.

The backend writes events as JSON lines on stdout (``generate --json``, ``serve``, ``download``);
this module is the one place that turns them into typed events and back:

    {"event": "progress", "protocol": 2, "phase": "denoise", "step": 3, "total": 25, "id": "0"}
    {"event": "preview",  "protocol": 2, "path": "/abs/job/preview.png", "step": 3, "total": 25,
     "elapsed_s": 41.0, "remaining_s": 300.5}                  svd engine, after each denoising step
    {"event": "log",      "protocol": 2, "message": "..."}
    {"event": "done",     "protocol": 2, "frames": 48, "manifest": "/abs/job/manifest.json", "reused": false}
    {"event": "error",    "protocol": 2, "code": "bad_input", "message": "...", "hint": "..."}

Phases, in order: "load", "denoise" (svd) or "interpolate" (flow), "write"; ``download`` reports
"download" (bytes) and ends with ``downloaded``. A job folder is complete when its
``manifest.json`` exists; it is written last, atomically.

``serve`` (a worker: the model loaded once, jobs one after another) reads requests as JSON lines on
stdin; every event of a job carries the job's ``id``:

    {"request": "run", "protocol": 2, "id": "shot-010", "job": "/abs/job folder/job.json"}
    {"request": "cancel", "protocol": 2, "id": "shot-010"}      the running or a queued job
    {"request": "shutdown", "protocol": 2}                       after the jobs already sent

It answers ``ready`` once the model is loaded (engine "flow": nothing to load), each job's events
(a failed job does not stop the worker), and ``bye`` (with the reason) before it exits: after a
shutdown, after ``--idle-timeout`` seconds without a job, or at the end of stdin (its parent is
gone), which cancels everything and exits within seconds whatever the worker is doing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import ClassVar

PROTOCOL_VERSION = 2

SAMPLER_NAMES = ("forward", "trf", "vibid", "mpd", "mpd-trf")
CHAIN_SAMPLERS = ("vibid", "mpd")  # the samplers that pin keys inside a window: chains of more than two keys
ENGINES = ("auto", "svd", "flow")
DEFAULT_SAMPLER = "mpd"
DEFAULT_MODEL_ID = "stabilityai/stable-video-diffusion-img2vid-xt"

JOB_REQUEST = "job.json"
JOB_MANIFEST = "manifest.json"
FRAMES_DIR = "frames"
WINDOWS_DIR = "windows"  # a chain's SVD windows, each with window.json written last: reused by a re-run
WINDOW_RECORD = "window.json"
START_IMAGE = "start.png"
END_IMAGE = "end.png"
PREVIEW_IMAGE = "preview.png"  # the svd engine's live preview, rewritten every denoising step
CONTACT_SHEET = "contact_sheet.png"


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
    SHOTS_FAILED = "shots_failed"  # run-batch: some shots failed, named in the message
    INTERNAL = "internal"


# ----------------------------------------------------------------------------------------------
# Events (backend -> caller)


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str]
    id: str | None = None  # the job's id, for the events of a job run by ``serve``


@dataclass(frozen=True)
class ProgressEvent(Event):
    kind: ClassVar[str] = "progress"
    phase: str = ""
    step: int = 0
    total: int = 1

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / max(1, self.total))


@dataclass(frozen=True)
class PreviewEvent(Event):
    """A new live preview (the step's clean estimate, a few frames) at ``path``, and the time so far
    and still to go (seconds; remaining from the steps done so far)."""

    kind: ClassVar[str] = "preview"
    path: str = ""
    step: int = 0
    total: int = 1
    elapsed_s: float = 0.0
    remaining_s: float = 0.0


@dataclass(frozen=True)
class LogEvent(Event):
    kind: ClassVar[str] = "log"
    message: str = ""
    note: bool = False  # something the user should read with the result


@dataclass(frozen=True)
class DoneEvent(Event):
    kind: ClassVar[str] = "done"
    frames: int = 0
    manifest: str = ""
    reused: bool = False


@dataclass(frozen=True)
class ErrorEvent(Event):
    kind: ClassVar[str] = "error"
    code: str = ErrorCode.INTERNAL
    message: str = ""
    hint: str = ""

    def text(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


@dataclass(frozen=True)
class ReadyEvent(Event):
    """The worker's model is loaded (engine "flow": nothing to load)."""

    kind: ClassVar[str] = "ready"
    engine: str = "svd"
    model: str = ""
    device: str = ""
    dtype: str = ""
    load_s: float = 0.0


@dataclass(frozen=True)
class ByeEvent(Event):
    """The worker exits: ``reason`` is "shutdown", "idle" or "end of input"."""

    kind: ClassVar[str] = "bye"
    reason: str = "shutdown"


@dataclass(frozen=True)
class DownloadedEvent(Event):
    """The end of ``download``: the model's local folder."""

    kind: ClassVar[str] = "downloaded"
    folder: str = ""


EVENT_TYPES = {cls.kind: cls for cls in (ProgressEvent, PreviewEvent, LogEvent, DoneEvent, ErrorEvent, ReadyEvent, ByeEvent, DownloadedEvent)}


def encode_event(event: Event) -> str:
    data = {k: v for k, v in asdict(event).items() if not (k == "id" and v is None)}
    return json.dumps({"event": event.kind, "protocol": PROTOCOL_VERSION, **data}, ensure_ascii=False)


def decode_event(line: str) -> Event | None:
    """The typed event in one line, or None for a line that is not one of ours."""
    message = _decode(line, "event")
    cls = EVENT_TYPES.get(message.get("event")) if message else None
    if cls is None:
        return None
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in message.items() if k in names})


# ----------------------------------------------------------------------------------------------
# Requests (caller -> ``serve``)


def run_request(job_id: str, job_json: str) -> dict:
    return {"request": "run", "protocol": PROTOCOL_VERSION, "id": job_id, "job": str(job_json)}


def cancel_request(job_id: str) -> dict:
    return {"request": "cancel", "protocol": PROTOCOL_VERSION, "id": job_id}


def shutdown_request() -> dict:
    return {"request": "shutdown", "protocol": PROTOCOL_VERSION}


def encode_request(request: dict) -> str:
    return json.dumps(request, ensure_ascii=False)


def decode_request(line: str) -> dict | None:
    """A request dict from one line, or None for a line that is not a request."""
    return _decode(line, "request")


def _decode(line: str, key: str) -> dict | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) and key in message else None
