"""The flow engine: inbetweens by optical flow at the keyframes' own size, no model weights."""

from __future__ import annotations

import time

from PIL import Image


def generate_flow(start, end, frames: int, report, notes: list[str]) -> tuple[list, dict]:
    """``frames`` images from ``start`` to ``end``, and what to record of the run. The confidence
    (the share of the change between the keys that the flows explain) is recorded and noted; below
    ``LOW_CONFIDENCE`` the note names the SVD engine."""
    from .optical_flow import FlowPair, as_array, flow_inbetweens

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


def confidence_note(confidence: float, of: str = "", engine: str = "flow engine") -> str:
    """The job's message on the flows' confidence; below ``LOW_CONFIDENCE`` it names the SVD engine."""
    from .optical_flow import LOW_CONFIDENCE

    if confidence < LOW_CONFIDENCE:
        too_large = "the weight-free engine" if engine == "flow engine" else "its flows"
        return (f"{engine} confidence {confidence:.2f}{of}: the move is too large for {too_large}, "
                "so its frames are partly a dissolve; the SVD engine (SVD-XT weights, engine svd) can draw it")
    return f"{engine} confidence {confidence:.2f}{of}"


def hermite_shifts(s: float, pair, dev_a, dev_b):
    """How far the Catmull-Rom curve at ``s`` lies from the straight line, for each key's pixels:
    ``h10(s) (m_j - F) + h11(s) (m_j+1 - F)``, the tangent deviations ``dev_a`` (on key j's grid) and
    ``dev_b`` (on key j+1's) carried to the other key's grid along the pair's flows. None: no curve."""
    from .optical_flow import backward_warp

    if dev_a is None and dev_b is None:
        return None, None
    h10, h11 = s**3 - 2 * s**2 + s, s**3 - s**2
    shift0 = shift1 = 0.0
    if dev_a is not None:
        shift0, shift1 = shift0 + h10 * dev_a, shift1 + h10 * backward_warp(dev_a, pair.flow10)
    if dev_b is not None:
        shift0, shift1 = shift0 + h11 * backward_warp(dev_b, pair.flow01), shift1 + h11 * dev_b
    return shift0, shift1


def default_pair(start, end):
    """The flow engine's own flows between two key images."""
    from .optical_flow import FlowPair, as_array

    return FlowPair(as_array(start), as_array(end))


class ChainFlows:
    """A chain's flows, each gap's computed when first needed and dropped once passed: at most three
    at a time (and a cycle's first), so memory stays flat in the chain's length."""

    def __init__(self, images: list, key_frames: list[int], segments, cycle: bool, make_pair=None):
        self.images, self.key_frames, self.segments, self.cycle = images, key_frames, segments, cycle
        self.make_pair = make_pair or default_pair
        self.n, self.period = len(key_frames) - 1, key_frames[-1] - key_frames[0]
        self.pairs: dict = {}
        self.confidences: dict[int, float] = {}
        self.flows_s = 0.0

    def pair(self, j: int):
        """The flows of segment j (wrapped in a cycle); None for a hold, adjacent keys or no segment."""
        from ..contract.chain_plan import SegmentKind

        j = j % self.n if self.cycle else j
        if not 0 <= j < self.n or self.segments[j].kind != SegmentKind.GENERATE:
            return None
        if j not in self.pairs:
            t0 = time.perf_counter()
            self.pairs[j] = self.make_pair(self.images[j], self.images[j + 1])
            self.confidences[j] = self.pairs[j].confidence
            self.flows_s += time.perf_counter() - t0
        return self.pairs[j]

    def frame(self, j: int) -> int:
        """Key j's timeline frame, continued past the ends in a cycle."""
        return self.key_frames[j % self.n] + self.period * (j // self.n) if self.cycle else self.key_frames[j]

    def drop_before(self, j: int) -> None:
        for done_with in [k for k in self.pairs if k < j - 1 and not (self.cycle and k == 0)]:
            del self.pairs[done_with]

    def tangent_deviations(self, j: int, span: int):
        """How far the Catmull-Rom tangents at keys j and j+1 depart from the chord, on each key's
        grid; None where the tangent is one-sided (the chord's)."""
        this = self.pair(j)
        before = self.pair(j - 1) if self.cycle or j > 0 else None
        after = self.pair(j + 1) if self.cycle or j + 1 < self.n else None
        dev_a = dev_b = None
        if before is not None:
            dev_a = span * (this.flow01 - before.flow10) / (self.frame(j + 1) - self.frame(j - 1)) - this.flow01
        if after is not None:
            dev_b = span * (after.flow01 - this.flow10) / (self.frame(j + 2) - self.frame(j)) + this.flow10
        return dev_a, dev_b


def generate_flow_chain(images: list, key_frames: list[int], hashes: list[str], report, notes: list[str],
                        make_pair=None, engine: str = "flow engine") -> tuple[list, dict]:
    """A chain of keys (``docs/spec/chains.md`` section 3): between keys j and j+1 each pixel moves
    along a Catmull-Rom curve through the neighbouring keys, its tangent at a key
    ``m_j = (t_j+1 - t_j) (P_j+1 - P_j-1) / (t_j+1 - t_j-1)`` from the flows to both neighbours, so
    speed is continuous through every key. At the chain's first and last key, or beside a hold, the
    tangent is one-sided, the chord's (the straight line: docs/chains-quality.md compares it with a
    parabola). Holds repeat their key; a cycle's curve wraps around. ``make_pair(start, end)``: a
    gap's ``FlowPair`` (default: this engine's own flows), and ``engine`` names whose flows they are
    in the job's messages."""
    from ..contract.chain_plan import SegmentKind, chain_segments, is_cycle

    segments = chain_segments(key_frames, hashes)
    flows = ChainFlows(images, key_frames, segments, is_cycle(hashes), make_pair)
    report.log(f"{engine}: a chain of {len(key_frames)} keys, {flows.period + 1} frames at {images[0].size[0]}x{images[0].size[1]}")
    out = {t - key_frames[0]: image for t, image in zip(key_frames, images)}
    total, done = sum(s.frame_b - s.frame_a - 1 for s in segments if s.kind != SegmentKind.ADJACENT), 0
    t0 = time.perf_counter()
    for segment in segments:
        flows.drop_before(segment.index)
        for t, image in segment_frames(flows, segment):
            out[t - key_frames[0]] = image
            done += 1
            report.progress("interpolate", done, total)
    confidence = min(flows.confidences.values(), default=1.0)
    note = confidence_note(confidence, f", the lowest of {len(flows.confidences)} gaps", engine)
    notes.append(note)
    report.note(note)
    return [out[t] for t in range(flows.period + 1)], {
        "confidence": round(confidence, 3),
        "segments": [s.to_dict() for s in segments],
        "timings": {"flows_s": flows.flows_s, "interpolate_s": time.perf_counter() - t0 - flows.flows_s},
    }


def segment_frames(flows: ChainFlows, segment):
    """(timeline frame, image) of every frame strictly between the segment's keys: its key held, or
    drawn along the curve."""
    j, span = segment.index, segment.frame_b - segment.frame_a
    this = flows.pair(j)
    dev_a, dev_b = flows.tangent_deviations(j, span) if this is not None else (None, None)
    for t in range(segment.frame_a + 1, segment.frame_b):
        if this is None:  # a hold
            yield t, flows.images[j]
        else:
            s = (t - segment.frame_a) / span
            yield t, Image.fromarray(this.at(s, *hermite_shifts(s, this, dev_a, dev_b)))
