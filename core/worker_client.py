"""The persistent backend worker (``serve``) seen from the add-on. Standard library only.

One worker serves one set of options (model, device, dtype...): it loads the model once and runs
every job sent to it, in turn, until it is released, exits after its idle time, or its options no
longer match the preferences (then a new one is started)."""

from __future__ import annotations

from ..mpd_backend.contract.job_request import WORKER_OPTIONS
from ..mpd_backend.contract.protocol import ByeEvent, CancelCommand, ErrorEvent, Event, ReadyEvent, RunCommand
from .child_process import ChildProcess
from .states import WorkerState


def serve_command(python: str, options: dict, idle_timeout_s: float | None = None) -> list[str]:
    """The argument list of a ``serve`` worker for these worker options."""
    command = [python, "-m", "mpd_backend", "serve", "--engine", options["engine"], "--model", options["model"],
               "--device", options["device"], "--dtype", options["dtype"]]
    if options["offload"] is not None:
        command.append("--offload" if options["offload"] else "--no-offload")
    if options["offline"]:
        command.append("--offline")
    if idle_timeout_s:
        command += ["--idle-timeout", str(idle_timeout_s)]
    return command


class WorkerClient:
    def __init__(self, python: str, options: dict, idle_timeout_s: float | None = None):
        self.python = python
        self.options = {k: options[k] for k in WORKER_OPTIONS}
        self.process = ChildProcess(serve_command(python, self.options, idle_timeout_s), commands=True)
        self.state = WorkerState.LOADING
        self.ready: ReadyEvent | None = None
        self.failure = ""  # why the worker itself failed (e.g. its model did not load)

    @property
    def pid(self) -> int:
        return self.process.pid

    def serves(self, python: str, options: dict) -> bool:
        """Whether this worker can run a job with these options (else another one is needed)."""
        return self.alive() and python == self.python and all(options[k] == v for k, v in self.options.items())

    def alive(self) -> bool:
        return self.process.running()

    def run(self, job_id: str, job_json) -> bool:
        return self.process.send(RunCommand(job_id, str(job_json)))

    def cancel(self, job_id: str) -> None:
        self.process.send(CancelCommand(job_id))

    def poll(self) -> list[Event]:
        """New events; the worker's own ones also move its state."""
        events = self.process.poll()
        for event in events:
            if isinstance(event, ReadyEvent):
                self.state, self.ready = WorkerState.READY, event
            elif isinstance(event, ErrorEvent) and event.id is None:
                self.state, self.failure = WorkerState.FAILED, event.text()
            elif isinstance(event, ByeEvent):
                self.state = WorkerState.STOPPED
        if not self.alive() and self.state != WorkerState.FAILED:
            self.state = WorkerState.STOPPED
        return events

    def describe(self) -> str:
        if self.state == WorkerState.READY and self.ready is not None:
            r = self.ready
            what = {"flow": "flow engine, no model", "rife": "RIFE engine"}.get(r.engine, f"{r.model} on {r.device}, {r.dtype}")
            return f"Backend ready: {what} (loaded in {r.load_s:.1f} s)"
        if self.state == WorkerState.LOADING:
            return "Backend starting: loading the model"
        if self.state == WorkerState.FAILED:
            return f"Backend failed: {self.failure}"
        return "Backend not running"

    def release(self) -> None:
        """End the worker now (its GPU memory is freed with the process)."""
        self.process.stop()
        self.state = WorkerState.STOPPED
