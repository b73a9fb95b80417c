"""`make bench`'s tool, run on the tiny model so it cannot rot unnoticed between benchmark runs."""

import re
import subprocess
import sys
from pathlib import Path

from mpd_backend.samplers import get_sampler

REPO = Path(__file__).resolve().parents[2]


def test_bench_tool_counts_each_samplers_unet_work(tiny_model_dir, tmp_path):
    steps = 4
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "bench_samplers.py"), "--model", str(tiny_model_dir), "--size", "64x64",
         "--steps", str(steps), "--samplers", "forward,mpd-trf", "--skip-measures", "--no-plot", "--dtype", "float32",
         "--label", "tiny", "--out", str(tmp_path)],
        check=True, capture_output=True, text=True, timeout=600,
    )
    report = (tmp_path / "bench-tiny.md").read_text()
    rows = {m[0]: (int(m[1]), int(m[2]), float(m[3])) for m in re.findall(r"^\| ([\w-]+) \| (\d+) \| (\d+) \| [\d.]+ \| ([\d.]+) \|", report, re.M)}
    assert set(rows) == {"forward", "mpd-trf"}
    for name, (_launches, evaluations, _) in rows.items():
        assert evaluations == get_sampler(name).unet_calls(steps)
    assert rows["mpd-trf"][0] < rows["mpd-trf"][1]  # the late phase's paths share launches
    assert rows["forward"][2] == 1.0 and rows["mpd-trf"][2] > 1.0
