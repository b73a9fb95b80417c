"""The farm job types: Flamenco's job compiler script under Node against a stand-in of Flamenco's
globals, its authored commands run for real; the OpenJD template checked and run locally by the
real OpenJD runner (openjd-cli) on the flow engine and on the tiny model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backend.conftest import REPO, keyframe_image, run_backend

FLAMENCO_JOB_TYPE = REPO / "farm/flamenco/mpd_inbetween.js"
OPENJD_TEMPLATE = REPO / "farm/openjd/mpd_inbetween.yaml"
OPENJD = Path(sys.executable).parent / "openjd"
BACKEND_ENV = {**os.environ, "PYTHONPATH": str(REPO)}  # the backend environment imports mpd_backend


def compile_flamenco_job(**settings) -> dict:
    node = shutil.which("node")
    assert node, "Node.js (node) runs the Flamenco job type test"
    result = subprocess.run([node, str(Path(__file__).with_name("flamenco_stand_in.js")), str(FLAMENCO_JOB_TYPE), json.dumps(settings)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def make_batch(folder: Path, *options) -> Path:
    args = []
    for seed, frame in enumerate((1, 6, 11, 16)):  # three shots of 6 frames
        path = folder.parent / f"{folder.name} key {frame}.png"
        keyframe_image(64, 64, seed=seed).save(path)
        args += ["--key", f"{frame}={path}"]
    result = run_backend("batch-init", folder, *args, *options)
    assert result.returncode == 0, result.stderr
    return folder / "batch.json"


def manifests(batch_file: Path) -> dict:
    return {p.parent.name: p.stat().st_mtime_ns for p in sorted(batch_file.parent.glob("shots/*/manifest.json"))}


@pytest.mark.parametrize("count, per_task", [(9, 4), (1, 4), (8, 4), (5, 1), (3, 10)])
def test_flamenco_tasks_cover_every_shot_once(count, per_task):
    compiled = compile_flamenco_job(batch_file="/farm/shots/batch.json", shot_count=count, shots_per_task=per_task)
    shots = []
    for task in compiled["tasks"]:
        (command,) = task["commands"]
        assert command["type"] == "exec" and command["parameters"]["exe"] == "{mpd_python}"
        args = command["parameters"]["args"]
        assert args[:4] == ["-m", "mpd_backend", "run-batch", "/farm/shots/batch.json"] and args[4] == "--shots"
        first, _, last = args[5].partition("-")
        chunk = list(range(int(first), int(last or first) + 1))
        assert task["name"] == f"inbetween shots {args[5]}" and len(chunk) <= per_task
        shots += chunk
    assert shots == list(range(1, count + 1))


def test_flamenco_job_type_settings_and_bad_values():
    compiled = compile_flamenco_job(batch_file="b.json", shot_count=9)
    settings = {s["key"]: s for s in compiled["jobType"]["settings"]}
    assert set(settings) == {"batch_file", "shot_count", "shots_per_task", "backend_python"}
    assert settings["shots_per_task"]["default"] == 4 and settings["batch_file"]["required"]
    assert [t["name"] for t in compiled["tasks"]] == ["inbetween shots 1-4", "inbetween shots 5-8", "inbetween shots 9"]
    assert "shot_count must be" in compile_flamenco_job(batch_file="b.json", shot_count=0)["error"]
    assert "shots_per_task must be" in compile_flamenco_job(batch_file="b.json", shot_count=3, shots_per_task=0)["error"]


def test_flamenco_commands_run_the_batch(tmp_path):
    """The commands the job type authors, run as a worker's exec command runs them (no shell)."""
    batch_file = make_batch(tmp_path / "batch", "--engine", "flow")
    compiled = compile_flamenco_job(batch_file=str(batch_file), shot_count=3, shots_per_task=2, backend_python=sys.executable)
    assert len(compiled["tasks"]) == 2
    for task in compiled["tasks"]:
        parameters = task["commands"][0]["parameters"]
        result = subprocess.run([parameters["exe"], *parameters["args"]], env=BACKEND_ENV, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    assert len(manifests(batch_file)) == 3


def test_openjd_template_passes_check():
    result = subprocess.run([str(OPENJD), "check", str(OPENJD_TEMPLATE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "passes validation" in result.stdout, result.stdout + result.stderr


def openjd_run(batch_file: Path, count: int, per_task: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(OPENJD), "run", str(OPENJD_TEMPLATE), "-p", f"BatchFile={batch_file}", "-p", f"ShotCount={count}",
         "-p", f"ShotsPerTask={per_task}", "-p", f"BackendPython={sys.executable}"],
        env=BACKEND_ENV, capture_output=True, text=True, timeout=600,
    )


@pytest.mark.parametrize("engine", ["flow", "svd"])
def test_openjd_runs_the_batch_and_resumes(tmp_path, engine, tiny_model_dir):
    options = ["--engine", "flow"] if engine == "flow" else [
        "--engine", "svd", "--model", tiny_model_dir, "--offline", "--device", "cpu", "--dtype", "float32",
        "--steps", "2", "--width", "64", "--height", "64"]
    batch_file = make_batch(tmp_path / "batch", *options)
    result = openjd_run(batch_file, 3, 2)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Chunks run: 2" in result.stdout
    done = manifests(batch_file)
    assert len(done) == 3
    for folder in batch_file.parent.glob("shots/*"):
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["complete"] and manifest["engine"] == engine and len(manifest["frames"]) == 6
    # The job again: every shot is already complete, nothing is redone.
    result = openjd_run(batch_file, 3, 2)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 shots: 0 done, 2 already complete" in result.stdout and "1 shot: 0 done, 1 already complete" in result.stdout
    assert manifests(batch_file) == done
