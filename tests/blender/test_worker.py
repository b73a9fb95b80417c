"""The persistent worker: one model load for many Generates, Release Backend, and a worker that
never outlives its Blender (the Blender process killed with SIGKILL mid-denoise and mid-load)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import bpy
import pytest

from .conftest import module, required_env, strips_of, wait_for_job, write_png

EXIT_WITHIN_S = 20.0  # ten times the worker's own 2 s grace: it exits within seconds, however loaded the machine


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie (an orphan may wait a moment to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_generates_share_one_worker_and_release_ends_it(scene, prefs, tmp_path):
    generation = module("generation")
    generation.release_worker()
    settings = scene.mpd_inbetween
    settings.source, settings.frame_a, settings.frame_b = "FILES", 1, 5
    settings.start_image = str(write_png(tmp_path / "a.png", 64, 64, (1, 0, 0)))
    settings.end_image = str(write_png(tmp_path / "b.png", 64, 64, (0, 0, 1)))
    prefs.worker_idle_minutes = 7
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    worker = generation.running_worker().client
    assert worker.process.command[-2:] == ["--idle-timeout", "420"]  # the preference, in seconds
    assert wait_for_job().state == "DONE"
    assert bpy.context.window_manager.mpd_worker.state == "ready"
    settings.seed = 1
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    assert generation.running_worker().client is worker  # no new process, no second model load
    assert wait_for_job().state == "DONE"
    assert len(strips_of(scene)) == 2

    prefs.dtype = "bfloat16"  # another worker option: the next Generate needs another worker
    settings.seed = 2
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    assert generation.running_worker().client is not worker and not worker.alive()
    assert wait_for_job().state == "DONE"

    pid = generation.running_worker().client.pid
    assert bpy.ops.mpd.release_backend() == {"FINISHED"}
    assert not alive(pid) and generation.running_worker() is None
    with pytest.raises(RuntimeError):  # nothing left to release: the button is greyed out
        bpy.ops.mpd.release_backend()


def start_host(extension_zip, model, out, until):
    """A Blender process that starts a Generate; returns it and what it printed once ``until`` held."""
    host = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("blender_host.py")), str(extension_zip), str(model), str(out), until],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=dict(os.environ),
    )
    for line in host.stdout:
        if line.startswith("{"):
            return host, json.loads(line)
    raise AssertionError(f"the Blender host ended first (exit status {host.wait()})")


def kill_and_time_the_worker(host, worker_pid: int) -> float:
    os.kill(host.pid, signal.SIGKILL)
    host.wait()
    killed = time.monotonic()
    while alive(worker_pid) and time.monotonic() - killed < 60:
        time.sleep(0.05)
    return time.monotonic() - killed


def test_killing_blender_mid_denoise_ends_the_worker_within_seconds(extension_zip, tmp_path):
    host, said = start_host(extension_zip, required_env("MPD_TEST_MODEL"), tmp_path, "denoise")
    assert alive(said["worker"])
    seconds = kill_and_time_the_worker(host, said["worker"])
    assert seconds < EXIT_WITHIN_S, f"the worker outlived Blender by {seconds:.1f} s"
    assert not (Path(said["job"]) / "manifest.json").exists()


STALLED_LOAD = """
# Fault injection: the model load never ends, as on a slow disk or network share. Importing the
# pipeline module is the middle of load_pipeline (after torch, before the weights).
import importlib.abc, os, pathlib, sys, time


class StallPipelineImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "mpd_backend.svd.pipeline":
            pathlib.Path(os.environ["MPD_STALL_MARKER"]).touch()
            time.sleep(3600)
        return None


sys.meta_path.insert(0, StallPipelineImport())
"""


def test_killing_blender_mid_load_ends_the_worker_within_seconds(extension_zip, tmp_path, monkeypatch):
    stall = tmp_path / "stall"
    stall.mkdir()
    (stall / "sitecustomize.py").write_text(STALLED_LOAD)
    python = tmp_path / "python with a stalled load"
    python.write_text(f'#!/bin/sh\nPYTHONPATH="{stall}:$PYTHONPATH" exec "{required_env("MPD_BACKEND_PYTHON")}" "$@"\n')
    python.chmod(0o755)
    marker = tmp_path / "loading"
    monkeypatch.setenv("MPD_BACKEND_PYTHON", str(python))
    monkeypatch.setenv("MPD_STALL_MARKER", str(marker))
    host, said = start_host(extension_zip, required_env("MPD_TEST_MODEL"), tmp_path, "started")
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline and host.poll() is None, "the worker never started loading"
            time.sleep(0.05)
        seconds = kill_and_time_the_worker(host, said["worker"])
    finally:
        if host.poll() is None:
            host.kill()
    assert seconds < EXIT_WITHIN_S, f"the worker outlived Blender by {seconds:.1f} s"
    assert not (Path(said["job"]) / "manifest.json").exists()
