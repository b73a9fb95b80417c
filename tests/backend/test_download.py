"""Model download by id, against a stand-in hub on loopback (never a real hub)."""

import json

from mpd_backend.contract.protocol import DownloadedEvent, ProgressEvent, decode_event

from .conftest import run_backend
from .fake_hub import FakeHub

REPO_ID = "test-org/tiny-svd"


def test_download_with_progress_then_generate_from_the_cache_offline(tiny_model_dir, keyframe_files, tmp_path):
    hf_home = str(tmp_path / "hf home")
    with FakeHub(REPO_ID, tiny_model_dir) as hub:
        result = run_backend("download", "--model", REPO_ID, "--json", env={"HF_ENDPOINT": hub.url, "HF_HOME": hf_home})
    assert result.returncode == 0, result.stderr
    events = [decode_event(line) for line in result.stdout.splitlines()]
    progress = [e for e in events if isinstance(e, ProgressEvent)]
    assert progress and all(e.phase == "download" for e in progress)
    assert progress[-1].step == progress[-1].total > 1_000_000  # bytes, the weights included
    done = events[-1]
    assert isinstance(done, DownloadedEvent) and (tmp_path / "hf home").as_posix() in done.folder
    assert any(r.startswith("GET") and r.endswith("unet/diffusion_pytorch_model.safetensors") for r in hub.requests)

    # The hub is gone: the cached copy serves an offline job.
    job = run_backend("generate", "--start", keyframe_files[0], "--end", keyframe_files[1], "--out", tmp_path / "job",
                      "--model", REPO_ID, "--engine", "svd", "--offline", "--steps", "2", "--width", "64", "--height", "64",
                      "--frames", "4", env={"HF_HOME": hf_home})
    assert job.returncode == 0, job.stderr
    assert json.loads((tmp_path / "job/manifest.json").read_text())["engine"] == "svd"


def test_download_of_a_gated_model_without_a_token(tiny_model_dir, tmp_path):
    with FakeHub(REPO_ID, tiny_model_dir, gated=True) as hub:
        result = run_backend("download", "--model", REPO_ID, env={"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path), "HF_TOKEN": ""})
    assert result.returncode == 1
    assert "The model is gated" in result.stderr and "HF_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_download_of_a_local_folder_is_refused(tiny_model_dir):
    result = run_backend("download", "--model", tiny_model_dir)
    assert result.returncode == 2 and "nothing to download" in result.stderr
