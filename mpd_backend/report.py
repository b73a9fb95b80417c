"""How a job's news gets out: JSON events on stdout for the add-on, or lines for a person."""

from __future__ import annotations

import sys
import threading

from .errors import BackendError
from .protocol import done_event, encode_event, error_event, log_event, model_ready_event, progress_event

_write_lock = threading.Lock()  # serve's reader thread and its jobs share stdout


def emit(event: dict, stream=None) -> None:
    with _write_lock:
        print(encode_event(event), file=stream or sys.stdout, flush=True)


class Reporter:
    """Progress for a person on stderr, or JSON events (tagged with ``job_id``) on stdout."""

    def __init__(self, json_events: bool, job_id: str | None = None):
        self.json_events, self.job_id = json_events, job_id
        self.stream = sys.stdout if json_events else sys.stderr

    def _emit(self, event: dict, text: str | None):
        if self.json_events:
            emit(event if self.job_id is None else {**event, "id": self.job_id}, self.stream)
        elif text is not None:
            print(text, file=self.stream, flush=True)

    def progress(self, phase: str, step: int, total: int):
        if not self.json_events and self.stream.isatty():  # one line that updates in place
            print(f"\r{phase}: {step}/{total}", end="\n" if step == total else "", file=self.stream, flush=True)
            return
        self._emit(progress_event(phase, step, total), f"{phase}: {step}/{total}")

    def log(self, message: str):
        self._emit(log_event(message), message)

    def done(self, frames: int, manifest: str, reused: bool = False):
        how = "reused" if reused else "done"
        self._emit(done_event(frames, manifest, reused), f"{how}: {frames} frames, manifest {manifest}")

    def model_ready(self, folder: str):
        """The end of a download: the model's local folder."""
        self._emit(model_ready_event(folder), f"done: the model is in {folder}")

    def error(self, err: BackendError):
        if self.json_events:
            self._emit(error_event(err.code, err.message, err.hint), None)
        if self.job_id is None:  # a person (or the add-on's log) reads stderr; serve keeps it quiet
            hint = f"\n  hint: {err.hint}" if err.hint else ""
            print(f"error: {err.message}{hint}", file=sys.stderr, flush=True)
