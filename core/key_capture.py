"""Capturing the 3D scene's keys in a background Blender, and reusing what was captured. Standard
library only: ``capture.py`` gives it Blender's side (the file's copy, the panel).

A capture renders the missing keys of one scene state into a folder named by that state's
fingerprint, so a Re-run, a batch or an export of the same frames from an unchanged scene renders
nothing again. A key is only ever there whole (``capture_child.py`` renames it into place), so a
cancelled or failed capture leaves the keys it finished and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from ..mpd_backend.contract.protocol import ErrorEvent, ProgressEvent
from .tasks import ChildProcessTask

CHILD_SCRIPT = Path(__file__).resolve().parents[1] / "capture_child.py"
KEYS_FOLDER = "mpd_inbetween_keys"


@dataclass(frozen=True)
class QuickCapture:
    """Quick Capture's overrides for previs: a resolution percentage (0: the scene's), a sample cap
    (0: the scene's), Workbench instead of the scene's engine."""

    percentage: int = 0
    samples: int = 0
    workbench: bool = False

    def arguments(self) -> list[str]:
        flags = ["--percentage", str(self.percentage), "--samples", str(self.samples)]
        return flags + (["--workbench"] if self.workbench else [])

    def describe(self) -> str:
        """What the strip records: "" for a full capture."""
        parts = [f"{self.percentage}%" if self.percentage else "", f"{self.samples} samples" if self.samples else "",
                 "Workbench" if self.workbench else ""]
        return ", ".join(p for p in parts if p)


def fingerprint(state: dict) -> str:
    """A scene state (what the keys depend on, JSON-able) as a folder name."""
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:16]


def key_path(folder: Path, frame: int) -> Path:
    return folder / f"frame_{frame:04d}.png"


def captured(folder: Path, frames: list[int]) -> dict[int, str]:
    """The keys of ``frames`` already in ``folder`` (whole ones only: see ``capture_child``)."""
    return {frame: str(key_path(folder, frame)) for frame in frames if key_path(folder, frame).is_file()}


def capture_command(launcher: list[str], blend: Path, folder: Path, scene: str, engine: str, frames: list[int],
                    quick: QuickCapture) -> list[str]:
    """The child's command: ``launcher`` is Blender (``[binary, "-b", "--python"]``) or, where
    Blender is the bpy module, ``[python]``; the script's arguments follow ``--``."""
    return [*launcher, str(CHILD_SCRIPT), "--", str(blend), str(folder), scene, engine, *map(str, frames), *quick.arguments()]


class CaptureRun(ChildProcessTask):
    """One capture, followed to its end: keys done, the message for the panel, the error if any.
    ``folder`` gets the keys; ``frames``: every key wanted (some may be there already)."""

    kind = "capture"

    def __init__(self, command: list[str], folder: Path, frames: list[int], missing: list[int], env: dict | None = None):
        super().__init__(command, env)
        self.folder, self.frames, self.missing = folder, frames, missing
        self.step, self.message, self.error = 0, f"Rendering keys: 0 of {len(missing)}", None
        self.cancelled, self.started = False, time.monotonic()

    def seconds_per_key(self) -> float:
        """What each key took, the background Blender's start shared among them."""
        return (time.monotonic() - self.started) / max(1, len(self.missing))

    @property
    def progress(self) -> float:
        return self.step / max(1, len(self.missing))

    def apply(self, event) -> None:
        if isinstance(event, ProgressEvent):
            self.step = event.step
            self.message = f"Rendering keys: {event.step} of {event.total} ({event.phase})"
        elif isinstance(event, ErrorEvent):
            self.error = event

    def ended(self, returncode: int, output: str) -> None:
        if self.error is None and not self.cancelled and returncode != 0:
            self.error = ErrorEvent(message=f"The background Blender that renders the keys stopped: {self.last_stderr()}",
                                    hint="render one key in Blender (F12) to see whether the scene renders")

    def keys(self) -> dict[int, str] | None:
        """Every key's image once all are there; None otherwise."""
        found = captured(self.folder, self.frames)
        return found if len(found) == len(self.frames) else None

    def cancel(self) -> None:
        self.cancelled = True
        super().cancel()
