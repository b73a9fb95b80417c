"""A generation as the add-on follows it, without Blender: its shots and their job ids, the worker's
events turned into each shot's status, a cancel and its deadline, a worker that vanished, and the
summary and final message. Standard library only.

Everything the panel shows is one ``Snapshot``, remade after every change; the Blender task
(``generation.py``) mirrors it into the window manager's properties and imports each finished
shot's strip, telling the queue how that went. A Generate is a queue of one shot; a batch over
markers one chain, or one shot per gap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..mpd_backend.contract.pricing import format_duration
from ..mpd_backend.contract.protocol import DoneEvent, ErrorCode, ErrorEvent, Event, LogEvent, PreviewEvent, ProgressEvent, ReadyEvent
from .shots import Shot, are_takes, summary
from .states import JobState, ShotStatus

WORKING_PHASES = ("denoise", "interpolate")  # the phases whose steps are the progress bar


@dataclass(frozen=True)
class ShotLine:
    """One shot of a batch as the panel lists it."""

    name: str
    frames: str
    status: ShotStatus
    reason: str


@dataclass(frozen=True)
class Snapshot:
    state: JobState = JobState.RUNNING
    phase: str = "starting"
    progress: float = 0.0
    message: str = ""
    hint: str = ""
    preview: str = ""  # the live preview's image, and the step it shows
    preview_step: int = 0
    timing: str = ""  # time so far and still to go
    strip_name: str = ""  # the last strip imported
    shots: tuple[ShotLine, ...] = ()  # a batch's shots (empty for one shot)


@dataclass
class GenerationQueue:
    """The shots of one generation on one worker. ``generation`` numbers it among the worker's
    generations: job ids are ``"<generation>.<shot>"``, so that a late event or a cancel of an
    earlier generation's shot 0 is never taken for this one's."""

    shots: list[Shot]
    generation: int
    cancel_grace_s: float
    clock: object = time.monotonic
    cancelled_at: float | None = None
    worker_error: ErrorEvent | None = None  # the worker itself failed (e.g. loading the model)
    worker_gone_because: str | None = None  # the worker exited while shots were left
    errors: dict[int, ErrorEvent] = field(default_factory=dict)
    frames: dict[int, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    snapshot: Snapshot = field(default_factory=Snapshot)

    def __post_init__(self):
        if are_takes(self.shots):
            start = f"{len(self.shots)} takes of {self.shots[0].name}: starting"
        elif len(self.shots) > 1:
            start = f"Batch of {len(self.shots)} shots: starting"
        else:
            start = f"Starting {self.shots[0].label}"
        self._show(message=start)

    # Jobs and events ------------------------------------------------------------------------

    def job_id(self, index: int) -> str:
        return f"{self.generation}.{index}"

    def runs(self) -> list[tuple[str, Shot]]:
        """(job id, shot) of every shot the worker is to run."""
        return [(self.job_id(index), shot) for index, shot in enumerate(self.shots) if shot.status == ShotStatus.QUEUED]

    def shot_of(self, event: Event) -> Shot | None:
        """The shot an event is about; None for the worker's own news, or another generation's."""
        prefix = f"{self.generation}."
        if not isinstance(event.id, str) or not event.id.startswith(prefix):
            return None
        try:
            return self.shots[int(event.id.removeprefix(prefix))]
        except (ValueError, IndexError):
            return None

    def take(self, event: Event) -> Shot | None:
        """Apply one event. Returns the shot whose result is ready to import (a ``done`` event), which
        the caller imports and reports with ``imported`` or ``import_failed``."""
        shot = self.shot_of(event)
        if shot is None:
            self._worker_news(event)
        elif isinstance(event, ProgressEvent):
            self._progress(shot, event)
        elif isinstance(event, PreviewEvent):
            self._show(preview=event.path, preview_step=event.step,
                       timing=f"{format_duration(event.elapsed_s)} so far, about {format_duration(event.remaining_s)} to go")
        elif isinstance(event, LogEvent) and event.note:
            self.notes.append(event.message)
        elif isinstance(event, DoneEvent):
            shot.job = str(Path(event.manifest).parent)
            self.frames[self.shots.index(shot)] = event.frames
            return shot
        elif isinstance(event, ErrorEvent):
            self.errors[self.shots.index(shot)] = event
            shot.status = ShotStatus.CANCELLED if event.code == ErrorCode.CANCELLED else ShotStatus.FAILED
            shot.reason = event.text()
            self._show()
        return None

    def imported(self, shot: Shot, reused: bool, strip_name: str = "") -> None:
        """The shot's result is on the timeline (``strip_name``: a new strip; empty: it already was)."""
        shot.status, shot.reason = (ShotStatus.REUSED if reused else ShotStatus.DONE), ""
        self._show(strip_name=strip_name or self.snapshot.strip_name)

    def import_failed(self, shot: Shot, reason: str) -> None:
        shot.status, shot.reason = ShotStatus.FAILED, reason
        self._show()

    def _worker_news(self, event: Event) -> None:
        if isinstance(event, ReadyEvent) and event.id is None:
            self._show(message=f"Model loaded in {event.load_s:.1f} s")
        elif isinstance(event, ErrorEvent) and event.id is None:
            self.worker_error = event

    def _progress(self, shot: Shot, event: ProgressEvent) -> None:
        shot.status = ShotStatus.RUNNING
        if len(self.shots) == 1:
            progress = event.fraction if event.phase in WORKING_PHASES else self.snapshot.progress
            self._show(phase=event.phase, progress=progress, message=f"{event.phase} {event.step}/{event.total}")
        elif event.phase in WORKING_PHASES:
            finished = sum(s.status.finished for s in self.shots)
            self._show(phase=event.phase, progress=min(1.0, (finished + event.fraction) / len(self.shots)),
                       message=f"Shot {self.shots.index(shot) + 1}/{len(self.shots)}, {shot.label}: {event.phase} {event.step}/{event.total}")
        else:
            self._show(phase=event.phase)

    # Cancel and the worker's end ---------------------------------------------------------------

    def cancel(self) -> list[str]:
        """Ask every unfinished shot to stop; returns the job ids to cancel (none the second time)."""
        if self.cancelled_at is not None:
            return []
        self.cancelled_at = self.clock()
        self._show(message="Cancelling...")
        return [self.job_id(i) for i, shot in enumerate(self.shots) if not shot.status.finished]

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None

    def overdue(self) -> bool:
        """Cancelled more than ``cancel_grace_s`` ago and still not done: the worker ignores the
        cancel (stuck in one long step), and is to be ended."""
        return self.cancelled and not self.done() and self.clock() - self.cancelled_at > self.cancel_grace_s

    def worker_gone(self, reason: str) -> None:
        """The worker exited (killed, crashed, or released): every unfinished shot ends."""
        self.worker_gone_because = reason
        for shot in self.shots:
            if shot.status.finished:
                continue
            if self.cancelled:
                shot.status, shot.reason = ShotStatus.CANCELLED, "cancelled"
            else:
                shot.status, shot.reason = ShotStatus.FAILED, self.worker_error.text() if self.worker_error else reason
        self._show()

    def done(self) -> bool:
        return all(s.status.finished for s in self.shots)

    # The end ---------------------------------------------------------------------------------

    def finish(self, stopped_without_a_word: str = "") -> Snapshot:
        """The final snapshot: the state, and the message the panel keeps until the next job.
        ``stopped_without_a_word``: what the worker last said on stderr, for a shot that failed
        without an error event."""
        failed = any(s.status == ShotStatus.FAILED for s in self.shots)
        state = JobState.CANCELLED if self.cancelled else JobState.FAILED if failed else JobState.DONE
        message, hint = self._final_message(stopped_without_a_word)
        self._show(state=state, progress=1.0 if state == JobState.DONE else self.snapshot.progress, message=message, hint=hint,
                   preview="", timing="")
        return self.snapshot

    def _final_message(self, stopped_without_a_word: str) -> tuple[str, str]:
        if len(self.shots) > 1:
            kind = "Takes" if are_takes(self.shots) else "Batch"
            return f"{kind} {'cancelled' if self.cancelled else 'finished'}: {summary(self.shots)}", ""
        (shot,) = self.shots
        if self.cancelled:
            return "Cancelled: nothing was imported.", ""
        if shot.status == ShotStatus.FAILED:
            error = self.errors.get(0) or self.worker_error
            if error is not None:
                return error.message, error.hint
            if self.worker_gone_because is None:  # the worker finished it, but its strip could not be made
                return shot.reason, ""
            return f"The backend stopped without finishing: {stopped_without_a_word}", ""
        frames = self.frames.get(0, 0)
        if shot.status == ShotStatus.REUSED and not self.snapshot.strip_name:
            return f"{shot.label}: reused the earlier result ({frames} frames), already on the timeline.", ""
        notes = f" Note: {'; '.join(self.notes)}." if self.notes else ""
        return f"{self.snapshot.strip_name}: {frames} frames imported.{notes}", ""

    def crashed(self, error: Exception) -> list[str]:
        """The add-on's own code failed while following the job: say so; returns the ids to cancel."""
        ids = self.cancel()
        self._show(state=JobState.FAILED, message=f"The add-on failed while following the job: {type(error).__name__}: {error}",
                   hint="this is a bug: the system console has the details")
        return ids

    def _show(self, **changes) -> None:
        lines = tuple(ShotLine(s.label, f"{s.frame_a}-{s.frame_b}", s.status, s.reason) for s in self.shots) if len(self.shots) > 1 else ()
        self.snapshot = replace(self.snapshot, shots=lines, **changes)
