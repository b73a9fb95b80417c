"""A batch of shots on disk, for a render farm or any number of runners. Standard library only: the
Blender add-on writes batches with it too.

    <batch>/keys/0010.png ...           the keyframe images, one per key frame
    <batch>/shots/01_A-B/job.json       each shot's job folder and request; its keys point into keys/
    <batch>/batch.json                  written last: the shots, in timeline order

    {"schema": 1, "source": "MARKERS", "shots": [
        {"number": 1, "name": "A-B", "job": "shots/01_A-B", "frames": [10, 34]}, ...]}

Every path in a batch is relative to the batch folder (the key images relative to their job folder),
so the folder works wherever the farm mounts it. Shots are numbered from 1; ``--shots 2-5`` names
some of them. A runner (``batch_runner``) only ever writes into the job folders of its own shots, so
runners on disjoint ranges never touch each other's files.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import RequestError
from .job_folder import write_request
from .job_request import JobRequest, Key, validate
from .json_files import read_json_file, write_json_atomic

BATCH_FILE = "batch.json"
BATCH_SCHEMA = 1
KEYS_DIR = "keys"
SHOTS_DIR = "shots"


@dataclass(frozen=True)
class BatchShot:
    number: int  # from 1, in timeline order
    name: str
    job: str  # the shot's job folder, relative to the batch folder
    frames: tuple[int, int]  # its first and last key's frames


@dataclass(frozen=True)
class Batch:
    folder: Path
    shots: tuple[BatchShot, ...]
    source: str = ""

    def job_folder(self, shot: BatchShot) -> Path:
        return self.folder / shot.job


def parse_shot_range(text: str | None, count: int) -> range:
    """Shot numbers from ``"3"`` or ``"2-5"`` (from 1, both ends included); None: every shot."""
    if text is None:
        return range(1, count + 1)
    first, _, last = text.strip().partition("-")
    try:
        a, b = int(first), int(last or first)
    except ValueError:
        raise RequestError(f"--shots {text!r} is not a shot number or a range like 2-5.") from None
    if not 1 <= a <= b <= count:
        raise RequestError(f"--shots {text} is outside this batch's shots 1-{count}.", "shots are numbered from 1")
    return range(a, b + 1)


def shot_folder_name(number: int, name: str, count: int) -> str:
    """``07_A-B``: numbered so that a listing sorts in timeline order, named for a person."""
    safe = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in name).strip("._")[:60] or "shot"
    return f"{number:0{max(2, len(str(count)))}d}_{safe}"


def write_batch(folder: str | Path, images: dict[int, str], shots: list[tuple[str, int, int]], options: dict,
                source: str) -> Path:
    """A new batch folder: ``images`` maps each key frame to its image file (copied into ``keys/``),
    ``shots`` are (name, first frame, last frame) in timeline order, ``options`` the job options of
    every shot (``JobRequest`` fields). Returns the path of ``batch.json``. Raises RequestError."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise RequestError(f"The batch folder already exists and is not empty: {folder}",
                           "choose a new folder; a batch is never written over")
    if not shots:
        raise RequestError("A batch needs at least one shot: two keys with a frame between them.")
    missing = sorted({f for _, a, b in shots for f in (a, b)} - set(images))
    if missing:
        raise RequestError(f"No key image for frame {missing[0]}.")
    if options.get("seed") is None:  # one seed, fixed now, so that every runner's fingerprints agree
        options = {**options, "seed": random.randrange(2**32)}
    requests = []
    for number, (name, a, b) in enumerate(shots, start=1):
        job = f"{SHOTS_DIR}/{shot_folder_name(number, name, len(shots))}"
        keys = tuple(Key(f, f"../../{KEYS_DIR}/{f:04d}{Path(images[f]).suffix.lower()}") for f in (a, b))
        request = JobRequest(keys=keys, shot=name, source=source, **options)
        validate(request)
        requests.append((BatchShot(number, name, job, (a, b)), request))
    try:
        (folder / KEYS_DIR).mkdir(parents=True)
        for frame in sorted({f for _, a, b in shots for f in (a, b)}):
            shutil.copyfile(images[frame], folder / KEYS_DIR / f"{frame:04d}{Path(images[frame]).suffix.lower()}")
        for shot, request in requests:
            (folder / shot.job).mkdir(parents=True)
            write_request(folder / shot.job, request)
        data = {"schema": BATCH_SCHEMA, "source": source,
                "shots": [{"number": s.number, "name": s.name, "job": s.job, "frames": list(s.frames)} for s, _ in requests]}
        path = write_json_atomic(folder / BATCH_FILE, data)
    except OSError as exc:
        raise RequestError(f"Cannot write the batch into {folder}: {exc.strerror or exc}", "choose a writable folder") from None
    return path


def read_batch(path: str | Path) -> Batch:
    """The batch in ``batch.json`` (or the batch folder that holds it). Raises RequestError."""
    path = Path(path)
    if path.is_dir():
        path = path / BATCH_FILE
    data = read_json_file(path, "batch", "give a batch folder's batch.json (made by batch-init or Export Batch for Farm)")
    if not isinstance(data, dict) or data.get("schema") != BATCH_SCHEMA:
        raise RequestError(f"Unsupported batch schema {data.get('schema') if isinstance(data, dict) else None!r} "
                           f"(this backend reads {BATCH_SCHEMA}).")
    try:
        shots = tuple(BatchShot(int(s["number"]), str(s["name"]), str(s["job"]), (int(s["frames"][0]), int(s["frames"][-1])))
                      for s in data["shots"])
    except (KeyError, TypeError, ValueError, IndexError):
        raise RequestError(f"The batch {path} has a shot without a number, name, job folder or frames.") from None
    for shot in shots:  # a shot's folder stays inside the batch
        if Path(shot.job).is_absolute() or ".." in Path(shot.job).parts:
            raise RequestError(f"Shot {shot.number}'s job folder {shot.job!r} is outside the batch folder.")
    return Batch(path.parent, shots, str(data.get("source", "")))
