"""The wire between the backend and the Blender add-on, version 3. Standard library only.

The backend writes events as JSON lines on stdout (``generate --json``, ``serve``, ``download``);
this module is the one place that turns them into typed events and back:

    {"event": "progress", "protocol": 3, "phase": "denoise", "step": 3, "total": 25, "id": "0"}
    {"event": "preview",  "protocol": 3, "path": "/abs/job/preview.png", "step": 3, "total": 25,
     "elapsed_s": 41.0, "remaining_s": 300.5}                  svd engine, after each denoising step
    {"event": "log",      "protocol": 3, "message": "..."}
    {"event": "done",     "protocol": 3, "frames": 48, "manifest": "/abs/job/manifest.json", "reused": false}
    {"event": "error",    "protocol": 3, "code": "bad_input", "message": "...", "hint": "..."}

Phases, in order: "load", "denoise" (svd) or "interpolate" (flow), "write"; ``download`` reports
"download" (bytes) and ends with ``downloaded``. A job folder is complete when its
``manifest.json`` exists; it is written last, atomically (``job_folder``).

``serve`` (a worker: the model loaded once, jobs one after another) reads **commands** as JSON
lines on stdin; every event of a job carries the job's ``id``:

    {"command": "run", "protocol": 3, "id": "shot-010", "job": "/abs/job folder/job.json"}
    {"command": "cancel", "protocol": 3, "id": "shot-010"}      the running or a queued job
    {"command": "shutdown", "protocol": 3}                       after the jobs already sent

(Version 3 renamed version 2's ``request`` key to ``command``: "request" is the job's, ``job.json``.)
It answers ``ready`` once the model is loaded (engine "flow": nothing to load), each job's events
(a failed job does not stop the worker), and ``bye`` (with the reason) before it exits: after a
shutdown, after ``--idle-timeout`` seconds without a job, or at the end of stdin (its parent is
gone), which cancels everything and exits within seconds whatever the worker is doing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import ClassVar

PROTOCOL_VERSION = 3


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
    RENDER_FAILED = "render_failed"  # the add-on's capture: a key of the 3D scene could not be rendered
    CANCELLED = "cancelled"
    SHOTS_FAILED = "shots_failed"  # run-batch: some shots failed, named in the message
    INTERNAL = "internal"


def with_hint(message: str, hint: str) -> str:
    """A message and its hint as one line: how every error reads wherever it is shown whole."""
    return f"{message} ({hint})" if hint else message


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
        return with_hint(self.message, self.hint)


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
# Commands (caller -> ``serve``)


@dataclass(frozen=True)
class Command:
    kind: ClassVar[str]


@dataclass(frozen=True)
class RunCommand(Command):
    """Run the job whose request is ``job`` (a job folder's ``job.json``); its events carry ``id``."""

    kind: ClassVar[str] = "run"
    id: str = ""
    job: str = ""


@dataclass(frozen=True)
class CancelCommand(Command):
    """Stop the job ``id``: the running one at its next step, or a queued one before it starts."""

    kind: ClassVar[str] = "cancel"
    id: str = ""


@dataclass(frozen=True)
class ShutdownCommand(Command):
    """Exit once the jobs already sent are done."""

    kind: ClassVar[str] = "shutdown"


COMMAND_TYPES = {cls.kind: cls for cls in (RunCommand, CancelCommand, ShutdownCommand)}


def encode_command(command: Command) -> str:
    return json.dumps({"command": command.kind, "protocol": PROTOCOL_VERSION, **asdict(command)}, ensure_ascii=False)


def decode_command(line: str) -> Command | None:
    """The typed command in one line, or None for a line that is not one (fields of the wrong type
    included: a job path must be text)."""
    message = _decode(line, "command")
    cls = COMMAND_TYPES.get(message.get("command")) if message else None
    if cls is None:
        return None
    values = {f.name: message[f.name] for f in fields(cls) if f.name in message}
    if not all(isinstance(v, str) for v in values.values()):
        return None
    return cls(**values)


def _decode(line: str, key: str) -> dict | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) and key in message else None
