"""``serve``: a long-lived worker. The model is loaded once; jobs arrive as JSON lines on stdin and
run one after another; see ``protocol.py`` for the requests and events."""

from __future__ import annotations

import gc
import queue
import sys
import threading
import time

from .errors import bad_input, explain_exception
from .generate import JobCancelled, JobRequest, load_for, quiet_libraries, resolve_engine, run_job
from .protocol import ErrorCode, bye_event, decode_request, error_event, ready_event
from .report import Reporter, emit

_SHUTDOWN = object()


class Worker:
    def __init__(self, defaults: dict):
        self.defaults = defaults  # model, device, dtype, offload, offline: fixed for the worker's life
        self.queue: queue.Queue = queue.Queue()
        self.cancelled: set[str] = set()
        self.abandoned = False
        self.lock = threading.Lock()

    def read_requests(self, stream) -> None:
        """The reader thread: queue jobs, note cancels at once. A shutdown request lets the jobs
        already sent finish; the end of input (the parent is gone) cancels them all."""
        for line in stream:
            request = decode_request(line)
            if request is None:
                if line.strip():
                    emit(error_event(ErrorCode.BAD_INPUT, f"Not a protocol request: {line.strip()[:200]}", "send one JSON object per line"))
                continue
            kind = request.get("request")
            if kind == "generate":
                self.queue.put(request)
            elif kind == "cancel":
                with self.lock:
                    self.cancelled.add(str(request.get("id")))
            elif kind == "shutdown":
                self.queue.put(_SHUTDOWN)
                return
            else:
                emit(error_event(ErrorCode.BAD_INPUT, f"Unknown request {kind!r}.", "generate, cancel or shutdown"))
        with self.lock:
            self.abandoned = True  # the running job stops at its next step; queued ones are dropped
        self.queue.put(_SHUTDOWN)

    def is_cancelled(self, job_id: str) -> bool:
        with self.lock:
            return self.abandoned or job_id in self.cancelled

    def job_request(self, request: dict) -> JobRequest:
        job = request.get("job")
        if not isinstance(job, dict):
            raise bad_input("A generate request needs a 'job' object.")
        for key, value in self.defaults.items():
            if key in job and job[key] != value:
                raise bad_input(f"This worker serves {key}={value!r}; the job asks for {job[key]!r}.", "start another worker for it")
        fields = {**job, **self.defaults}
        try:
            return JobRequest(**fields)
        except TypeError as exc:
            raise bad_input(f"Bad job fields: {exc}", "see mpd_backend.generate.JobRequest") from None

    def run_one(self, request: dict, pipe) -> None:
        job_id = str(request.get("id", ""))
        report = Reporter(json_events=True, job_id=job_id)
        try:
            if self.is_cancelled(job_id):
                raise JobCancelled()
            result = run_job(self.job_request(request), report, pipe=pipe, should_stop=lambda: self.is_cancelled(job_id))
            report.done(result.frames, str(result.manifest), result.reused)
        except Exception as exc:  # one failed job never stops the worker
            report.error(explain_exception(exc))
        finally:
            gc.collect()  # the worker's memory returns to its level between jobs
            _empty_device_cache()


def _empty_device_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def serve(defaults: dict, stdin=None) -> int:
    quiet_libraries()
    worker = Worker(defaults)
    t0 = time.perf_counter()
    pipe = None
    try:
        request = JobRequest(start="", end="", out="", **defaults)
        if resolve_engine(request) == "svd":
            pipe = load_for(request)
    except Exception as exc:
        err = explain_exception(exc)
        emit(error_event(err.code, err.message, err.hint))
        return err.exit_code
    if pipe is None:  # the flow engine: nothing to load; each job says why it runs on flow
        emit(ready_event(defaults["model"], "cpu", "uint8", time.perf_counter() - t0, engine="flow"))
    else:
        emit(ready_event(defaults["model"], str(pipe.device), str(pipe.dtype).removeprefix("torch."), time.perf_counter() - t0, engine="svd"))
    threading.Thread(target=worker.read_requests, args=(stdin or sys.stdin,), daemon=True).start()
    try:
        while (request := worker.queue.get()) is not _SHUTDOWN:
            worker.run_one(request, pipe)
    except KeyboardInterrupt:
        emit(error_event(ErrorCode.CANCELLED, "Interrupted: the worker stops; unfinished jobs have no manifest."))
        return 130
    emit(bye_event())
    return 0


