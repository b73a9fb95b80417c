"""Planning a keyframe chain (``docs/spec/chains.md``): its segments, its SVD windows and where
each timeline frame falls in its window. Standard library only: the pricing counts a chain's
windows before its images exist.

The layout (chains.md section 2; docs/chains.md has the figure):

- The keys cut the strip into segments. Two consecutive keys with the same image make a **hold**
  (their frames repeat that image, nothing is generated) and two keys on adjacent frames make an
  **adjacent** segment (nothing between them). Either ends a **run** of segments to generate.
- A run is covered by windows that share their boundary key. A window's **core** is the keys whose
  frames it outputs; it also holds one **context key** on each side where the run goes on (or, in a
  cycle, wraps around): pinned like any key, its frames generated and discarded, so that the motion
  through the shared key is drawn knowing where it goes next, by both windows.
- Each window is as long as it can be: its keys, context included, span at most
  ``MAX_SPAN_PER_FRAME * T`` timeline frames, and land on window frames ``k_j`` at least 2 apart.
  Where even one segment with both context keys does not fit, it takes the one before, else the one
  after, else none (a long gap, resampled as a two-key job is).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_SPAN_PER_FRAME = 2  # a window covers at most 2T timeline frames: about one synthesised frame per generated one


class SegmentKind(StrEnum):
    GENERATE = "generate"
    HOLD = "hold"  # the two keys show the same image: it is held
    ADJACENT = "adjacent"  # keys on consecutive frames: nothing between them


@dataclass(frozen=True)
class Segment:
    index: int  # from key ``index`` to key ``index + 1``
    frame_a: int
    frame_b: int
    kind: SegmentKind

    def to_dict(self) -> dict:
        return {"frames": [self.frame_a, self.frame_b], "kind": self.kind.value}


def segments(frames: list[int], same_image: list[bool]) -> list[Segment]:
    """The chain's segments; ``same_image[j]``: keys j and j+1 show the same pixels."""
    out = []
    for j, (a, b) in enumerate(zip(frames, frames[1:])):
        kind = SegmentKind.ADJACENT if b - a < 2 else SegmentKind.HOLD if same_image[j] else SegmentKind.GENERATE
        out.append(Segment(j, a, b, kind))
    return out


def chain_segments(frames: list[int], hashes: list[str]) -> list[Segment]:
    """The segments of keys at ``frames`` whose images have these content hashes."""
    return segments(frames, [a == b for a, b in zip(hashes, hashes[1:])])


def is_cycle(hashes: list[str]) -> bool:
    """The last key is the first (a walk loop): the context of section 2 wraps around."""
    return len(hashes) > 2 and hashes[0] == hashes[-1]


@dataclass(frozen=True)
class WindowKey:
    key: int  # the chain key whose image this is
    frame: int  # its timeline frame (beyond the chain's ends for a cycle's wrapped context)
    position: int  # the window frame it is pinned at, k_j


@dataclass(frozen=True)
class Window:
    keys: tuple[WindowKey, ...]  # in order, context keys included
    first: int  # the core: the chain keys whose frames this window outputs, first to last
    last: int

    @property
    def core(self) -> tuple[WindowKey, ...]:
        return tuple(k for k in self.keys if self.frame_a <= k.frame <= self.frame_b)  # the keys are in frame order

    @property
    def frame_a(self) -> int:
        return next(k.frame for k in self.keys if k.key == self.first)

    @property
    def frame_b(self) -> int:
        return next(k.frame for k in reversed(self.keys) if k.key == self.last)

    def position(self, frame: float) -> float:
        """The window position of a timeline frame: piecewise linear through the keys' (frame, k_j)."""
        for a, b in zip(self.keys, self.keys[1:]):
            if a.frame <= frame <= b.frame:
                return a.position + (frame - a.frame) * (b.position - a.position) / (b.frame - a.frame)
        raise ValueError(f"frame {frame} is outside the window {self.keys[0].frame}-{self.keys[-1].frame}")

    def to_dict(self) -> dict:
        return {"keys": [[k.frame, k.position] for k in self.keys], "frames": [self.frame_a, self.frame_b]}


def key_positions(frames: list[int], num_frames: int) -> list[int] | None:
    """``k_j = round((t_j - t_0)(T - 1) / (t_n - t_0))``, or None when two keys land closer than 2 apart."""
    span = frames[-1] - frames[0]
    positions = [round((t - frames[0]) * (num_frames - 1) / span) for t in frames]
    return positions if all(b - a >= 2 for a, b in zip(positions, positions[1:])) else None


def window_count(frames: list[int], num_frames: int) -> int:
    """How many SVD runs a chain of keys at ``frames`` takes, priced before its images are known (no holds)."""
    kinds = [SegmentKind.GENERATE if b - a > 1 else SegmentKind.ADJACENT for a, b in zip(frames, frames[1:])]
    return len(plan_windows(frames, kinds, num_frames)) if len(frames) > 2 else 1


def plan_windows(frames: list[int], kinds: list[SegmentKind], num_frames: int, cycle: bool = False) -> list[Window]:
    """The windows that cover every run of segments to generate (see the module's layout)."""
    n = len(frames) - 1
    period = frames[-1] - frames[0]
    generate = [kind == SegmentKind.GENERATE for kind in kinds]
    max_span = MAX_SPAN_PER_FRAME * num_frames

    def context(j: int, step: int) -> tuple[int, int] | None:
        """The key beyond key ``j`` (step -1: before, +1: after) and its frame, when the motion goes on there."""
        segment = j - 1 if step < 0 else j
        if 0 <= segment < n:
            return (j + step, frames[j + step]) if generate[segment] else None
        if cycle and generate[segment % n]:  # wrap: key 0 is key n
            return (n - 1, frames[n - 1] - period) if step < 0 else (1, frames[1] + period)
        return None

    windows = []
    j = 0
    while j < n:
        if not generate[j]:
            j += 1
            continue
        run_end = j
        while run_end < n and generate[run_end]:
            run_end += 1  # keys j..run_end are one run
        i = j
        while i < run_end:
            # The longest core with both context keys; else one segment with one of them; else alone.
            tries = [(e, True, True) for e in range(run_end, i, -1)] + [(i + 1, True, False), (i + 1, False, True)]
            window = None
            for e, before, after in tries:
                chosen = [context(i, -1) if before else None, *((k, frames[k]) for k in range(i, e + 1)), context(e, +1) if after else None]
                chosen = [c for c in chosen if c is not None]
                positions = key_positions([f for _, f in chosen], num_frames)
                if chosen[-1][1] - chosen[0][1] + 1 <= max_span and positions is not None:
                    window = Window(tuple(WindowKey(k, f, p) for (k, f), p in zip(chosen, positions)), i, e)
                    break
            if window is None:  # one long segment, no context
                window = Window((WindowKey(i, frames[i], 0), WindowKey(i + 1, frames[i + 1], num_frames - 1)), i, i + 1)
            windows.append(window)
            i = window.last
        j = run_end
    return windows
