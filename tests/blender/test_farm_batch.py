"""A batch for the farm, in headless Blender: Export Batch for Farm writes it, the real backend runs
it as a farm task would (run-batch, in a separate process), Import Batch Results brings it back."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import bpy
import pytest

from .conftest import build_animated_scene, module, strips_of, wait_for_job
from .test_batch import add_markers, capturing, inbetween_strips


def run_batch(batch_file: Path, shots: str) -> None:
    """``run-batch`` with the backend environment and the installed extension's backend."""
    root = module("core.child_process").EXTENSION_ROOT
    result = subprocess.run([os.environ["MPD_BACKEND_PYTHON"], "-m", "mpd_backend", "run-batch", str(batch_file), "--shots", shots],
                            env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_export_run_and_import_a_farm_batch(scene, prefs, tmp_path):
    build_animated_scene(scene)
    add_markers(scene, [("A", 1), ("B", 5), ("C", 9), ("D", 13), ("E", 14)])  # 13-14 adjacent: no shot
    out = tmp_path / "farm ü"
    assert bpy.ops.mpd.export_batch(directory=str(out)) == {"FINISHED"}
    assert capturing() == [1, 5, 9, 13]  # each marker frame rendered once, in a background Blender
    assert wait_for_job().state == "DONE"
    (folder,) = out.iterdir()
    assert {p.name for p in folder.iterdir()} == {"batch.json", "keys", "shots"}  # and nothing else
    batch = json.loads((folder / "batch.json").read_text())
    assert [(s["name"], s["frames"]) for s in batch["shots"]] == [("A-B", [1, 5]), ("B-C", [5, 9]), ("C-D", [9, 13])]
    request = json.loads((folder / batch["shots"][0]["job"] / "job.json").read_text())
    assert request["source"] == "MARKERS" and request["steps"] == 2 and request["width"] == 64 and request["seed"] == 0
    assert not strips_of(scene)  # nothing is generated in Blender

    # A farm task ran shots 1 and 2; shot 3 is still to come.
    run_batch(folder / "batch.json", "1-2")
    assert bpy.ops.mpd.import_batch(filepath=str(folder / "batch.json")) == {"FINISHED"}
    assert inbetween_strips(scene) == [(1, 5), (5, 9)]  # in place, at the markers' frames
    record = next(s for s in strips_of(scene) if s.frame_final_start == 1)["mpd_inbetween"]
    assert record["source"] == "MARKERS" and record["frame_b"] == 5

    # Imported again: nothing twice. Then the rest of the batch arrives.
    assert bpy.ops.mpd.import_batch(filepath=str(folder / "batch.json")) == {"FINISHED"}
    assert inbetween_strips(scene) == [(1, 5), (5, 9)]
    run_batch(folder / "batch.json", "3")
    assert bpy.ops.mpd.import_batch(filepath=str(folder / "batch.json")) == {"FINISHED"}
    assert inbetween_strips(scene) == [(1, 5), (5, 9), (9, 13)]


def test_export_and_import_refuse_bad_input(scene, prefs, tmp_path):
    build_animated_scene(scene)
    add_markers(scene, [("A", 1)])
    with pytest.raises(RuntimeError, match="at least 2 different frames"):
        bpy.ops.mpd.export_batch(directory=str(tmp_path / "farm"))
    assert not (tmp_path / "farm").exists() or not any((tmp_path / "farm").iterdir())
    (tmp_path / "not a batch.json").write_text("{")
    with pytest.raises(RuntimeError, match="cannot be read"):
        bpy.ops.mpd.import_batch(filepath=str(tmp_path / "not a batch.json"))
    with pytest.raises(RuntimeError, match="No batch at"):
        bpy.ops.mpd.import_batch(filepath=str(tmp_path / "missing" / "batch.json"))
    assert not strips_of(scene)
