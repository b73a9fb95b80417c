"""Estimates before a job: the FLOP fit, calibrate and estimate as a user runs them (tiny model)."""

import json
import time

import pytest

from mpd_backend.contract import pricing
from mpd_backend.svd.calibration import decode_flops, fit_flops, meta_components, unet_pair_flops
from mpd_backend.svd.samplers import get_sampler

from .conftest import run_backend


def test_flop_fit_prices_sizes_it_was_not_fitted_on(pipe):
    unet, vae = meta_components(pipe)
    for count in (lambda t, h, w: unet_pair_flops(unet, t, h, w), lambda t, h, w: decode_flops(vae, t, h, w)):
        coefficients = fit_flops(count)
        for frames, width, height in ((25, 1024, 576), (14, 576, 1024), (8, 512, 320)):
            counted = count(frames, height // 8, width // 8)
            assert pricing.counted_flops(coefficients, frames, width, height) == pytest.approx(counted, rel=0.05)


@pytest.fixture(scope="module")
def calibrated(tiny_model_dir, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    options = ("--model", tiny_model_dir, "--offline", "--device", "cpu", "--dtype", "float32")
    result = run_backend("calibrate", *options, "--size", "64x64x4", "--json", env={"MPD_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    return cache, options, json.loads(result.stdout)


def test_calibrate_caches_the_measured_speed(calibrated, tiny_model_dir):
    cache, _, entry = calibrated
    assert entry["device"] == "cpu" and entry["dtype"] == "float32" and entry["size"] == [64, 64, 4]
    assert entry["unet_flops_per_s"] > 0 and entry["decode_flops_per_s"] > 0
    stored = json.loads((cache / "calibration.json").read_text())["calibrations"]
    (key,) = stored
    assert key == f"cpu|float32|full|{tiny_model_dir.resolve()}"
    assert stored[key]["unet_pair_s"] == entry["unet_pair_s"] and len(stored[key]["unet_pair_flops"]) == 5


def test_estimate_prices_a_job_from_the_cache(calibrated):
    cache, options, entry = calibrated
    seconds = {}
    for sampler in ("forward", "mpd", "mpd-trf"):
        result = run_backend("estimate", *options, "--sampler", sampler, "--width", "128", "--height", "64", "--json",
                             env={"MPD_CACHE_DIR": str(cache)})
        assert result.returncode == 0 and "calibrating" not in result.stderr, result.stderr
        found = json.loads(result.stdout)
        assert found["unet_calls"] == get_sampler(sampler).unet_calls(get_sampler(sampler).default_steps)
        assert found["memory"] == "RAM" and found["peak_gib"] > 0
        seconds[sampler] = found["seconds"]
    assert seconds["forward"] < seconds["mpd"] < seconds["mpd-trf"]
    larger = run_backend("estimate", *options, "--width", "256", "--height", "128", env={"MPD_CACHE_DIR": str(cache)})
    assert larger.returncode == 0 and larger.stdout.startswith("about ") and "of RAM" in larger.stdout
    bad = run_backend("estimate", *options, "--sampler", "magic", env={"MPD_CACHE_DIR": str(cache)})
    assert bad.returncode == 2 and "magic" in bad.stderr and "Traceback" not in bad.stderr


def test_what_the_panel_says():
    assert pricing.format_estimate({"seconds": 130.2, "peak_gib": 9.6, "memory": "GPU"}) == "about 2 min 10 s, 9.6 GB"
    assert pricing.format_estimate({"seconds": 7300, "peak_gib": 5.5, "memory": "RAM"}) == "about 2 h 1 min, 5.5 GB of RAM"
    on_gpu = {"peak_gib": 14.0, "memory": "GPU"}
    assert pricing.memory_warning(on_gpu, 20.0, offload=False) is None
    warning = pricing.memory_warning(on_gpu, 11.5, offload=False)
    assert "11.5 GB is free" in warning and "Low VRAM" in warning and "width and height" in warning
    assert "Low VRAM" not in pricing.memory_warning(on_gpu, 11.5, offload=True)


def test_a_chain_is_priced_as_its_windows(calibrated, keyframe_files):
    cache, options, entry = calibrated
    start, end = keyframe_files
    keys = [arg for frame in (1, 5, 9, 13, 17) for arg in ("--key", f"{frame}={start if frame % 2 else end}")]
    pair = json.loads(run_backend("estimate", *options, "--key", f"1={start}", "--key", f"9={end}", "--json",
                                  env={"MPD_CACHE_DIR": str(cache)}).stdout)
    result = run_backend("estimate", *options, *keys, "--json", env={"MPD_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    chain = json.loads(result.stdout)
    assert (pair["windows"], chain["windows"]) == (1, 2)  # 17 frames over the tiny model's 8-frame windows
    assert chain["unet_calls"] == 2 * pair["unet_calls"]
    assert chain["parts"]["denoise"] == pytest.approx(2 * pair["parts"]["denoise"])
    assert chain["parts"]["load"] == pair["parts"]["load"] > 0  # one process, one load, however many windows
    assert chain["peak_gib"] == pair["peak_gib"]
    text = run_backend("estimate", *options, *keys, env={"MPD_CACHE_DIR": str(cache)}).stdout
    assert "(2 windows)" in text


def test_the_estimate_prices_the_wait_load_included(calibrated, keyframe_files, tmp_path):
    """What a user waits for at 128x128 on the tiny model: the estimate against a measured generate
    process. The bound is loose (a loaded machine times anything); docs/performance.md has the
    measured table (tools/bench_job_estimate)."""
    cache, options, entry = calibrated
    assert entry["start_s"] > 0 and entry["load_s"] > 0 and entry["write_s_per_mpx"] > 0
    job = ("--start", keyframe_files[0], "--end", keyframe_files[1], "--width", "128", "--height", "128", "--steps", "4",
           "--frames", "9", "--seed", "1")
    found = json.loads(run_backend("estimate", *options, *job, "--json", env={"MPD_CACHE_DIR": str(cache)}).stdout)
    parts = found["parts"]
    assert parts["start"] == entry["start_s"] and parts["load"] == entry["load_s"] and parts["write"] > 0
    assert found["seconds"] == pytest.approx(sum(parts.values()))
    began = time.perf_counter()
    result = run_backend("generate", *options, *job, "--out", tmp_path / "job", env={"MPD_CACHE_DIR": str(cache)})
    measured = time.perf_counter() - began
    assert result.returncode == 0, result.stderr
    assert measured / 3 < found["seconds"] < measured * 3, (found, measured)
    assert "to load)" in pricing.format_estimate(found)
