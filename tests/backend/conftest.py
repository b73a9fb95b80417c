"""Shared fixtures: the tiny random SVD, built once per run, saved with save_pretrained and loaded
back through the loading code users run; two keyframe images; a backend CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mpd_testing.keyframes import keyframe_image

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from mpd_testing.tiny import save_tiny_svd

    return save_tiny_svd(tmp_path_factory.mktemp("models") / "tiny-svd")


@pytest.fixture(scope="session")
def pipe(tiny_model_dir):
    from mpd_backend.svd.loading import load_pipeline

    pipeline = load_pipeline(str(tiny_model_dir), device="cpu", dtype="float32", offline=True)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


@pytest.fixture(scope="session")
def keyframes():
    return keyframe_image(64, 64, seed=1), keyframe_image(64, 64, seed=2)


@pytest.fixture(scope="session")
def keyframe_files(tmp_path_factory, keyframes) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("keyframes")
    paths = folder / "start.png", folder / "end.png"
    for image, path in zip(keyframes, paths):
        image.save(path)
    return paths


def run_backend(*args, env=None, timeout=300, module=True) -> subprocess.CompletedProcess:
    """``python -m mpd_backend ARGS`` (``module=False``: ``python ARGS``) as a separate process in the
    backend's environment, never through a shell."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, *(["-m", "mpd_backend"] if module else []), *map(str, args)],
        capture_output=True, text=True, env=full_env, timeout=timeout, cwd=REPO,
    )
