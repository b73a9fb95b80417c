"""How a job's news gets out: typed protocol events as JSON lines on stdout for the add-on, or
lines for a person on stderr."""

from __future__ import annotations

import sys
import threading

from .contract.errors import BackendError, phrase
from .contract.protocol import DoneEvent, DownloadedEvent, ErrorEvent, Event, LogEvent, PreviewEvent, ProgressEvent, encode_event

_write_lock = threading.Lock()  # serve's reader thread and its jobs share stdout


def emit(event: Event, stream=None) -> None:
    with _write_lock:
        print(encode_event(event), file=stream or sys.stdout, flush=True)


class Reporter:
    """Progress for a person on stderr, or JSON events (tagged with ``job_id``) on stdout."""

    def __init__(self, json_events: bool, job_id: str | None = None):
        self.json_events, self.job_id = json_events, job_id
        self.stream = sys.stdout if json_events else sys.stderr

    def _emit(self, event: Event, text: str | None):
        if self.json_events:
            emit(event, self.stream)
        elif text is not None:
            print(text, file=self.stream, flush=True)

    def progress(self, phase: str, step: int, total: int):
        if not self.json_events and self.stream.isatty():  # one line that updates in place
            print(f"\r{phase}: {step}/{total}", end="\n" if step == total else "", file=self.stream, flush=True)
            return
        self._emit(ProgressEvent(self.job_id, phase, step, total), f"{phase}: {step}/{total}")

    def preview(self, path: str, step: int, total: int, elapsed_s: float, remaining_s: float):
        """A new live preview image (for the add-on; a person follows the progress lines)."""
        self._emit(PreviewEvent(self.job_id, path, step, total, elapsed_s, remaining_s), None)

    def log(self, message: str):
        self._emit(LogEvent(self.job_id, message), message)

    def note(self, message: str):
        """Something the user should read with the result (the add-on shows it)."""
        self._emit(LogEvent(self.job_id, message, note=True), f"note: {phrase(message, 'cli')}")

    def done(self, frames: int, manifest: str, reused: bool = False):
        how = "reused" if reused else "done"
        self._emit(DoneEvent(self.job_id, frames, manifest, reused), f"{how}: {frames} frames, manifest {manifest}")

    def downloaded(self, folder: str):
        """The end of a download: the model's local folder."""
        self._emit(DownloadedEvent(self.job_id, folder), f"done: the model is in {folder}")

    def error(self, err: BackendError):
        if self.json_events:
            self._emit(ErrorEvent(self.job_id, err.code, err.message, err.hint), None)
        if self.job_id is None:  # a person (or a log) reads stderr; serve keeps it quiet
            hint = f"\n  hint: {phrase(err.hint, 'cli')}" if err.hint else ""
            print(f"error: {phrase(err.message, 'cli')}{hint}", file=sys.stderr, flush=True)
