"""A batch over timeline markers, planned without bpy: each pair of consecutive marker frames is a shot."""

from __future__ import annotations

from dataclasses import dataclass

from .shots import ShotError

FINISHED = ("done", "reused", "failed", "skipped", "cancelled")


@dataclass
class Shot:
    name: str
    frame_a: int
    frame_b: int
    status: str = "queued"  # queued, running, then one of FINISHED
    reason: str = ""
    job: str = ""  # the job folder


def plan_shots(markers) -> list[Shot]:
    """Shots from (name, frame) markers. Markers on one frame are one keyframe (their names joined);
    adjacent frames give a shot that is skipped, with the reason."""
    by_frame: dict[int, list[str]] = {}
    for name, frame in sorted(markers, key=lambda m: (m[1], m[0])):
        by_frame.setdefault(int(frame), []).append(name)
    if len(by_frame) < 2:
        raise ShotError(
            f"A batch needs markers on at least 2 different frames ({len(markers)} markers on {len(by_frame)} frames). "
            "Add markers (M in the timeline) at the keyframe poses."
        )
    frames = sorted(by_frame)
    shots = []
    for a, b in zip(frames, frames[1:]):
        shot = Shot(f"{'+'.join(by_frame[a])}-{'+'.join(by_frame[b])}", a, b)
        if b - a < 2:
            shot.status, shot.reason = "skipped", f"markers at frames {a} and {b} are adjacent: no frame between"
        shots.append(shot)
    return shots


def keyframe_frames(shots: list[Shot]) -> list[int]:
    """Every frame to render, once, for the shots that will run."""
    return sorted({f for s in shots if s.status == "queued" for f in (s.frame_a, s.frame_b)})


def summary(shots: list[Shot]) -> str:
    count = {status: sum(s.status == status for s in shots) for status in FINISHED}
    text = f"{len(shots)} shots: {count['done'] + count['reused']} done"
    if count["reused"]:
        text += f" ({count['reused']} reused)"
    text += f", {count['failed']} failed, {count['skipped']} skipped"
    if count["cancelled"]:
        text += f", {count['cancelled']} cancelled"
    failed = [f"{s.name}: {s.reason}" for s in shots if s.status == "failed"]
    return text + (". Failed: " + "; ".join(failed) if failed else "")
