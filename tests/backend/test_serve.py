"""``serve``, the long-lived worker, as the add-on drives it: JSON lines over a real process's pipes."""

import json
import os
import queue
import subprocess
import sys
import threading
import time

import pytest

from mpd_backend.protocol import cancel_request, decode_event, generate_request, shutdown_request

from .conftest import REPO, run_backend


class WorkerSession:
    def __init__(self, model):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mpd_backend", "serve", "--model", str(model), "--offline", "--device", "cpu", "--dtype", "float32"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.events: queue.Queue = queue.Queue()
        self.log: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            event = decode_event(line)
            if event:
                self.events.put(event)

    def send(self, request: dict):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()

    def next_event(self, timeout=120) -> dict:
        event = self.events.get(timeout=timeout)
        self.log.append(event)
        return event

    def until(self, predicate, timeout=180) -> dict:
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


def job(keyframe_files, out, **extra):
    start, end = keyframe_files
    return {"start": str(start), "end": str(end), "out": str(out), "frames": 5, "steps": 2, "width": 64, "height": 64, "seed": 1, **extra}


def finished(job_id):
    return lambda e: e.get("id") == job_id and e["event"] in ("done", "error")


def test_one_model_load_many_jobs_and_a_failed_job_in_between(worker, keyframe_files, tmp_path):
    ready = worker.next_event()
    assert ready["event"] == "ready" and ready["device"] == "cpu" and ready["dtype"] == "float32"
    worker.send(generate_request("a", job(keyframe_files, tmp_path / "a")))
    worker.send(generate_request("b", job((tmp_path / "missing.png", keyframe_files[1]), tmp_path / "b")))
    worker.send(generate_request("c", job(keyframe_files, tmp_path / "c", sampler="vibid")))
    worker.send(shutdown_request())

    results = {e["id"]: e for e in [worker.until(finished(k)) for k in "abc"]}
    assert results["a"]["event"] == "done" and results["a"]["frames"] == 5 and not results["a"]["reused"]
    assert results["b"]["event"] == "error" and results["b"]["code"] == "bad_input" and "not found" in results["b"]["message"]
    assert results["c"]["event"] == "done"
    assert worker.until(lambda e: e["event"] == "bye")
    assert worker.process.wait(timeout=30) == 0
    assert sum(e["event"] == "ready" for e in worker.log) == 1
    assert not any(e["event"] == "progress" and e["phase"] == "load" for e in worker.log)  # never reloaded
    assert (tmp_path / "a/manifest.json").is_file() and (tmp_path / "c/manifest.json").is_file()
    assert not (tmp_path / "b").exists()


def test_cancel_the_running_job_then_go_on(worker, keyframe_files, tmp_path):
    worker.next_event()
    worker.send(generate_request("long", job(keyframe_files, tmp_path / "long", steps=400)))
    worker.send(generate_request("queued", job(keyframe_files, tmp_path / "queued")))
    worker.until(lambda e: e.get("id") == "long" and e.get("phase") == "denoise")
    worker.send(cancel_request("queued"))
    worker.send(cancel_request("long"))
    long, queued = worker.until(finished("long"), timeout=30), worker.until(finished("queued"), timeout=30)
    assert long["code"] == "cancelled" and queued["code"] == "cancelled"
    assert not (tmp_path / "long/manifest.json").exists() and not (tmp_path / "queued").exists()

    worker.send(generate_request("after", job(keyframe_files, tmp_path / "after")))
    assert worker.until(finished("after"))["event"] == "done"
    worker.process.stdin.close()  # end of input shuts down cleanly too
    assert worker.until(lambda e: e["event"] == "bye")
    assert worker.process.wait(timeout=30) == 0


def test_end_of_input_cancels_the_running_and_queued_jobs(worker, keyframe_files, tmp_path):
    worker.next_event()
    worker.send(generate_request("long", job(keyframe_files, tmp_path / "long", steps=400)))
    worker.send(generate_request("queued", job(keyframe_files, tmp_path / "queued")))
    worker.until(lambda e: e.get("id") == "long" and e.get("phase") == "denoise")
    worker.process.stdin.close()  # the parent is gone
    assert worker.until(finished("long"), timeout=30)["code"] == "cancelled"
    assert worker.until(finished("queued"), timeout=30)["code"] == "cancelled"
    assert worker.until(lambda e: e["event"] == "bye")
    assert worker.process.wait(timeout=30) == 0
    assert not (tmp_path / "queued").exists()


def test_a_job_for_another_model_or_malformed_input_fails_alone(worker, keyframe_files, tmp_path):
    worker.next_event()
    worker.send(generate_request("other", job(keyframe_files, tmp_path / "o", model="someone/else")))
    assert "This worker serves model" in worker.until(finished("other"))["message"]
    worker.process.stdin.write("this is not json\n")
    worker.process.stdin.flush()
    assert "Not a protocol request" in worker.until(lambda e: e["event"] == "error")["message"]
    worker.send(generate_request("fine", job(keyframe_files, tmp_path / "fine")))
    assert worker.until(finished("fine"))["event"] == "done"


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
    assert done["event"] == "done" and done["reused"] and done["manifest"] == str(tmp_path / "first/manifest.json")
    assert not (tmp_path / "again").exists()

    other_seed = run_backend("generate", "--start", start, "--end", end, "--out", tmp_path / "seed4", "--seed", "4",
                             "--reuse", tmp_path / "first", *common)
    assert not decode_event(other_seed.stdout.splitlines()[-1])["reused"]
    assert (tmp_path / "seed4/manifest.json").is_file()
