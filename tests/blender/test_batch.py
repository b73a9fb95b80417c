"""Batches over timeline markers with one persistent worker, in headless Blender."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import bpy
import pytest

from .conftest import build_animated_scene, drive_until, module, strips_of, wait_for_job, write_png


def generation_task():
    """The running generation, once the capture of its keys has ended."""
    drive_until(lambda: module("capture").running() is None)
    return module("background").registry.get("generation")


def add_markers(scene, frames):
    for name, frame in frames:
        scene.timeline_markers.new(name, frame=frame)


def worker_log(state) -> list[dict]:
    return [json.loads(line) for line in Path(state.log).read_text().splitlines()]


def shot_index(event: dict) -> str:
    """The shot of a job id "<generation>.<shot>"."""
    return event["id"].rsplit(".", 1)[1]


def shot_statuses(state):
    return [(s.name, s.status) for s in state.shots]


def inbetween_strips(scene):
    return sorted((s.frame_final_start, s.frame_final_end - 1) for s in strips_of(scene) if s.name.startswith("Inbetween"))


def capturing() -> list[int]:
    """The frames the running capture renders in its background Blender (none when no capture runs)."""
    task = module("capture").running()
    return sorted(task.missing) if task else []


def test_three_shots_one_model_load_shared_markers_rendered_once(scene, prefs):
    build_animated_scene(scene)
    module("generation").release_worker()  # a new worker: its one model load is in this batch's log
    # Two markers on frame 5 are one keyframe; 13 and 14 are adjacent: that shot is skipped.
    add_markers(scene, [("A", 1), ("B", 5), ("B2", 5), ("C", 9), ("D", 13), ("E", 14)])
    assert bpy.ops.mpd.generate_markers(per_shot=True) == {"FINISHED"}
    assert capturing() == [1, 5, 9, 13]  # each needed marker frame rendered once
    state = wait_for_job()
    assert state.state == "DONE", state.message
    assert shot_statuses(state) == [("A-B+B2", "done"), ("B+B2-C", "done"), ("C-D", "done"), ("D-E", "skipped")]
    assert "4 shots: 3 done, 0 failed, 1 skipped" in state.message
    assert inbetween_strips(scene) == [(1, 5), (5, 9), (9, 13)]
    log = worker_log(state)
    assert sum(e["event"] == "ready" for e in log) == 1  # one worker, its model loaded once, for all shots
    assert not any(e["event"] == "progress" and e["phase"] == "load" for e in log)  # the model is never reloaded
    assert sorted(shot_index(e) for e in log if e["event"] == "done") == ["0", "1", "2"]
    assert module("generation").running_worker().client.alive()  # it stays up for the next job


def test_killed_worker_loses_nothing_and_a_rerun_does_only_the_rest(scene, prefs):
    build_animated_scene(scene)
    add_markers(scene, [("A", 1), ("B", 5), ("C", 9), ("D", 13)])
    scene.mpd_inbetween.steps = 10  # shot 2 must still be running when the worker is killed

    assert bpy.ops.mpd.generate_markers(per_shot=True) == {"FINISHED"}
    batch = generation_task()
    killed = []

    def kill_during_shot_2():
        if not killed and batch.queue.shots[1].status == "running":
            os.killpg(batch.worker.client.pid, signal.SIGKILL)
            killed.append(time.monotonic())

    state = wait_for_job(on_tick=kill_during_shot_2)
    assert killed and state.state == "FAILED"
    assert shot_statuses(state) == [("A-B", "done"), ("B-C", "failed"), ("C-D", "failed")]
    assert "the worker stopped" in state.shots[1].reason
    assert inbetween_strips(scene) == [(1, 5)]  # shot 2's half-written folder was not imported
    assert not (Path(batch.queue.shots[1].job) / "manifest.json").exists()

    assert bpy.ops.mpd.generate_markers(per_shot=True) == {"FINISHED"}
    state = wait_for_job()
    assert state.state == "DONE", state.message
    assert shot_statuses(state) == [("A-B", "reused"), ("B-C", "done"), ("C-D", "done")]
    done = {shot_index(e): e["reused"] for e in worker_log(state) if e["event"] == "done"}
    assert done == {"0": True, "1": False, "2": False}  # only shots 2 and 3 were generated
    assert inbetween_strips(scene) == [(1, 5), (5, 9), (9, 13)]  # shot 1 not imported twice


def test_a_shot_with_an_unreadable_keyframe_fails_alone(scene, prefs, tmp_path):
    plan = module("core.shots").plan_shots([("A", 1), ("B", 6), ("C", 11)])
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image at all")
    keyframes = {1: str(write_png(tmp_path / "a.png", 64, 64, (1, 0, 0))), 6: str(write_png(tmp_path / "b.png", 64, 64, (0, 0, 1))),
                 11: str(broken)}
    for shot in plan:
        shot.start_image, shot.end_image = keyframes[shot.frame_a], keyframes[shot.frame_b]
    module("generation").start(bpy.context, plan, "MARKERS")
    state = wait_for_job()
    assert shot_statuses(state) == [("A-B", "done"), ("B-C", "failed")]
    assert "cannot be read as an image" in state.shots[1].reason
    assert "2 shots: 1 done, 1 failed" in state.message
    assert inbetween_strips(scene) == [(1, 6)]


@pytest.mark.parametrize("markers", [[], [("A", 3)], [("A", 3), ("B", 3)]])
def test_fewer_than_two_marker_frames_is_a_clear_message(scene, prefs, markers):
    build_animated_scene(scene)
    add_markers(scene, markers)
    with pytest.raises(RuntimeError, match="at least 2 different frames"):
        bpy.ops.mpd.generate_markers(per_shot=True)
    assert not module("generation").busy()


def test_cancel_the_batch_within_seconds_and_keep_the_worker(scene, prefs):
    build_animated_scene(scene)
    add_markers(scene, [("A", 1), ("B", 5), ("C", 9)])
    scene.mpd_inbetween.steps = 400
    assert bpy.ops.mpd.generate_markers(per_shot=True) == {"FINISHED"}
    batch = generation_task()
    cancelled_at = []

    def cancel_while_denoising():
        if not cancelled_at and batch.queue.shots[0].status == "running":
            assert bpy.ops.mpd.cancel() == {"FINISHED"}
            cancelled_at.append(time.monotonic())

    state = wait_for_job(on_tick=cancel_while_denoising)
    assert cancelled_at and time.monotonic() - cancelled_at[0] < 10
    assert state.state == "CANCELLED"
    assert shot_statuses(state) == [("A-B", "cancelled"), ("B-C", "cancelled")]
    assert batch.worker.client.alive()  # cancelled between two steps: the model stays loaded
    assert inbetween_strips(scene) == []
    assert not any((Path(s.job) / "manifest.json").exists() for s in batch.queue.shots)

    # The next run on the same worker is not taken for the cancelled one: it runs, and imports.
    scene.mpd_inbetween.steps = 2
    assert bpy.ops.mpd.generate_markers(per_shot=True) == {"FINISHED"}
    state = wait_for_job()
    assert state.state == "DONE", state.message
    assert shot_statuses(state) == [("A-B", "done"), ("B-C", "done")] and inbetween_strips(scene) == [(1, 5), (5, 9)]
