"""The flow engine: inbetweens by optical flow at the keyframes' own size, no model weights."""

from __future__ import annotations

import time


def generate_flow(start, end, frames: int, report) -> tuple[list, dict]:
    """``frames`` images from ``start`` to ``end``, and what to record of the run."""
    from .flow import flow_inbetweens

    report.log(f"flow engine: {frames} frames at {start.size[0]}x{start.size[1]}")
    t0 = time.perf_counter()
    out = flow_inbetweens(start, end, frames, on_frame=lambda n, of: report.progress("interpolate", n, of))
    return out, {"timings": {"interpolate_s": time.perf_counter() - t0}}
