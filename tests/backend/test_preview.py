"""The live preview and the contact sheet, as the add-on receives them from a real job (tiny model)."""

import json
import time

import numpy as np
import torch
from PIL import Image

from mpd_backend.contact_sheet import contact_sheet
from mpd_backend.contract.protocol import PreviewEvent, ProgressEvent, decode_event
from mpd_backend.svd.preview import preview_image, write_preview

from .conftest import run_backend

TINY = ("--steps", "3", "--height", "64", "--width", "64", "--seed", "7", "--offline", "--device", "cpu", "--dtype", "float32")


def test_every_denoising_step_writes_a_preview_and_says_so(tiny_model_dir, keyframe_files, tmp_path):
    out = tmp_path / "job"
    result = run_backend("generate", "--start", keyframe_files[0], "--end", keyframe_files[1], "--out", out, "--model",
                         tiny_model_dir, "--frames", "9", "--sampler", "vibid", *TINY, "--json")
    assert result.returncode == 0, result.stderr
    events = [decode_event(line) for line in result.stdout.splitlines()]
    previews = [e for e in events if isinstance(e, PreviewEvent)]
    steps = [e.step for e in events if isinstance(e, ProgressEvent) and e.phase == "denoise"]
    assert [p.step for p in previews] == steps == [1, 2, 3] and all(p.total == 3 for p in previews)
    assert all(p.path == str(out / "preview.png") for p in previews)
    assert previews[-1].remaining_s == 0 and previews[0].elapsed_s > 0
    preview = Image.open(out / "preview.png")
    assert preview.size == (4 * 16, 16)  # four frames at the latent size (the tiny VAE shrinks by 4), side by side
    manifest = json.loads((out / "manifest.json").read_text())
    assert "contact_sheet.png" in manifest["files"] and manifest["timings"]["preview_s"] > 0
    sheet = Image.open(out / "contact_sheet.png")
    assert sheet.size == (7 * 64, 2 * (64 + 16))  # 9 frames in rows of 7, each with its label


def test_preview_picks_first_to_last_frames_and_is_written_whole(tmp_path):
    latents = torch.zeros(1, 25, 4, 9, 16)
    latents[0, -1, 0] = 3.0  # only the last frame differs
    image = preview_image(latents)
    assert image.size == (4 * 16, 9)
    pixels = torch.from_numpy(np.asarray(image).copy())
    assert (pixels[:, :48] == 127).all() and (pixels[:, 48:] != 127).any()
    began = time.perf_counter()
    seconds = write_preview(tmp_path / "preview.png", latents)
    assert 0 < seconds <= time.perf_counter() - began  # the time it reports is its own
    assert [p.name for p in tmp_path.iterdir()] == ["preview.png"]  # no temporary file left


def test_contact_sheet_labels_timeline_frames_and_shrinks_large_frames():
    frames = [Image.new("RGB", (1920, 1080), (i * 20, 0, 0)) for i in range(3)]
    sheet = contact_sheet(frames, first_frame=10, key_frames=[10, 12])
    assert sheet.size == (3 * 384, 216 + 16)
