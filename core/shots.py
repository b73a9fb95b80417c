"""Shots on the timeline: which frames, which keyframe images, which channel, which job folder.
Standard library only.

A Generate is one shot, a batch over markers one chain through every marker (or one shot per pair
of consecutive marker frames); each shot becomes a job folder with its request (``job.json``)
written here, before the worker sees it. A shot with keys between its first and last is a chain
(``docs/spec/chains.md``)."""

from __future__ import annotations

import glob
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..mpd_backend.contract.job_folder import write_request
from ..mpd_backend.contract.job_request import JobRequest, Key, validate
from .states import ShotStatus
from .user_error import UserError, backend_errors_as_user_errors


@dataclass
class Shot:
    name: str
    frame_a: int
    frame_b: int
    start_image: str = ""
    end_image: str = ""
    status: ShotStatus = ShotStatus.QUEUED
    reason: str = ""
    job: str = ""  # the job folder
    between: list[tuple[int, str]] = field(default_factory=list)  # a chain's inner keys: (frame, image)
    seed: int | None = None  # this shot's own seed (a take's), else the job options'
    take: int = 0  # its number in a take set (``core.takes``); 0: not a take
    take_group: str = ""

    @property
    def label(self) -> str:
        """The shot's name, with its take: what the panel lists and the job folder is named after."""
        return f"{self.name} take {self.take}" if self.take else self.name

    @property
    def key_frames(self) -> list[int]:
        return [self.frame_a, *(frame for frame, _ in self.between), self.frame_b]

    def use_images(self, images: dict[int, str]) -> None:
        """Take each key's image from {frame: path} (the 3D scene rendered at the key frames)."""
        self.start_image, self.end_image = images.get(self.frame_a, ""), images.get(self.frame_b, "")
        self.between = [(frame, images.get(frame, "")) for frame, _ in self.between]


def chain_shot(name: str, keys: list[tuple[int, str]]) -> Shot:
    """One shot through every key (frame, image), in timeline order; two keys are a plain shot.
    Adjacent keys are allowed inside a chain (nothing between them), but something must be filled."""
    if len(keys) == 2:
        check_gap(keys[0][0], keys[1][0])  # in the order given: B before A is an error, not a swap
    keys = sorted(keys)
    frames = [frame for frame, _ in keys]
    if len(set(frames)) != len(frames):
        raise UserError(f"Two keys stand on one frame: {frames}.")
    if len(keys) < 2 or all(b - a < 2 for a, b in zip(frames, frames[1:])):
        raise UserError(f"Keys at frames {frames}: there is no frame between them to fill.")
    (frame_a, start), *between, (frame_b, end) = keys
    return Shot(name, frame_a, frame_b, start, end, between=list(between))


def keys_in_range(keys, first: int, last: int) -> list[int]:
    """The distinct whole frames of ``keys`` (animation key times) from ``first`` to ``last``."""
    return sorted({int(round(k)) for k in keys if first <= round(k) <= last})


def check_gap(frame_a: int, frame_b: int) -> int:
    """The strip length G = B - A + 1 for keyframes A < B with at least one frame between them."""
    if frame_b <= frame_a:
        raise UserError(f"Keyframe B ({frame_b}) must come after keyframe A ({frame_a}).")
    if frame_b - frame_a < 2:
        raise UserError(f"Keyframes {frame_a} and {frame_b} are adjacent: there is no frame between them to fill.")
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


def markers_in_use(markers, selected_only: bool) -> list[tuple[str, int]]:
    """(name, frame) of the markers a batch uses: the selected ones when ``selected_only`` and they
    stand on at least two frames, else all. ``markers``: (name, frame, selected)."""
    selected = [(name, frame) for name, frame, chosen in markers if chosen]
    if selected_only and len({frame for _, frame in selected}) >= 2:
        return selected
    return [(name, frame) for name, frame, _ in markers]


def markers_by_frame(markers) -> dict[int, list[str]]:
    """{frame: names} of (name, frame) markers, in timeline order: markers on one frame are one key."""
    by_frame: dict[int, list[str]] = {}
    for name, frame in sorted(markers, key=lambda m: (m[1], m[0])):
        by_frame.setdefault(int(frame), []).append(name)
    if len(by_frame) < 2:
        raise UserError(
            f"A batch needs markers on at least 2 different frames ({len(markers)} markers on {len(by_frame)} frames).",
            "add markers (M in the timeline) at the keyframe poses",
        )
    return by_frame


def plan_shots(markers) -> list[Shot]:
    """One shot per pair of consecutive marker frames (their names joined per frame); adjacent
    frames give a shot that is skipped, with the reason."""
    by_frame = markers_by_frame(markers)
    frames = sorted(by_frame)
    shots = []
    for a, b in zip(frames, frames[1:]):
        shot = Shot(f"{'+'.join(by_frame[a])}-{'+'.join(by_frame[b])}", a, b)
        if b - a < 2:
            shot.status, shot.reason = ShotStatus.SKIPPED, f"markers at frames {a} and {b} are adjacent: no frame between"
        shots.append(shot)
    return shots


def plan_chain(markers) -> Shot:
    """One chain through the (name, frame) markers: markers on one frame are one key (their names
    joined), the shot is named after every key."""
    by_frame = markers_by_frame(markers)
    return chain_shot("-".join("+".join(names) for names in by_frame.values()), [(frame, "") for frame in by_frame])


def keyframe_frames(shots: list[Shot]) -> list[int]:
    """Every frame to render, once, for the shots that will run."""
    return sorted({f for s in shots if s.status == ShotStatus.QUEUED for f in s.key_frames})


def are_takes(shots: list[Shot]) -> bool:
    """Several shots that are all takes (one shot run with several seeds), not a batch."""
    return len(shots) > 1 and all(s.take for s in shots)


def summary(shots: list[Shot]) -> str:
    count = {status: sum(s.status == status for s in shots) for status in ShotStatus}
    noun = "takes" if are_takes(shots) else "shots"
    text = f"{len(shots)} {noun}: {count[ShotStatus.DONE] + count[ShotStatus.REUSED]} done"
    if count[ShotStatus.REUSED]:
        text += f" ({count[ShotStatus.REUSED]} reused)"
    text += f", {count[ShotStatus.FAILED]} failed, {count[ShotStatus.SKIPPED]} skipped"
    if count[ShotStatus.CANCELLED]:
        text += f", {count[ShotStatus.CANCELLED]} cancelled"
    failed = [f"{s.label}: {s.reason}" for s in shots if s.status == ShotStatus.FAILED]
    return text + (". Failed: " + "; ".join(failed) if failed else "")


def first_free_channel(occupied, frame_start: int, frame_end: int, max_channel: int = 128) -> int:
    """The lowest channel with nothing over [frame_start, frame_end).

    ``occupied`` holds (channel, start, end) for every strip, ends exclusive."""
    busy = {ch for ch, start, end in occupied if start < frame_end and frame_start < end}
    for channel in range(1, max_channel + 1):
        if channel not in busy:
            return channel
    raise UserError(f"Every channel is taken over frames {frame_start}-{frame_end - 1}.")


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


def earlier_jobs(root: Path, shot_name: str) -> list[str]:
    """Job folders of earlier runs of a shot: candidates for reuse (the worker checks them)."""
    return sorted(str(p) for p in root.glob(glob.escape(safe_name(shot_name)) + "_*") if p.is_dir())


def shot_request(shot: Shot, options: dict, source: str, reuse: list[str]) -> JobRequest:
    """The job request of a shot: its keys at their timeline frames, and the job options."""
    keys = (Key(shot.frame_a, shot.start_image), *(Key(f, image) for f, image in shot.between), Key(shot.frame_b, shot.end_image))
    if shot.seed is not None:
        options = {**options, "seed": shot.seed}
    request = JobRequest(keys=keys, reuse=tuple(reuse), shot=shot.name, source=source, **options)
    with backend_errors_as_user_errors():
        validate(request)
    return request


def write_shot_job(root: Path, shot: Shot, options: dict, source: str, resume: bool = False) -> Path:
    """Create the shot's new job folder under ``root`` with its ``job.json``; returns the
    ``job.json`` path. ``resume``: earlier job folders of the shot are offered for reuse."""
    reuse = earlier_jobs(root, shot.name) if resume else []
    request = shot_request(shot, options, source, reuse)
    folder = new_job_folder(root, shot.label)
    try:
        folder.mkdir(parents=True)
        path = write_request(folder, request)
    except OSError as exc:
        raise UserError(f"Cannot create the job folder {folder}: {exc.strerror}.", "choose another folder in the preferences") from None
    shot.job = str(folder)
    return path
