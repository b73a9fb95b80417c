"""The tools that run in Blender's Python, in their dry runs: the renders the quality benchmark
measures, and the time to a first denoising step (``make demo`` runs in ``make test`` too). Each
runs as ``make`` runs it, ``python -m tools.<name>`` from the repository root, in a process of its
own."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import bpy
import pytest

from .conftest import REPO, required_env

# The tools run with make's Blender (5.0); once a make test is enough.
pytestmark = pytest.mark.skipif(bpy.app.version < (5, 0, 0), reason="the tools run in Blender 5.0, as make runs them")


def run_tool(name: str, *args, timeout: int = 600) -> str:
    result = subprocess.run([sys.executable, "-m", f"tools.{name}", *map(str, args)], capture_output=True, text=True,
                            timeout=timeout, cwd=REPO, env={**os.environ, "MPD_BACKEND_PYTHON": required_env("MPD_BACKEND_PYTHON")})
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_ground_truth_renders_write_every_frame(tmp_path):
    run_tool("render_sequence", tmp_path / "ball", 3)
    assert sorted(p.name for p in (tmp_path / "ball").iterdir()) == ["0001.png", "0002.png", "0003.png"]
    run_tool("render_shots", tmp_path / "shots", 5, "--shot", "large-move", "--size", "64x36", "--only", 1, 5)
    assert sorted(p.name for p in (tmp_path / "shots" / "large-move").iterdir()) == ["0001.png", "0005.png"]


def test_time_to_the_first_denoising_step_of_two_jobs():
    printed = run_tool("bench_first_step", "--model", required_env("MPD_TEST_MODEL"), "--jobs", "2")
    assert len(re.findall(r"^job [12]: first denoising step after [\d.]+ s, done after [\d.]+ s$", printed, re.M)) == 2
