"""Batches for a farm: batch-init and run-batch as real backend processes, on the flow engine and on
the tiny model."""

import json
import os
import subprocess
import sys

import pytest

from .conftest import REPO, keyframe_image, run_backend

FRAMES = (1, 7, 13, 19)  # three shots of 7 frames


@pytest.fixture(scope="module")
def key_args(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch keys")
    args = []
    for seed, frame in enumerate(FRAMES):
        path = folder / f"key {frame}.png"
        keyframe_image(96, 64, seed=seed).save(path)
        args += ["--key", f"{frame}={path}"]
    return args


def batch_init(out, key_args, *options):
    result = run_backend("batch-init", out, *key_args, *options)
    assert result.returncode == 0, result.stderr
    return out / "batch.json"


def manifests(batch_folder):
    return {p.parent.name: p.stat().st_mtime_ns for p in sorted(batch_folder.glob("shots/*/manifest.json"))}


def error_line(result):
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_batch_init_writes_shots_keys_and_requests(tmp_path, key_args):
    batch_file = batch_init(tmp_path / "batch", key_args, "--engine", "flow")
    batch = json.loads(batch_file.read_text())
    assert [s["frames"] for s in batch["shots"]] == [[1, 7], [7, 13], [13, 19]]
    assert [s["number"] for s in batch["shots"]] == [1, 2, 3]
    assert sorted(p.name for p in (tmp_path / "batch/keys").iterdir()) == ["0001.png", "0007.png", "0013.png", "0019.png"]
    request = json.loads((tmp_path / "batch" / batch["shots"][1]["job"] / "job.json").read_text())
    # Relative paths only: the batch works wherever a farm mounts it.
    assert request["keys"] == [{"frame": 7, "image": "../../keys/0007.png"}, {"frame": 13, "image": "../../keys/0013.png"}]
    assert request["engine"] == "flow" and isinstance(request["seed"], int)  # one seed fixed for every runner
    assert {p.name for p in (tmp_path / "batch").iterdir()} == {"batch.json", "keys", "shots"}


def test_batch_init_refuses_bad_input_with_one_line(tmp_path, key_args):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken/keep.txt").write_text("mine")
    result = run_backend("batch-init", tmp_path / "taken", *key_args)
    assert result.returncode == 2 and "not empty" in error_line(result)
    assert (tmp_path / "taken/keep.txt").read_text() == "mine"
    result = run_backend("batch-init", tmp_path / "one", *key_args[:2])
    assert result.returncode == 2 and "at least two keys" in error_line(result)
    result = run_backend("batch-init", tmp_path / "bad", "--key", "ten=a.png", *key_args)
    assert result.returncode == 2 and "FRAME=PATH" in error_line(result)
    assert not (tmp_path / "one").exists() and not (tmp_path / "bad").exists()


def test_run_batch_resumes_and_clears_a_dead_attempt(tmp_path, key_args):
    batch_file = batch_init(tmp_path / "batch", key_args, "--engine", "flow")
    shots = json.loads(batch_file.read_text())["shots"]
    result = run_backend("run-batch", batch_file, "--shots", "2-3")
    assert result.returncode == 0, result.stderr
    assert list(manifests(tmp_path / "batch")) == ["02_7-13", "03_13-19"]
    first = tmp_path / "batch" / shots[0]["job"]
    # A runner that died in shot 1 left keyframes and some frames but no manifest.
    (first / "frames").mkdir()
    (first / "frames/0000.png").write_bytes(b"half")
    (first / "start.png").write_bytes(b"half")
    before = manifests(tmp_path / "batch")
    result = run_backend("run-batch", tmp_path / "batch")
    assert result.returncode == 0, result.stderr
    after = manifests(tmp_path / "batch")
    assert len(after) == 3 and all(after[name] == when for name, when in before.items())  # 2 and 3 not redone
    assert "2 already complete" in result.stderr and "1 done" in result.stderr
    manifest = json.loads((first / "manifest.json").read_text())
    assert len(manifest["frames"]) == 7 and manifest["keys"][0]["frame"] == 1
    # Run again: nothing new.
    result = run_backend("run-batch", batch_file)
    assert result.returncode == 0 and "3 already complete" in result.stderr and manifests(tmp_path / "batch") == after


def test_run_batch_names_a_failed_shot_and_never_overwrites(tmp_path, key_args):
    batch_file = batch_init(tmp_path / "batch", key_args, "--engine", "flow")
    assert run_backend("run-batch", batch_file, "--shots", "1").returncode == 0
    shots = json.loads(batch_file.read_text())["shots"]
    # Shot 1's result no longer matches its keys (someone replaced a key image); shot 3's last key is gone.
    keyframe_image(96, 64, seed=9).save(tmp_path / "batch/keys/0001.png")
    (tmp_path / "batch/keys/0019.png").unlink()
    frame = tmp_path / "batch" / shots[0]["job"] / "frames/0003.png"
    kept = frame.read_bytes()
    result = run_backend("run-batch", batch_file)
    assert result.returncode == 1
    line = error_line(result)
    assert "2 of 3 shots failed" in line and "shot 1 1-7" in line and "shot 3 13-19" in line and "shot 2" not in line
    assert frame.read_bytes() == kept  # never written over
    assert (tmp_path / "batch" / shots[1]["job"] / "manifest.json").is_file()  # the other one still ran
    result = run_backend("run-batch", batch_file, "--shots", "4-5")
    assert result.returncode == 2 and "outside this batch's shots 1-3" in error_line(result)


def test_runners_on_disjoint_ranges_at_once(tmp_path, key_args):
    batch_file = batch_init(tmp_path / "batch", key_args, "--engine", "flow")
    env = {"PYTHONPATH": str(REPO)}
    runners = [subprocess.Popen([sys.executable, "-m", "mpd_backend", "run-batch", str(batch_file), "--shots", shots],
                                cwd=REPO, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True)
               for shots in ("1", "2-3")]
    for runner in runners:
        _, err = runner.communicate(timeout=300)
        assert runner.returncode == 0, err
    assert len(manifests(tmp_path / "batch")) == 3


def test_run_batch_on_the_tiny_model_loads_it_once(tmp_path, key_args, tiny_model_dir):
    batch_file = batch_init(tmp_path / "batch", key_args, "--engine", "svd", "--model", tiny_model_dir, "--offline",
                            "--device", "cpu", "--dtype", "float32", "--steps", "2", "--width", "64", "--height", "64",
                            "--seed", "3")
    result = run_backend("run-batch", batch_file)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("model loaded") == 1 and "3 done" in result.stderr
    for folder in sorted((tmp_path / "batch/shots").iterdir()):
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["engine"] == "svd" and manifest["parameters"]["seed"] == 3 and len(manifest["frames"]) == 7
    before = manifests(tmp_path / "batch")
    result = run_backend("run-batch", batch_file)
    assert result.returncode == 0 and "model loaded" not in result.stderr and manifests(tmp_path / "batch") == before
