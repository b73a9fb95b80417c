"""The flow engine: inbetweens by optical flow at the keyframes' own size, no model weights."""

from __future__ import annotations

import time

from PIL import Image


def generate_flow(start, end, frames: int, report, notes: list[str]) -> tuple[list, dict]:
    """``frames`` images from ``start`` to ``end``, and what to record of the run. The confidence
    (the share of the change between the keys that the flows explain) is recorded and noted; below
    ``LOW_CONFIDENCE`` the note names the SVD engine."""
    from .flow import FlowPair, as_array, flow_inbetweens

    report.log(f"flow engine: {frames} frames at {start.size[0]}x{start.size[1]}")
    t0 = time.perf_counter()
    pair = FlowPair(as_array(start), as_array(end))
    flows_s = time.perf_counter() - t0
    note = confidence_note(pair.confidence)
    notes.append(note)
    report.note(note)
    t0 = time.perf_counter()
    out = flow_inbetweens(start, end, frames, on_frame=lambda n, of: report.progress("interpolate", n, of), pair=pair)
    return out, {"confidence": round(pair.confidence, 3), "timings": {"flows_s": flows_s, "interpolate_s": time.perf_counter() - t0}}


def confidence_note(confidence: float, of: str = "") -> str:
    """The job's message on the flows' confidence; below ``LOW_CONFIDENCE`` it names the SVD engine."""
    from .flow import LOW_CONFIDENCE

    if confidence < LOW_CONFIDENCE:
        return (f"flow engine confidence {confidence:.2f}{of}: the move is too large for the weight-free engine, "
                "so its frames are partly a dissolve; the SVD engine (SVD-XT weights, engine svd) can draw it")
    return f"flow engine confidence {confidence:.2f}{of}"


def hermite_shifts(s: float, pair, dev_a, dev_b):
    """How far the Catmull-Rom curve at ``s`` lies from the straight line, for each key's pixels:
    ``h10(s) (m_j - F) + h11(s) (m_j+1 - F)``, the tangent deviations ``dev_a`` (on key j's grid) and
    ``dev_b`` (on key j+1's) carried to the other key's grid along the pair's flows. None: no curve."""
    from .flow import backward_warp

    if dev_a is None and dev_b is None:
        return None, None
    h10, h11 = s**3 - 2 * s**2 + s, s**3 - s**2
    shift0 = shift1 = 0.0
    if dev_a is not None:
        shift0, shift1 = shift0 + h10 * dev_a, shift1 + h10 * backward_warp(dev_a, pair.flow10)
    if dev_b is not None:
        shift0, shift1 = shift0 + h11 * backward_warp(dev_b, pair.flow01), shift1 + h11 * dev_b
    return shift0, shift1


def generate_flow_chain(images: list, key_frames: list[int], hashes: list[str], report, notes: list[str]) -> tuple[list, dict]:
    """A chain of keys (``shared/spec/chains.md`` section 3): between keys j and j+1 each pixel moves
    along a Catmull-Rom curve through the neighbouring keys, its tangent at a key
    ``m_j = (t_j+1 - t_j) (P_j+1 - P_j-1) / (t_j+1 - t_j-1)`` from the flows to both neighbours, so
    speed is continuous through every key. At the chain's first and last key, or beside a hold, the
    tangent is one-sided, the chord's (the straight line): on the rendered shots of
    docs/chains-quality.md it beat the parabola through the next two keys on every row. Holds repeat
    their key; a cycle's curve wraps around."""
    from .chain import SegmentKind, chain_segments, is_cycle
    from .flow import FlowPair, as_array

    cycle = is_cycle(hashes)
    segments = chain_segments(key_frames, hashes)
    n, period = len(key_frames) - 1, key_frames[-1] - key_frames[0]
    report.log(f"flow engine: a chain of {len(key_frames)} keys, {period + 1} frames at {images[0].size[0]}x{images[0].size[1]}")
    pairs: dict[int, FlowPair] = {}  # at most three at a time (and a cycle's first): memory stays flat in the chain's length
    confidences: dict[int, float] = {}
    flows_s = 0.0

    def pair(j: int):
        """The flows of segment j (wrapped in a cycle), computed once; None for a hold or adjacent keys."""
        nonlocal flows_s
        j = j % n if cycle else j
        if not 0 <= j < n or segments[j].kind != SegmentKind.GENERATE:
            return None
        if j not in pairs:
            t0 = time.perf_counter()
            pairs[j] = FlowPair(as_array(images[j]), as_array(images[j + 1]))
            confidences[j] = pairs[j].confidence
            flows_s += time.perf_counter() - t0
        return pairs[j]

    def frame(j: int) -> int:
        return key_frames[j % n] + period * (j // n) if cycle else key_frames[j]

    out = {t - key_frames[0]: image for t, image in zip(key_frames, images)}
    total, done = sum(s.frame_b - s.frame_a - 1 for s in segments if s.kind != SegmentKind.ADJACENT), 0
    t0 = time.perf_counter()
    for segment in segments:
        j, span = segment.index, segment.frame_b - segment.frame_a
        for done_with in [k for k in pairs if k < j - 1 and not (cycle and k == 0)]:
            del pairs[done_with]
        this = pair(j)
        dev_a = dev_b = None
        if this is not None:
            before = pair(j - 1) if cycle or j > 0 else None
            after = pair(j + 1) if cycle or j + 1 < n else None
            if before is not None:
                dev_a = span * (this.flow01 - before.flow10) / (frame(j + 1) - frame(j - 1)) - this.flow01
            if after is not None:
                dev_b = span * (after.flow01 - this.flow10) / (frame(j + 2) - frame(j)) + this.flow10
        for t in range(segment.frame_a + 1, segment.frame_b):
            if this is None:  # a hold
                image = images[j]
            else:
                s = (t - segment.frame_a) / span
                image = Image.fromarray(this.at(s, *hermite_shifts(s, this, dev_a, dev_b)))
            out[t - key_frames[0]] = image
            done += 1
            report.progress("interpolate", done, total)
    confidence = min(confidences.values(), default=1.0)
    note = confidence_note(confidence, f", the lowest of {len(confidences)} gaps")
    notes.append(note)
    report.note(note)
    return [out[t] for t in range(period + 1)], {
        "confidence": round(confidence, 3),
        "segments": [s.to_dict() for s in segments],
        "timings": {"flows_s": flows_s, "interpolate_s": time.perf_counter() - t0 - flows_s},
    }
