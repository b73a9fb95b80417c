"""Shots on the timeline: which frames, which channel, which folder. Standard library only."""

from __future__ import annotations

import re
import time
from pathlib import Path


class ShotError(Exception):
    """A shot that cannot be generated, with the reason in words."""


def check_gap(frame_a: int, frame_b: int) -> int:
    """The strip length G = B - A + 1 for keyframes A < B with at least one frame between them."""
    if frame_b <= frame_a:
        raise ShotError(f"Keyframe B ({frame_b}) must come after keyframe A ({frame_a}).")
    if frame_b - frame_a < 2:
        raise ShotError(f"Keyframes {frame_a} and {frame_b} are adjacent: there is no frame between them to fill.")
    return frame_b - frame_a + 1


def keyframes_around(keys, current: int) -> tuple[int, int] | None:
    """The keys (A, B) whose gap holds ``current``: A is the last key at or before it, B the next.

    On or before the first key, the first two keys; at or after the last, the last two."""
    keys = sorted({int(round(k)) for k in keys})
    if len(keys) < 2:
        return None
    earlier = [k for k in keys if k <= current]
    if not earlier:
        return keys[0], keys[1]
    a = earlier[-1]
    later = [k for k in keys if k > a]
    if not later:
        return keys[-2], keys[-1]
    return a, later[0]


def first_free_channel(occupied, frame_start: int, frame_end: int, max_channel: int = 128) -> int:
    """The lowest channel with nothing over [frame_start, frame_end).

    ``occupied`` holds (channel, start, end) for every strip, ends exclusive."""
    busy = {ch for ch, start, end in occupied if start < frame_end and frame_start < end}
    for channel in range(1, max_channel + 1):
        if channel not in busy:
            return channel
    raise ShotError(f"Every channel is taken over frames {frame_start}-{frame_end - 1}.")


def safe_name(name: str) -> str:
    """A folder-friendly form of a shot name; letters of any script are kept."""
    name = re.sub(r"[^\w\- .]+", "_", name, flags=re.UNICODE).strip(" .")
    return name[:80] or "shot"


def new_job_folder(root: Path, shot: str, now: float | None = None) -> Path:
    """A job folder path under ``root`` that does not exist yet: ``<shot>_<timestamp>[_n]``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    base = f"{safe_name(shot)}_{stamp}"
    candidate, n = root / base, 1
    while candidate.exists():
        n += 1
        candidate = root / f"{base}_{n}"
    return candidate
