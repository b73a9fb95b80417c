"""What each farm task pays before its first shot: a fresh backend process, its imports and the
model load, timed in new processes as ``run-batch`` pays them (docs/farm.md).

    .venv/bin/python -m tools.bench_farm_load [MODEL_DIR ...] [--runs 3]

Without a model folder it times the tiny model (built here) and, when present, the real SVD-XT
architecture with random weights (build/svd-xt-random, made by ``make bench``). Prints a Markdown
table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Runs in the fresh process: the imports run-batch makes, then the model load, each timed.
PROBE = """
import json, sys, time
t0 = time.perf_counter()
from mpd_backend.worker import load_model
t1 = time.perf_counter()
load_model({"engine": "svd", "model": sys.argv[1], "device": "cpu", "dtype": "float32", "offload": None, "offline": True})
t2 = time.perf_counter()
print(json.dumps({"imports_s": t1 - t0, "load_s": t2 - t1}))
"""


def probe(model: str) -> dict:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PROBE, model], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    timings = json.loads(result.stdout.strip().splitlines()[-1])
    timings["process_s"] = time.perf_counter() - started
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    models = list(args.models)
    if not models:
        from mpd_testing.tiny import save_tiny_svd

        models.append(str(save_tiny_svd(Path(tempfile.mkdtemp(prefix="mpd_farm_load_")) / "tiny-svd")))
        if (REPO / "build/svd-xt-random/model_index.json").is_file():
            models.append(str(REPO / "build/svd-xt-random"))
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; fp32 on the CPU; {args.runs} runs each\n")
    print("| model | run | load: torch, diffusers and the weights (s) | whole process (s) |")
    print("|---|---|---|---|")
    for model in models:
        for run in range(1, args.runs + 1):
            t = probe(model)
            print(f"| {Path(model).name} | {run} | {t['imports_s'] + t['load_s']:.2f} | {t['process_s']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
