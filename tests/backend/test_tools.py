"""Every benchmark tool of the backend's environment in its dry run, so that none rots between the
rare full runs: the GPU kit (every section on the CPU with the tiny model), the quality and chain
benchmarks (synthetic footage), the estimate check, the worker's memory and the farm task's load.
Each runs as ``make`` runs it, ``python -m tools.<name>`` from the repository root."""

import re
import subprocess
import sys
from pathlib import Path

from mpd_backend.contract.sampler_table import SAMPLER_NAMES
from mpd_backend.svd.samplers import get_sampler

REPO = Path(__file__).resolve().parents[2]


def run_tool(name: str, *args, timeout: int = 900) -> str:
    result = subprocess.run([sys.executable, "-m", f"tools.{name}", *map(str, args)], capture_output=True, text=True,
                            timeout=timeout, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_gpu_kit_dry_run_covers_every_section(tmp_path):
    run_tool("bench_samplers", "--dry-run", "--out", tmp_path)
    report = (tmp_path / "bench-dry-run.md").read_text()
    rows = {m[0]: (int(m[1]), int(m[2]), float(m[3])) for m in re.findall(r"^\| ([\w-]+) \| (\d+) \| (\d+) \| [\d.]+ \| ([\d.]+) \|", report, re.M)}
    assert set(rows) == set(SAMPLER_NAMES)
    for name, (_launches, evaluations, _) in rows.items():
        assert evaluations == get_sampler(name).unet_calls(2)
    assert rows["mpd-trf"][0] < rows["mpd-trf"][1]  # the late phase's paths share launches
    assert rows["forward"][2] == 1.0
    assert "- One CFG-pair UNet call: " in report
    for section in ("| torch.compile | eager |", "| torch.compile | first call, compiling", "| memory cap | uncapped (CPU) | ",
                    "| attention |", "| decode chunk |"):
        assert section in report


def test_quality_benchmark_dry_run_writes_its_report_and_pictures(tmp_path):
    run_tool("bench_quality", "--dry-run", "--out", tmp_path)
    report = (tmp_path / "quality.md").read_text()
    # Per gap: the gap, its footage count, then PSNR, SSIM and GMSD of each of the four methods.
    gaps = re.findall(r"^\| (\d+) \| 1 \|(?: [\d.]+ \|){12} ", report, re.M)
    assert gaps == ["2", "4", "8", "16", "32"]
    for engine in ("flow", "rife", "rife-flows"):
        assert re.search(rf"^\| 64x48 \| {engine} \| [\d.]+ \| [\d.]+ \|$", report, re.M)
    for picture in ("quality.png", "quality-middle.png", "quality-demo.png"):
        assert (tmp_path / picture).stat().st_size > 1000


def test_chains_benchmark_dry_run_writes_its_report_and_figures(tmp_path, tiny_model_dir):
    run_tool("bench_chains", "--dry-run", "--tiny-model", tiny_model_dir, "--out", tmp_path)
    report = (tmp_path / "chains-quality.md").read_text()
    assert len(re.findall(r"^\| arc \| (8|16) \|", report, re.M)) == 2
    assert "every key exact" in report and "Largest difference between a key image and the frame at its key: 0 " in report
    for figure in ("chains-speed.png", "chains-layout.png"):
        assert (tmp_path / figure).stat().st_size > 1000


def test_estimate_check_dry_run_prices_and_times_every_sampler(tmp_path, tiny_model_dir):
    out = tmp_path / "estimate.md"
    run_tool("bench_estimate", "--model", tiny_model_dir, "--sizes", "64x64x4", "--steps", "2", "--out", out, "--calibration-size", "64x64x4",
             "--preview-repeats", "2")
    rows = re.findall(r"^\| 64x64x4 \| ([\w-]+) \| (\d+) \| [\d.]+ \| [\d.]+ \| [+-]\d+ % \|$", out.read_text(), re.M)
    assert {name: int(calls) for name, calls in rows} == {name: get_sampler(name).unet_calls(2) for name in SAMPLER_NAMES}


def test_worker_memory_dry_run_over_two_jobs(tmp_path):
    out = tmp_path / "memory.md"
    run_tool("bench_serve_memory", "2", out)
    assert re.findall(r"^\| (after load|job \d) \| [\d.]+ \|", out.read_text(), re.M) == ["after load", "job 1", "job 2"]


def test_farm_load_dry_run_times_one_load(tiny_model_dir):
    table = run_tool("bench_farm_load", tiny_model_dir, "--runs", "1")
    assert re.search(rf"^\| {tiny_model_dir.name} \| 1 \| [\d.]+ \| [\d.]+ \|$", table, re.M)


def test_job_estimate_check_dry_run_prices_and_times_a_generate_process(tmp_path, tiny_model_dir):
    out = tmp_path / "estimate-job.md"
    run_tool("bench_job_estimate", "--model", tiny_model_dir, "--sizes", "64x64", "--steps", "2", "--frames", "5",
             "--calibration-size", "64x64x4", "--dtype", "float32", "--out", out)
    assert re.search(r"^\| 64x64 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [+-]\d+ % \|$", out.read_text(), re.M)


def test_take_sheet_stacks_the_takes_with_what_each_records(tmp_path, tiny_model_dir, keyframe_files):
    from PIL import Image

    from .conftest import run_backend

    jobs = []
    for seed in (3, 4):
        jobs.append(tmp_path / f"take {seed}")
        result = run_backend("generate", "--start", keyframe_files[0], "--end", keyframe_files[1], "--out", jobs[-1],
                             "--model", tiny_model_dir, "--offline", "--steps", "2", "--width", "64", "--height", "64",
                             "--frames", "5", "--seed", str(seed))
        assert result.returncode == 0, result.stderr
    out = tmp_path / "takes.png"
    assert "2 takes" in run_tool("take_sheet", out, *jobs)
    sheet = Image.open(out)
    assert sheet.width == 5 * 64 and sheet.height == 2 * (64 + 2 * 16)  # a row of five frames per take, captioned
    result = subprocess.run([sys.executable, "-m", "tools.take_sheet", out, *jobs], capture_output=True, text=True, cwd=REPO)
    assert result.returncode != 0 and "not overwritten" in result.stderr
