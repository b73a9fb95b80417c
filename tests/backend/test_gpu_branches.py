"""The branches that only a CUDA machine takes, on this CPU one: ``torch.cuda`` is faked (a GPU of a
given size) in a backend process of its own, and the model comes from a stand-in hub that holds
both the full and the fp16 weights. What runs for real: the device and dtype choice, the fp16
variant download, the low-VRAM choice and the loading; only the move onto the (absent) GPU is
recorded instead of made."""

import json
import shutil

import pytest

from .conftest import run_backend
from .fake_hub import FakeHub

REPO_ID = "test-org/tiny-svd-fp16"

FAKE_CUDA = r"""
import json, sys, types
import torch

torch.cuda.is_available = lambda: True
torch.cuda.current_device = lambda: 0
torch.cuda.device_count = lambda: 1
torch.cuda.get_device_properties = lambda index: types.SimpleNamespace(total_memory=float(sys.argv[2]) * 2**30, name="Fake GPU")

from mpd_backend.svd import pipeline
from mpd_backend.svd.loading import load_pipeline, resolve_device, resolve_dtype

calls = []
pipeline.InbetweenPipeline.to = lambda self, *args, **kwargs: calls.append(["to", *map(str, args)]) or self
pipeline.InbetweenPipeline.enable_low_vram_mode = lambda self, device="cuda": calls.append(["low_vram", device])
device = resolve_device("auto")
pipe = load_pipeline(sys.argv[1], device="auto", dtype="auto", offload=None)
print(json.dumps({"device": device, "dtype": str(resolve_dtype("auto", device)), "unet_dtype": str(pipe.unet.dtype), "calls": calls}))
"""


@pytest.fixture(scope="module")
def two_precisions(tiny_model_dir, tmp_path_factory):
    """The tiny model's folder with fp16 copies of its weights beside the full ones, as on the hub."""
    import torch
    from diffusers import StableVideoDiffusionPipeline

    folder = tmp_path_factory.mktemp("hub") / "tiny-svd"
    shutil.copytree(tiny_model_dir, folder)
    half = StableVideoDiffusionPipeline.from_pretrained(tiny_model_dir).to(torch.float16)
    half.save_pretrained(folder, variant="fp16", safe_serialization=True)
    return folder


def load_on_a_fake_gpu(folder, gib: float, tmp_path) -> tuple[dict, list[str]]:
    with FakeHub(REPO_ID, folder) as hub:
        result = run_backend("-c", FAKE_CUDA, REPO_ID, gib, env={"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf")}, module=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), [r for r in hub.requests if r.startswith("GET") and "safetensors" in r]


def test_a_small_gpu_gets_fp16_weights_only_and_low_vram_mode(two_precisions, tmp_path):
    found, fetched = load_on_a_fake_gpu(two_precisions, 12, tmp_path)
    assert found["device"] == "cuda" and found["dtype"] == "torch.float16" and found["unet_dtype"] == "torch.float16"
    assert found["calls"] == [["low_vram", "cuda"]]  # under 16 GB: offload, not the whole model on the GPU
    assert fetched and all(".fp16.safetensors" in r for r in fetched)  # half the download
    assert {r.split("/")[-2] for r in fetched} == {"unet", "vae", "image_encoder"}


def test_a_large_gpu_holds_the_whole_model(two_precisions, tmp_path):
    found, _ = load_on_a_fake_gpu(two_precisions, 24, tmp_path)
    assert found["calls"] == [["to", "cuda"]]
