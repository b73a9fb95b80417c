"""A strip's frames used outside the sequencer: on a camera's background, in a movie file.
Standard library only: the Blender side is ``strip_export.py``."""

from __future__ import annotations

import re
from pathlib import Path

from .shots import safe_name
from .user_error import UserError

MOVIE_SUFFIX = ".mp4"


def strip_files(directory: str, names: list[str], strip_name: str) -> list[Path]:
    """The strip's image files, every one on disk. Raises UserError naming the first one missing."""
    files = [Path(directory) / name for name in names]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise UserError(f"The frames of {strip_name} are gone from {missing[0].parent} ({len(missing)} of {len(files)} "
                        f"missing, e.g. {missing[0].name}).",
                        "move its job folder back, or import it from its new place with Import Inbetween Job (F3)")
    return files


def sequence_number(name: str) -> int:
    """The frame number Blender reads from an image sequence's file name: its last digits
    (``0007.png``: 7)."""
    found = re.search(r"(\d+)\D*$", Path(name).name)
    if found is None:
        raise UserError(f"{name} has no frame number: it cannot be shown as an image sequence.")
    return int(found.group(1))


def background_frames(first_number: int, frame_start: int, count: int) -> dict:
    """A camera background's image-user settings for an image sequence whose first file is numbered
    ``first_number``, shown from scene frame ``frame_start`` for ``count`` frames. Blender shows
    file number ``frame - frame_start + 1 + frame_offset`` at scene frame ``frame``."""
    return {"frame_start": frame_start, "frame_duration": count, "frame_offset": first_number - 1}


def movie_path(job_folder: str, strip_name: str) -> Path:
    """Where Export Movie offers to write a strip: beside its job folder, named after the strip."""
    return Path(job_folder).parent / f"{safe_name(strip_name)}{MOVIE_SUFFIX}"


def check_new_file(path: Path) -> Path:
    """``path`` for a new file: its folder exists and nothing is there yet. Raises UserError."""
    if path.exists():
        raise UserError(f"{path} already exists: it is not overwritten.", "choose another file name")
    if not path.parent.is_dir():
        raise UserError(f"The folder {path.parent} does not exist.", "choose an existing folder")
    return path
