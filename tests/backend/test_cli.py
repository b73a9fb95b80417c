"""The command line as a user runs it: a real backend process on the tiny model."""

import json

import pytest
import torch
from PIL import Image

from mpd_backend.contract.errors import explain_exception, phrase
from mpd_backend.contract.job_request import DEFAULT_MODEL_ID
from mpd_backend.contract.protocol import DoneEvent, ErrorEvent, ProgressEvent, decode_event
from mpd_backend.svd.loading import cpu_has_native_bf16

from .conftest import keyframe_image, run_backend
from .fake_hub import FakeHub

TINY_ARGS = ("--steps", "3", "--height", "64", "--width", "64", "--seed", "7")


def generate(tiny_model_dir, start, end, out, *extra, env=None):
    return run_backend("generate", "--start", start, "--end", end, "--out", out, "--model", tiny_model_dir,
                       "--offline", *TINY_ARGS, *extra, env=env)


def one_error_line(result):
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_generate_writes_a_complete_job_folder(tiny_model_dir, keyframe_files, tmp_path):
    out = tmp_path / "shot 010 ü"  # spaces and non-ASCII
    result = generate(tiny_model_dir, *keyframe_files, out, "--frames", "11", "--sampler", "mpd", "--json")
    assert result.returncode == 0, result.stderr
    events = [decode_event(line) for line in result.stdout.splitlines()]
    assert all(events), result.stdout
    phases = [e.phase for e in events if isinstance(e, ProgressEvent)]
    assert phases[0] == "load" and "denoise" in phases and phases[-1] == "write"
    denoise = [e for e in events if isinstance(e, ProgressEvent) and e.phase == "denoise"]
    assert [e.step for e in denoise] == [1, 2, 3] and denoise[-1].total == 3
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.frames == 11

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and len(manifest["frames"]) == 11 and manifest["schema"] == 1
    # The request was written before the job and never rewritten; what was resolved is in the manifest.
    request = json.loads((out / "job.json").read_text())
    assert request["schema"] == 1 and request["width"] == 64 and request["fps"] is None
    assert [k["frame"] for k in request["keys"]] == [0, 10] and request["source"] == "CLI"
    assert manifest["parameters"]["fps"] == 9 and manifest["parameters"]["num_frames"] == 8
    assert manifest["files"]["job.json"]["bytes"] == (out / "job.json").stat().st_size
    assert sorted(p.name for p in (out / "frames").iterdir()) == [f"{i:04d}.png" for i in range(11)]
    for name, entry in manifest["files"].items():
        assert (out / name).stat().st_size == entry["bytes"]
    assert manifest["parameters"]["sampler"] == "mpd" and manifest["parameters"]["seed"] == 7
    assert manifest["parameters"]["sampler_options"] == {"gamma": 0.2, "iterations": 3}
    assert manifest["generated_frames"] == 8 and manifest["time_map"][0] == 0 and manifest["time_map"][-1] == 7
    # The first and last frames are the keyframes themselves, at the keyframes' size.
    first, last = Image.open(out / "frames/0000.png"), Image.open(out / "frames/0010.png")
    assert first.size == (64, 64)
    assert first.tobytes() == Image.open(keyframe_files[0]).convert("RGB").tobytes()
    assert last.tobytes() == Image.open(keyframe_files[1]).convert("RGB").tobytes()
    assert not list(out.glob("*.tmp"))


def test_terminal_progress_and_frames_at_keyframe_size(tiny_model_dir, tmp_path):
    start, end = tmp_path / "a.png", tmp_path / "b.png"
    keyframe_image(96, 54, 1).save(start)
    keyframe_image(96, 54, 2).save(end)
    result = generate(tiny_model_dir, start, end, tmp_path / "job", "--frames", "3", "--sampler", "vibid")
    assert result.returncode == 0, result.stderr
    assert "denoise: 3/3" in result.stderr and "done: 3 frames" in result.stderr
    assert Image.open(tmp_path / "job/frames/0001.png").size == (96, 54)


def test_keyframes_of_different_sizes_are_fitted_and_said(tiny_model_dir, tmp_path):
    start, end = tmp_path / "a.png", tmp_path / "b.png"
    keyframe_image(64, 64, 1).save(start)
    keyframe_image(100, 60, 2).save(end)
    result = generate(tiny_model_dir, start, end, tmp_path / "job", "--frames", "2", "--sampler", "forward")
    assert result.returncode == 0, result.stderr
    assert "differ in size (64x64 and 100x60)" in result.stderr and "centre-cropped to 64x64" in result.stderr
    assert Image.open(tmp_path / "job/frames/0001.png").size == (64, 64)
    assert "differ in size" in json.loads((tmp_path / "job/manifest.json").read_text())["notes"][0]


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing_start", "The start keyframe was not found"),
        ("unreadable_end", "The end keyframe cannot be read as an image"),
        ("one_frame", "frames must be at least 2"),
        ("unknown_sampler", "invalid choice: 'magic'"),
        ("bad_size", "width must be a positive multiple of 64"),
    ],
)
def test_bad_input_gets_one_clear_line(keyframe_files, tmp_path, case, expected):
    start, end = keyframe_files
    extra = []
    if case == "missing_start":
        start = tmp_path / "nope.png"
    elif case == "unreadable_end":
        end = tmp_path / "broken.png"
        end.write_bytes(b"this is not a png")
    elif case == "one_frame":
        extra = ["--frames", "1"]
    elif case == "unknown_sampler":
        extra = ["--sampler", "magic"]
    elif case == "bad_size":
        extra = ["--width", "100"]
    out = tmp_path / "job"
    result = run_backend("generate", "--start", start, "--end", end, "--out", out, *extra)
    assert result.returncode == 2
    assert expected in one_error_line(result)
    assert not out.exists()


def test_existing_output_folder_is_never_overwritten(keyframe_files, tmp_path):
    out = tmp_path / "job"
    out.mkdir()
    (out / "precious.png").write_bytes(b"keep me")
    result = run_backend("generate", "--start", keyframe_files[0], "--end", keyframe_files[1], "--out", out)
    assert result.returncode == 2
    assert "already exists and is not empty" in one_error_line(result)
    assert [p.name for p in out.iterdir()] == ["precious.png"] and (out / "precious.png").read_bytes() == b"keep me"


def test_json_mode_reports_an_error_event_with_a_hint(keyframe_files, tmp_path):
    result = run_backend("generate", "--start", keyframe_files[0], "--end", keyframe_files[1], "--out", tmp_path / "j",
                         "--frames", "0", "--json")
    assert result.returncode == 2
    (event,) = [decode_event(line) for line in result.stdout.splitlines()]
    assert isinstance(event, ErrorEvent) and event.code == "bad_input" and event.hint


def copy_model(src, dst, skip=()):
    import shutil

    shutil.copytree(src, dst, ignore=lambda d, names: [n for n in names if n in skip])
    return dst


@pytest.mark.parametrize(
    "case, code, expected",
    [
        ("missing", "model_not_found", "Model folder not found"),
        ("no_unet", "model_incomplete", "incomplete: missing unet"),
        ("pickle_only", "unsafe_weights", "pickle files only"),
    ],
)
def test_model_folder_problems(tiny_model_dir, keyframe_files, tmp_path, case, code, expected):
    model = tmp_path / "model"
    if case == "no_unet":
        copy_model(tiny_model_dir, model, skip={"unet"})
    elif case == "pickle_only":
        copy_model(tiny_model_dir, model)
        weights = model / "unet/diffusion_pytorch_model.safetensors"
        weights.rename(weights.with_suffix(".bin"))  # named as pickle; never opened
    out = tmp_path / "job"
    result = generate(model, *keyframe_files, out, "--engine", "svd", "--json")
    assert result.returncode == 1
    assert expected in one_error_line(result)
    assert decode_event(result.stdout.splitlines()[-1]).code == code


@pytest.mark.parametrize("case", ["no_unet", "pickle_only"])
def test_a_present_but_broken_model_is_an_error_on_auto_too(tiny_model_dir, keyframe_files, tmp_path, case):
    """Only a model that is simply absent falls back to the flow engine."""
    model = tmp_path / "model"
    copy_model(tiny_model_dir, model, skip={"unet"} if case == "no_unet" else ())
    if case == "pickle_only":
        weights = model / "unet/diffusion_pytorch_model.safetensors"
        weights.rename(weights.with_suffix(".bin"))
    result = generate(model, *keyframe_files, tmp_path / "job", "--engine", "auto")
    assert result.returncode == 1
    assert ("missing unet" if case == "no_unet" else "pickle files only") in one_error_line(result)
    assert not (tmp_path / "job").exists()


def test_offline_without_a_cached_copy(keyframe_files, tmp_path):
    result = run_backend("generate", "--start", keyframe_files[0], "--end", keyframe_files[1], "--out", tmp_path / "j",
                         "--model", DEFAULT_MODEL_ID, "--engine", "svd", "--offline", env={"HF_HOME": str(tmp_path / "hf")})
    assert result.returncode == 1
    assert "not in the local cache and downloading is off" in one_error_line(result)


def test_gated_model_without_a_token(tiny_model_dir, keyframe_files, tmp_path):
    with FakeHub(DEFAULT_MODEL_ID, tiny_model_dir, gated=True) as hub:
        env = {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"), "HF_TOKEN": ""}
        result = run_backend("generate", "--start", keyframe_files[0], "--end", keyframe_files[1],
                             "--out", tmp_path / "j", "--model", DEFAULT_MODEL_ID, "--engine", "svd", "--json", env=env)
    assert result.returncode == 1
    assert "The model is gated" in one_error_line(result)
    assert "HF_TOKEN" in result.stderr


def test_out_of_memory_is_explained():
    err = explain_exception(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert err.code == "out_of_memory"
    assert "--width/--height" in phrase(err.hint, "cli") and "--offload" in phrase(err.hint, "cli")
    in_blender = phrase(err.hint, "blender")
    assert "Width and Height in the Inbetween panel" in in_blender and "Low VRAM" in in_blender and "--" not in in_blender


def test_doctor_reports_versions_devices_and_model(tiny_model_dir, tmp_path):
    result = run_backend("doctor", "--model", tiny_model_dir, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["versions"]["torch"].startswith("2.13.0") and report["versions"]["diffusers"] == "0.42.1"
    assert any(d["device"] == "cpu" and d["total_gib"] > 0 for d in report["devices"])
    size = sum(p.stat().st_size for p in tiny_model_dir.rglob("*") if p.is_file())
    assert report["model"]["found"] and report["model"]["folder"] == str(tiny_model_dir)
    assert report["model"]["size_gib"] == round(size / 2**30, 2) and size > 100_000
    native_bf16 = cpu_has_native_bf16()
    assert report["auto"] == {"device": "cpu", "dtype": "bfloat16" if native_bf16 else "float32", "low_vram": False}
    text = run_backend("doctor", "--model", tmp_path / "missing").stdout
    assert "NOT found" in text and "torch 2.13.0" in text
    assert f"auto: cpu, {report['auto']['dtype']}, low-VRAM mode off" in text
