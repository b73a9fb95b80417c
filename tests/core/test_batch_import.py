"""Which shots of a farm batch Import Batch Results takes, without Blender."""

import importlib
import json

import pytest


@pytest.fixture(scope="module")
def batch_import(addon_package):
    return importlib.import_module("mpd_inbetween.core.batch_import")


def test_complete_shots_in_timeline_order_and_the_rest_by_name(batch_import, tmp_path):
    from mpd_backend.contract.farm_batch import write_batch

    images = {}
    for frame in (1, 5, 9, 13):
        images[frame] = str(tmp_path / f"{frame}.png")
        (tmp_path / f"{frame}.png").write_bytes(b"png")
    batch_file = write_batch(tmp_path / "batch", images, [("A-B", 1, 5), ("B-C", 5, 9), ("C-D", 9, 13)], {"engine": "flow"}, "CLI")
    shots = json.loads(batch_file.read_text())["shots"]
    for shot in (shots[2], shots[0]):  # complete: a manifest written last
        (tmp_path / "batch" / shot["job"] / "manifest.json").write_text(json.dumps({"complete": True, "frames": []}))
    (tmp_path / "batch" / shots[1]["job"] / "manifest.json.tmp").write_text("{")  # a manifest never finished
    results = batch_import.batch_results(tmp_path / "batch")
    assert [p.name for p in results.complete] == ["01_A-B", "03_C-D"]
    assert all(p.is_absolute() for p in results.complete)
    assert results.incomplete == ["B-C"]


def test_a_missing_or_broken_batch_is_one_message(batch_import, tmp_path):
    UserError = importlib.import_module("mpd_inbetween.core.user_error").UserError
    with pytest.raises(UserError, match="No batch at"):
        batch_import.batch_results(tmp_path)
    (tmp_path / "batch.json").write_text(json.dumps({"schema": 1, "shots": [{"number": 1, "name": "x", "job": "../elsewhere", "frames": [1, 5]}]}))
    with pytest.raises(UserError, match="outside the batch folder"):
        batch_import.batch_results(tmp_path / "batch.json")
