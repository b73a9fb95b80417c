"""Does the worker's memory grow from job to job? ``serve`` on the tiny model, N jobs, the worker's
resident memory (RSS) after each, written as a Markdown table.

    .venv/bin/python -m tools.bench_serve_memory [JOBS] [OUT.md]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from PIL import Image

REPO = Path(__file__).resolve().parents[1]

from mpd_backend.contract.job_folder import write_request
from mpd_backend.contract.job_request import two_key_request
from mpd_backend.contract.protocol import DoneEvent, ReadyEvent, RunCommand, ShutdownCommand, decode_event, encode_command
from mpd_testing.tiny import save_tiny_svd


def main(jobs: int, out: Path | None) -> None:
    work = Path(tempfile.mkdtemp(prefix="mpd_bench_serve_"))
    model = save_tiny_svd(work / "tiny")
    for name, colour in (("a.png", (200, 40, 40)), ("b.png", (40, 40, 200))):
        Image.new("RGB", (64, 64), colour).save(work / name)
    worker = subprocess.Popen(
        [sys.executable, "-m", "mpd_backend", "serve", "--model", str(model), "--offline", "--device", "cpu", "--dtype", "float32"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    process = psutil.Process(worker.pid)
    events = (decode_event(line) for line in worker.stdout)
    ready = next(e for e in events if isinstance(e, ReadyEvent))
    rows = [("after load", process.memory_info().rss, 0.0)]
    for k in range(jobs):
        folder = work / f"job{k}"
        folder.mkdir()
        job = write_request(folder, two_key_request(str(work / "a.png"), str(work / "b.png"), 12, model=str(model), offline=True,
                                                    device="cpu", dtype="float32", steps=4, width=64, height=64, seed=k))
        t0 = time.perf_counter()
        worker.stdin.write(encode_command(RunCommand(str(k), str(job))) + "\n")
        worker.stdin.flush()
        end = next(e for e in events if e and e.id == str(k) and e.kind in ("done", "error"))
        assert isinstance(end, DoneEvent), end
        rows.append((f"job {k + 1}", process.memory_info().rss, time.perf_counter() - t0))
    worker.stdin.write(encode_command(ShutdownCommand()) + "\n")
    worker.stdin.close()
    worker.wait(timeout=60)

    mib = lambda b: b / 2**20
    lines = [
        f"Worker RSS over {jobs} jobs (tiny model, mpd, 4 steps, 64x64, 8 generated frames, 12 written; "
        f"{os.cpu_count()} CPU cores; model load {ready.load_s} s)",
        "",
        "| after | RSS (MiB) | job time (s) |",
        "|---|---|---|",
        *[f"| {name} | {mib(rss):.1f} | {secs:.2f} |" for name, rss, secs in rows],
        "",
        f"Growth from job 1 to job {jobs}: {mib(rows[-1][1] - rows[1][1]):+.1f} MiB; "
        f"from job {jobs // 2} to job {jobs}: {mib(rows[-1][1] - rows[jobs // 2][1]):+.1f} MiB.",
    ]
    text = "\n".join(lines)
    print(text)
    if out:
        out.write_text(text + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20, Path(sys.argv[2]) if len(sys.argv) > 2 else None)
