"""The flow engine: inbetweens by optical flow at the keyframes' own size, no model weights."""

from __future__ import annotations

import time


def generate_flow(start, end, frames: int, report, notes: list[str]) -> tuple[list, dict]:
    """``frames`` images from ``start`` to ``end``, and what to record of the run. The confidence
    (the share of the change between the keys that the flows explain) is recorded and noted; below
    ``LOW_CONFIDENCE`` the note names the SVD engine."""
    from .flow import LOW_CONFIDENCE, FlowPair, as_array, flow_inbetweens

    report.log(f"flow engine: {frames} frames at {start.size[0]}x{start.size[1]}")
    t0 = time.perf_counter()
    pair = FlowPair(as_array(start), as_array(end))
    flows_s = time.perf_counter() - t0
    if pair.confidence < LOW_CONFIDENCE:
        note = (f"flow engine confidence {pair.confidence:.2f}: the move is too large for the weight-free engine "
                "(expect smears or a dissolve); the SVD engine (SVD-XT weights, engine svd) can draw it")
    else:
        note = f"flow engine confidence {pair.confidence:.2f}"
    notes.append(note)
    report.note(note)
    t0 = time.perf_counter()
    out = flow_inbetweens(start, end, frames, on_frame=lambda n, of: report.progress("interpolate", n, of), pair=pair)
    return out, {"confidence": round(pair.confidence, 3), "timings": {"flows_s": flows_s, "interpolate_s": time.perf_counter() - t0}}
