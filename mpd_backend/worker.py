"""``serve``: a long-lived worker. The model is loaded once; jobs arrive as JSON-line commands on
stdin (each run names a job folder's ``job.json``) and run one after another; see
``contract/protocol.py``.

It never outlives its parent: the end of stdin (the parent is gone, whatever the reason, a crash or
a SIGKILL included) cancels every job and, should the main thread be stuck in something it cannot
leave at once (loading a model from a slow disk, one long UNet call), ends the process
``exit_grace_s`` later (``serve --exit-grace``, 2 s by default). An unfinished job never has a
manifest: it is written last.
"""

from __future__ import annotations

import gc
import os
import queue
import sys
import threading
import time

from .contract.errors import JobCancelled, RequestError, explain_exception
from .contract.protocol import ByeEvent, CancelCommand, ErrorCode, ErrorEvent, ReadyEvent, RunCommand, ShutdownCommand, decode_command
from .report import Reporter, emit
from .runner import quiet_libraries, resolve_engine, run_job
from .svd.svd_engine import load_for

EXIT_GRACE_S = 2.0  # the default of serve --exit-grace
_SHUTDOWN, _END_OF_INPUT = object(), object()


class Worker:
    def __init__(self, options: dict, exit_grace_s: float = EXIT_GRACE_S):
        self.options, self.exit_grace_s = options, exit_grace_s  # engine, model, device, dtype, offload, offline: fixed for the worker's life
        self.queue: queue.Queue = queue.Queue()
        self.cancelled: set[str] = set()
        self.abandoned = False
        self.lock = threading.Lock()

    def read_commands(self, stream) -> None:
        """The reader thread: queue jobs, note cancels at once. A shutdown lets the jobs already
        sent finish; the end of input (the parent is gone) cancels them all."""
        for line in stream:
            command = decode_command(line)
            if isinstance(command, RunCommand):
                self.queue.put(command)
            elif isinstance(command, CancelCommand):
                with self.lock:
                    self.cancelled.add(command.id)
            elif isinstance(command, ShutdownCommand):
                self.queue.put(_SHUTDOWN)
                return
            elif line.strip():
                emit(ErrorEvent(None, ErrorCode.BAD_INPUT, f"Not a protocol command: {line.strip()[:200]}",
                                "send one JSON object per line: run, cancel or shutdown"))
        with self.lock:
            self.abandoned = True  # the running job stops at its next step; queued ones are dropped
        self.queue.put(_END_OF_INPUT)
        watchdog = threading.Timer(self.exit_grace_s, os._exit, args=(3,))
        watchdog.daemon = True
        watchdog.start()

    def is_cancelled(self, job_id: str) -> bool:
        with self.lock:
            return self.abandoned or job_id in self.cancelled

    def run_one(self, command: RunCommand, pipe) -> None:
        job_id = command.id
        report = Reporter(json_events=True, job_id=job_id)
        try:
            if self.is_cancelled(job_id):
                raise JobCancelled()
            if not command.job:
                raise RequestError("A run command needs 'job': the path of a job folder's job.json.")
            result = run_job(command.job, report, pipe=pipe, should_stop=lambda: self.is_cancelled(job_id),
                             worker_options=self.options)
            report.done(result.frames, str(result.manifest), result.reused)
        except Exception as exc:  # one failed job never stops the worker
            report.error(explain_exception(exc))
        finally:
            with self.lock:
                self.cancelled.discard(job_id)  # a later job that reuses the id is not cancelled in advance
            gc.collect()  # the worker's memory returns to its level between jobs
            _empty_device_cache()


def _empty_device_cache() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def load_model(options: dict) -> tuple[str, object]:
    """The engine auto settles on and the pipeline for the worker's options, or None for the RIFE
    and flow engines (each job loads RIFE's small network itself; flow has nothing to load)."""
    engine = resolve_engine(options, [])
    return engine, load_for(options) if engine == "svd" else None


def serve(options: dict, idle_timeout: float | None = None, stdin=None, exit_grace_s: float = EXIT_GRACE_S) -> int:
    """Run jobs until a shutdown, the end of stdin or ``idle_timeout`` seconds without a job."""
    worker = Worker(options, exit_grace_s)
    # Reading starts before the model loads, so that a parent gone mid-load is noticed at once.
    threading.Thread(target=worker.read_commands, args=(stdin or sys.stdin,), daemon=True).start()
    t0 = time.perf_counter()
    try:
        quiet_libraries()
        engine, pipe = load_model(options)
    except Exception as exc:
        err = explain_exception(exc)
        emit(ErrorEvent(None, err.code, err.message, err.hint))
        return err.exit_code
    if pipe is None:  # the RIFE or flow engine: each job says why it runs on it
        emit(ReadyEvent(None, engine, options["model"], "cpu" if engine == "flow" else options["device"],
                        "uint8" if engine == "flow" else options["dtype"], round(time.perf_counter() - t0, 3)))
    else:
        emit(ReadyEvent(None, "svd", options["model"], str(pipe.device), str(pipe.dtype).removeprefix("torch."),
                        round(time.perf_counter() - t0, 3)))
    try:
        while True:
            try:
                command = worker.queue.get(timeout=idle_timeout or None)
            except queue.Empty:
                emit(ByeEvent(None, "idle"))
                return 0
            if command is _SHUTDOWN or command is _END_OF_INPUT:
                break
            worker.run_one(command, pipe)
    except KeyboardInterrupt:
        emit(ErrorEvent(None, ErrorCode.CANCELLED, "Interrupted: the worker stops; unfinished jobs have no manifest."))
        return 130
    emit(ByeEvent(None, "shutdown" if command is _SHUTDOWN else "end of input"))
    return 0
