"""Job folders: a new folder per job, frames as PNG, ``manifest.json`` written last and atomically.

    <job>/job.json                the request, written by the caller before the job (never rewritten)
    <job>/start.png, end.png      the keyframes as used
    <job>/frames/0000.png ...     the inbetweens, keyframes first and last
    <job>/windows/00/             svd engine, chains: one SVD window's generated frames, window.json last
    <job>/preview.png             svd engine: the live preview, rewritten every denoising step
    <job>/contact_sheet.png       every frame, labelled with its timeline frame (keys marked)
    <job>/manifest.json           files, sizes, hashes, parameters, versions, timings

A folder without a manifest is incomplete and is never imported.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .errors import BackendError
from .job_request import JobRequest
from .json_files import read_json_file, write_json_atomic
from .protocol import ErrorCode

JOB_REQUEST = "job.json"
JOB_MANIFEST = "manifest.json"
FRAMES_DIR = "frames"
WINDOWS_DIR = "windows"  # a chain's SVD windows, each with window.json written last: reused by a re-run
WINDOW_RECORD = "window.json"
START_IMAGE = "start.png"
END_IMAGE = "end.png"
PREVIEW_IMAGE = "preview.png"  # the svd engine's live preview, rewritten every denoising step
CONTACT_SHEET = "contact_sheet.png"


def frame_name(index: int) -> str:
    return f"{index:04d}.png"


def write_request(folder: Path, request: JobRequest) -> Path:
    """Write ``job.json`` into a job folder, atomically."""
    return write_json_atomic(Path(folder) / JOB_REQUEST, request.to_dict())


def read_request(path: Path) -> JobRequest:
    """The request in ``job.json`` (or the job folder that holds it). Raises RequestError."""
    path = Path(path)
    if path.is_dir():
        path = path / JOB_REQUEST
    return JobRequest.from_dict(read_json_file(path, "job request", "give a job folder's job.json"))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def create_job_folder(folder: str | Path, request: JobRequest) -> Path:
    """Create ``folder`` for a new job and write its request; refuse a folder that exists with
    anything in it (never overwrite)."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackendError(
            ErrorCode.OUTPUT_EXISTS,
            f"The output folder already exists and is not empty: {folder}",
            "choose a new folder; existing jobs are never overwritten",
            exit_code=2,
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_request(folder, request)
    except OSError as exc:
        raise BackendError(
            ErrorCode.BAD_INPUT, f"Cannot create the output folder {folder}: {exc.strerror}", "choose a writable folder", exit_code=2
        ) from None
    return folder


def claim_job_folder(folder: Path) -> None:
    """Check that a caller's job folder holds its request and nothing else yet (a folder with a
    result, or a half one, is never written into), and make its frames folder. A dead attempt's
    finished chain windows may stay: they are reused only when their fingerprint matches."""
    extra = sorted(p.name for p in folder.iterdir() if p.name not in (JOB_REQUEST, WINDOWS_DIR))
    if extra:
        raise BackendError(
            ErrorCode.OUTPUT_EXISTS,
            f"The job folder {folder} already holds {', '.join(extra[:3])}: a job runs only in a new folder.",
            "write the request into a new folder; existing jobs are never overwritten",
            exit_code=2,
        )
    (folder / FRAMES_DIR).mkdir()


def discard_request_folder(folder: Path) -> None:
    """Remove a job folder that holds nothing but its request (a job answered by an earlier result)."""
    if {p.name for p in folder.iterdir()} == {JOB_REQUEST}:
        (folder / JOB_REQUEST).unlink()
        folder.rmdir()


def clear_unfinished_attempt(folder: Path) -> list[str]:
    """Remove what a job that died before its manifest left in ``folder`` (keyframes, frames, a
    temporary manifest), so that it can run again there; returns the names removed. Only the
    backend's own file names go; a folder with a manifest, or with anything else, is left as is.
    Finished chain windows stay, for the next attempt to reuse."""
    folder = Path(folder)
    if (folder / JOB_MANIFEST).exists():
        return []
    frames = folder / FRAMES_DIR
    ours = [folder / name for name in (START_IMAGE, END_IMAGE, PREVIEW_IMAGE, f".{PREVIEW_IMAGE}.tmp", CONTACT_SHEET)]
    ours += folder.glob(f"{JOB_MANIFEST}.*.tmp")
    if frames.is_dir():
        ours += [p for p in frames.iterdir() if re.fullmatch(r"\d{4,}\.png", p.name)]
    removed = []
    for path in ours:
        if path.is_file():
            path.unlink()
            removed.append(path.relative_to(folder).as_posix())
    if frames.is_dir() and not any(frames.iterdir()):
        frames.rmdir()
    return removed


def write_keyframes(folder: Path, start, end) -> None:
    start.save(folder / START_IMAGE)
    end.save(folder / END_IMAGE)


def write_frames(folder: Path, frames, on_frame=None) -> list[str]:
    names = []
    for index, frame in enumerate(frames):
        name = f"{FRAMES_DIR}/{frame_name(index)}"
        frame.save(folder / name)
        names.append(name)
        if on_frame:
            on_frame(index + 1, len(frames))
    return names


def write_manifest(folder: Path, frame_names: list[str], **record) -> Path:
    """The manifest, last: every file with its size and hash, plus what the caller records."""
    files = {
        name: {"bytes": (folder / name).stat().st_size, "sha256": sha256_file(folder / name)}
        for name in [START_IMAGE, END_IMAGE, JOB_REQUEST, *frame_names, CONTACT_SHEET] if (folder / name).is_file()
    }
    path = folder / JOB_MANIFEST
    write_json_atomic(path, {"complete": True, "frames": frame_names, "files": files, **record})
    return path


def read_manifest(folder: str | Path) -> dict | None:
    """The manifest of a complete job, or None."""
    try:
        return json.loads((Path(folder) / JOB_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_window(folder: Path, index: int, frames, fingerprint: dict) -> None:
    """One chain window's generated frames (PNG, lossless) and its ``window.json``, written last."""
    window = Path(folder) / WINDOWS_DIR / f"{index:02d}"
    window.mkdir(parents=True, exist_ok=True)
    (window / WINDOW_RECORD).unlink(missing_ok=True)  # an earlier attempt's record never vouches for new frames
    names = []
    for n, frame in enumerate(frames):
        frame.save(window / frame_name(n))
        names.append(frame_name(n))
    write_json_atomic(window / WINDOW_RECORD, {"fingerprint": fingerprint, "frames": names})


def find_window(folders, fingerprint: dict) -> list[Path] | None:
    """The frame files of a finished window with this fingerprint in any of ``folders``' windows."""
    for folder in folders:
        for record in sorted(Path(folder).glob(f"{WINDOWS_DIR}/*/{WINDOW_RECORD}")):
            try:
                data = json.loads(record.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            files = [record.parent / name for name in data.get("frames", [])]
            if data.get("fingerprint") == fingerprint and files and all(f.is_file() for f in files):
                return files
    return None
