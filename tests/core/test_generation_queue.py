"""The generation queue without Blender: the worker's events into shots, statuses and messages;
late events, cancels and their deadline; a worker that vanishes, or that ignores a cancel (a real
process, ended after the grace)."""

from __future__ import annotations

import importlib
import sys
import time

import pytest


@pytest.fixture(scope="module")
def gq(addon_package):
    return importlib.import_module("mpd_inbetween.core.generation_queue")


@pytest.fixture(scope="module")
def wire(addon_package):
    return importlib.import_module("mpd_inbetween.mpd_backend.contract.protocol")


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def queue_of(gq, shots, names, generation=7, grace=10.0, clock=None):
    made = [shots.Shot(name, 1 + 10 * i, 11 + 10 * i, job=f"/jobs/{name}") for i, name in enumerate(names)]
    return gq.GenerationQueue(made, generation, grace, clock or Clock())


def test_one_shot_from_progress_to_its_strip(gq, shots, wire):
    queue = queue_of(gq, shots, ["walk"])
    assert queue.snapshot.state == "RUNNING" and queue.snapshot.message == "Starting walk"
    assert [job_id for job_id, _ in queue.runs()] == ["7.0"]
    queue.take(wire.ProgressEvent("7.0", "load", 0, 1))
    assert queue.snapshot.progress == 0.0 and queue.snapshot.message == "load 0/1"
    queue.take(wire.ProgressEvent("7.0", "denoise", 5, 20))
    assert queue.snapshot.progress == 0.25 and queue.shots[0].status == "running"
    queue.take(wire.PreviewEvent("7.0", "/jobs/walk/preview.png", 5, 20, 65.0, 195.0))
    assert queue.snapshot.preview.endswith("preview.png") and queue.snapshot.timing == "1 min 5 s so far, about 3 min 15 s to go"
    queue.take(wire.LogEvent("7.0", "the keyframes differ in size", note=True))
    queue.take(wire.LogEvent("7.0", "just a log line"))
    shot = queue.take(wire.DoneEvent("7.0", 11, "/jobs/walk 2/manifest.json"))
    assert shot is queue.shots[0] and shot.job == "/jobs/walk 2" and not queue.done()
    queue.imported(shot, reused=False, strip_name="Inbetween walk")
    assert queue.done()
    final = queue.finish()
    assert final.state == "DONE" and final.progress == 1.0 and final.preview == "" and final.timing == ""
    assert final.message == "Inbetween walk: 11 frames imported. Note: the keyframes differ in size."
    assert final.shots == ()  # one shot: no list


def test_late_events_of_an_earlier_generation_and_the_workers_own_news(gq, shots, wire):
    queue = queue_of(gq, shots, ["a"], generation=8)
    assert queue.take(wire.DoneEvent("7.0", 11, "/old/manifest.json")) is None  # the earlier generation's shot 0
    assert queue.take(wire.ErrorEvent("7.0", "cancelled", "Cancelled")) is None
    assert queue.take(wire.ProgressEvent("8.9", "denoise", 1, 2)) is None  # no such shot
    assert queue.shots[0].status == "queued" and not queue.done()
    queue.take(wire.ReadyEvent(None, "svd", "m", "cpu", "float32", 2.5))
    assert queue.snapshot.message == "Model loaded in 2.5 s"


def test_a_failed_shot_in_a_batch_and_the_summary(gq, shots, wire):
    queue = queue_of(gq, shots, ["A-B", "B-C", "C-D"])
    assert queue.snapshot.message == "Batch of 3 shots: starting" and len(queue.snapshot.shots) == 3
    queue.take(wire.ProgressEvent("7.1", "denoise", 1, 4))
    assert queue.snapshot.progress == pytest.approx(0.25 / 3) and queue.snapshot.message == "Shot 2/3, B-C: denoise 1/4"
    queue.imported(queue.take(wire.DoneEvent("7.0", 11, "/jobs/A-B/manifest.json")), reused=False, strip_name="s1")
    queue.take(wire.ErrorEvent("7.1", "bad_input", "The start keyframe cannot be read", "use a PNG"))
    queue.imported(queue.take(wire.DoneEvent("7.2", 11, "/jobs/C-D/manifest.json", reused=True)), reused=True)
    assert [line.status for line in queue.snapshot.shots] == ["done", "failed", "reused"]
    assert queue.snapshot.shots[1].reason == "The start keyframe cannot be read (use a PNG)"
    final = queue.finish()
    assert final.state == "FAILED"
    assert final.message == ("Batch finished: 3 shots: 2 done (1 reused), 1 failed, 0 skipped. "
                             "Failed: B-C: The start keyframe cannot be read (use a PNG)")


def test_an_import_that_fails_fails_its_shot(gq, shots, wire):
    queue = queue_of(gq, shots, ["a"])
    queue.import_failed(queue.take(wire.DoneEvent("7.0", 11, "/jobs/a/manifest.json")), "The scene 'S' no longer exists")
    final = queue.finish()
    assert final.state == "FAILED" and final.message == "The scene 'S' no longer exists"


def test_cancel_asks_once_for_the_unfinished_shots_and_its_grace_runs_out(gq, shots, wire):
    clock = Clock()
    queue = queue_of(gq, shots, ["A-B", "B-C", "C-D"], grace=10.0, clock=clock)
    queue.imported(queue.take(wire.DoneEvent("7.0", 11, "/jobs/A-B/manifest.json")), reused=False, strip_name="s")
    assert not queue.overdue()
    assert queue.cancel() == ["7.1", "7.2"] and queue.snapshot.message == "Cancelling..."
    assert queue.cancel() == []  # a second Esc sends nothing more
    clock.now += 9.9
    assert not queue.overdue()
    queue.take(wire.ErrorEvent("7.1", "cancelled", "Cancelled"))
    clock.now += 0.2
    assert queue.overdue()  # shot 3 never answered
    queue.take(wire.ErrorEvent("7.2", "cancelled", "Cancelled"))
    assert not queue.overdue() and queue.done()
    final = queue.finish()
    assert final.state == "CANCELLED" and final.message.startswith("Batch cancelled: 3 shots: 1 done")


def test_a_worker_that_vanishes_fails_every_unfinished_shot_with_its_last_words(gq, shots, wire):
    queue = queue_of(gq, shots, ["a"])
    queue.take(wire.ErrorEvent(None, "model_not_found", "Model folder not found: /m", "give a diffusers folder"))
    queue.worker_gone("the worker stopped: exit status 1")
    assert queue.done() and queue.shots[0].reason == "Model folder not found: /m (give a diffusers folder)"
    final = queue.finish()
    assert final.state == "FAILED" and (final.message, final.hint) == ("Model folder not found: /m", "give a diffusers folder")

    silent = queue_of(gq, shots, ["b"])
    silent.worker_gone("")
    assert silent.finish("Fatal Python error: Segmentation fault").message == (
        "The backend stopped without finishing: Fatal Python error: Segmentation fault")

    cancelled = queue_of(gq, shots, ["c"])
    cancelled.cancel()
    cancelled.worker_gone("killed")
    assert cancelled.shots[0].status == "cancelled" and cancelled.finish().message == "Cancelled: nothing was imported."


IGNORES_CANCEL = r"""
# Fault injection: a worker that takes its job, reports progress, and never stops for a cancel.
import json, sys, time
for line in sys.stdin:
    command = json.loads(line)
    if command["command"] == "run":
        print(json.dumps({"event": "progress", "protocol": 3, "id": command["id"], "phase": "denoise", "step": 1, "total": 9}), flush=True)
    time.sleep(0.01)
time.sleep(3600)
"""


def test_a_worker_that_ignores_cancel_is_ended_after_the_grace(gq, shots, wire, child_process, tmp_path):
    script = tmp_path / "stubborn_worker.py"
    script.write_text(IGNORES_CANCEL)
    worker = child_process.ChildProcess([sys.executable, str(script)], commands=True)
    queue = queue_of(gq, shots, ["a"], grace=1.0, clock=time.monotonic)
    for job_id, shot in queue.runs():
        assert worker.send(wire.RunCommand(job_id, shot.job + "/job.json"))
    deadline = time.monotonic() + 60
    while queue.shots[0].status != "running":
        assert time.monotonic() < deadline, "the worker never reported progress"
        for event in worker.poll():
            queue.take(event)
        time.sleep(0.02)
    for job_id in queue.cancel():
        worker.send(wire.CancelCommand(job_id))
    cancelled_at = time.monotonic()
    while worker.running():
        assert time.monotonic() < deadline, "the worker was never ended"
        if queue.overdue():
            worker.kill()
        time.sleep(0.02)
    queue.worker_gone("killed")
    assert time.monotonic() - cancelled_at >= 1.0  # it had its grace
    assert queue.finish().state == "CANCELLED" and queue.shots[0].status == "cancelled"
