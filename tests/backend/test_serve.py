"""``serve``, the long-lived worker, as the add-on drives it: job folders sent as JSON lines over a
real process's pipes."""

import os
import queue
import subprocess
import sys
import threading
import time

import pytest

from mpd_backend.contract.job_folder import write_request
from mpd_backend.contract.job_request import two_key_request
from mpd_backend.contract.protocol import ByeEvent, CancelCommand, DoneEvent, ErrorEvent, ProgressEvent, ReadyEvent, RunCommand, ShutdownCommand, decode_event, encode_command

from .conftest import REPO, run_backend


class WorkerSession:
    def __init__(self, model, *extra):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mpd_backend", "serve", "--model", str(model), "--offline", "--device", "cpu", "--dtype", "float32",
             *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.events: queue.Queue = queue.Queue()
        self.log: list = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            event = decode_event(line)
            if event:
                self.events.put(event)

    def send(self, command):
        self.process.stdin.write(encode_command(command) + "\n")
        self.process.stdin.flush()

    def next_event(self, timeout=120):
        event = self.events.get(timeout=timeout)
        self.log.append(event)
        return event

    def until(self, predicate, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = self.next_event(timeout=max(0.1, deadline - time.monotonic()))
            if predicate(event):
                return event
        raise AssertionError("no such event in time")

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def worker(tiny_model_dir):
    session = WorkerSession(tiny_model_dir)
    yield session
    session.close()


def job(tiny_model_dir, keyframe_files, folder, **extra):
    """A job folder with its request, as the add-on writes it; the path of its job.json."""
    start, end = keyframe_files
    options = dict(model=str(tiny_model_dir), offline=True, device="cpu", dtype="float32", steps=2, width=64, height=64, seed=1)
    folder.mkdir(parents=True)
    return str(write_request(folder, two_key_request(str(start), str(end), 5, **{**options, **extra})))


def finished(job_id):
    return lambda e: e.id == job_id and isinstance(e, (DoneEvent, ErrorEvent))


def test_one_model_load_many_jobs_and_a_failed_job_in_between(worker, tiny_model_dir, keyframe_files, tmp_path):
    ready = worker.next_event()
    assert isinstance(ready, ReadyEvent) and ready.device == "cpu" and ready.dtype == "float32"
    worker.send(RunCommand("a", job(tiny_model_dir, keyframe_files, tmp_path / "a")))
    worker.send(RunCommand("b", job(tiny_model_dir, (tmp_path / "missing.png", keyframe_files[1]), tmp_path / "b")))
    worker.send(RunCommand("c", job(tiny_model_dir, keyframe_files, tmp_path / "c", sampler="vibid")))
    worker.send(ShutdownCommand())

    results = {e.id: e for e in [worker.until(finished(k)) for k in "abc"]}
    assert isinstance(results["a"], DoneEvent) and results["a"].frames == 5 and not results["a"].reused
    assert results["b"].code == "bad_input" and "not found" in results["b"].message
    assert isinstance(results["c"], DoneEvent)
    assert worker.until(lambda e: isinstance(e, ByeEvent)).reason == "shutdown"
    assert worker.process.wait(timeout=30) == 0
    assert sum(isinstance(e, ReadyEvent) for e in worker.log) == 1
    assert not any(isinstance(e, ProgressEvent) and e.phase == "load" for e in worker.log)  # never reloaded
    assert (tmp_path / "a/manifest.json").is_file() and (tmp_path / "c/manifest.json").is_file()
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["job.json"]  # the request is never rewritten


def test_cancel_the_running_job_then_go_on(worker, tiny_model_dir, keyframe_files, tmp_path):
    worker.next_event()
    worker.send(RunCommand("long", job(tiny_model_dir, keyframe_files, tmp_path / "long", steps=400)))
    worker.send(RunCommand("queued", job(tiny_model_dir, keyframe_files, tmp_path / "queued")))
    worker.until(lambda e: e.id == "long" and getattr(e, "phase", "") == "denoise")
    worker.send(CancelCommand("queued"))
    worker.send(CancelCommand("long"))
    long, queued = worker.until(finished("long"), timeout=30), worker.until(finished("queued"), timeout=30)
    assert long.code == "cancelled" and queued.code == "cancelled"
    assert not (tmp_path / "long/manifest.json").exists() and not (tmp_path / "queued/manifest.json").exists()

    worker.send(RunCommand("after", job(tiny_model_dir, keyframe_files, tmp_path / "after")))
    assert isinstance(worker.until(finished("after")), DoneEvent)
    worker.process.stdin.close()  # end of input shuts down cleanly too
    assert worker.until(lambda e: isinstance(e, ByeEvent)).reason == "end of input"
    assert worker.process.wait(timeout=30) == 0


def test_end_of_input_cancels_the_running_and_queued_jobs(tiny_model_dir, keyframe_files, tmp_path):
    """The orderly way out, given all the time it needs (a loaded machine may take more than the
    default 2 s grace to finish a step; the grace itself is tested by killing Blender)."""
    worker = WorkerSession(tiny_model_dir, "--exit-grace", "120")
    try:
        end_of_input_cancels_everything(worker, tiny_model_dir, keyframe_files, tmp_path)
    finally:
        worker.close()


def end_of_input_cancels_everything(worker, tiny_model_dir, keyframe_files, tmp_path):
    worker.next_event()
    worker.send(RunCommand("long", job(tiny_model_dir, keyframe_files, tmp_path / "long", steps=400)))
    worker.send(RunCommand("queued", job(tiny_model_dir, keyframe_files, tmp_path / "queued")))
    worker.until(lambda e: e.id == "long" and getattr(e, "phase", "") == "denoise")
    worker.process.stdin.close()  # the parent is gone
    assert worker.until(finished("long"), timeout=30).code == "cancelled"
    assert worker.until(finished("queued"), timeout=30).code == "cancelled"
    assert isinstance(worker.until(lambda e: isinstance(e, ByeEvent)), ByeEvent)
    assert worker.process.wait(timeout=30) == 0
    assert not (tmp_path / "queued/manifest.json").exists()


def test_idle_timeout_ends_the_worker(tiny_model_dir, keyframe_files, tmp_path):
    session = WorkerSession(tiny_model_dir, "--idle-timeout", "1")
    try:
        session.next_event()
        session.send(RunCommand("a", job(tiny_model_dir, keyframe_files, tmp_path / "a")))
        assert isinstance(session.until(finished("a")), DoneEvent)  # a job resets the idle clock
        assert session.until(lambda e: isinstance(e, ByeEvent), timeout=30).reason == "idle"
        assert session.process.wait(timeout=30) == 0
    finally:
        session.close()


def test_a_job_for_another_model_or_malformed_input_fails_alone(worker, tiny_model_dir, keyframe_files, tmp_path):
    worker.next_event()
    worker.send(RunCommand("other", job(tiny_model_dir, keyframe_files, tmp_path / "o", model="someone/else")))
    assert "This worker serves model" in worker.until(finished("other")).message
    worker.process.stdin.write("this is not json\n")
    worker.process.stdin.flush()
    assert "Not a protocol command" in worker.until(lambda e: isinstance(e, ErrorEvent)).message
    worker.send(RunCommand("nojob", str(tmp_path / "nowhere" / "job.json")))
    assert "No job request" in worker.until(finished("nojob")).message
    worker.send(RunCommand("fine", job(tiny_model_dir, keyframe_files, tmp_path / "fine")))
    assert isinstance(worker.until(finished("fine")), DoneEvent)


def test_a_folder_that_already_holds_a_result_is_never_written_into(worker, tiny_model_dir, keyframe_files, tmp_path):
    worker.next_event()
    path = job(tiny_model_dir, keyframe_files, tmp_path / "used")
    (tmp_path / "used" / "precious.png").write_bytes(b"keep me")
    worker.send(RunCommand("x", path))
    error = worker.until(finished("x"))
    assert error.code == "output_exists" and "precious.png" in error.message
    assert (tmp_path / "used" / "precious.png").read_bytes() == b"keep me"


def test_reuse_an_earlier_job_only_when_keyframes_and_parameters_match(tiny_model_dir, keyframe_files, tmp_path):
    common = ["--model", tiny_model_dir, "--offline", "--steps", "2", "--height", "64", "--width", "64", "--frames", "4", "--json"]
    start, end = keyframe_files
    first = run_backend("generate", "--start", start, "--end", end, "--out", tmp_path / "first", "--seed", "3", *common)
    assert first.returncode == 0, first.stderr

    # The same keyframe pixels in another file format and place: reused, and nothing new is written.
    from PIL import Image

    start_copy = tmp_path / "copy of start.bmp"
    Image.open(start).save(start_copy)
    again = run_backend("generate", "--start", start_copy, "--end", end, "--out", tmp_path / "again", "--seed", "3",
                        "--reuse", tmp_path / "first", *common)
    done = decode_event(again.stdout.splitlines()[-1])
    assert isinstance(done, DoneEvent) and done.reused and done.manifest == str(tmp_path / "first/manifest.json")
    assert not (tmp_path / "again").exists()

    other_seed = run_backend("generate", "--start", start, "--end", end, "--out", tmp_path / "seed4", "--seed", "4",
                             "--reuse", tmp_path / "first", *common)
    assert not decode_event(other_seed.stdout.splitlines()[-1]).reused
    assert (tmp_path / "seed4/manifest.json").is_file()
