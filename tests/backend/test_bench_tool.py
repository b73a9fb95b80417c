"""`make bench` and `make bench-gpu`'s tool in its dry run: every section on the CPU with the tiny
model, so that the GPU kit cannot rot between the rare runs on a lent GPU."""

import re
import subprocess
import sys
from pathlib import Path

from mpd_backend.protocol import SAMPLER_NAMES
from mpd_backend.samplers import get_sampler

REPO = Path(__file__).resolve().parents[2]


def test_gpu_kit_dry_run_covers_every_section(tmp_path):
    subprocess.run([sys.executable, str(REPO / "tools" / "bench_samplers.py"), "--dry-run", "--out", str(tmp_path)],
                   check=True, capture_output=True, text=True, timeout=900)
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
