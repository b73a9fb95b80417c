"""A complete job folder as an image-sequence strip on the sequencer's timeline, placed and
recorded from its manifest alone."""

from __future__ import annotations

from pathlib import Path

from . import compat
from .core.shots import first_free_channel
from .core.user_error import UserError
from .mpd_backend.contract.job_folder import read_manifest

RECORD_KEY = "mpd_inbetween"
RECORD_SCHEMA = 1


def strip_record(manifest: dict, folder: Path) -> dict:
    """What the strip keeps of its job (a re-run is one click): the manifest's resolved parameters,
    the keys' frames, the shot and the folder, with a schema version. None values are left out
    (Blender's ID properties cannot hold them)."""
    keys = manifest["keys"]
    record = {"schema": RECORD_SCHEMA, "job": str(folder), "shot": manifest.get("shot", ""), "source": manifest.get("source", ""),
              "capture": manifest.get("capture", ""),
              "frame_a": keys[0]["frame"], "frame_b": keys[-1]["frame"], "key_frames": [k["frame"] for k in keys],
              **manifest["parameters"]}
    return {k: v for k, v in record.items() if v is not None}


def job_strip(scene, job_folder: str):
    """The strip already made from this job folder, if any."""
    editor = compat.sequence_editor(scene, create=False)
    if editor is None:
        return None
    return next((s for s in compat.top_strips(editor) if s.get(RECORD_KEY, {}).get("job") == job_folder), None)


def import_job_strip(scene, manifest_path: Path):
    """A new image strip of a complete job's frames, from its first key's frame, on the first free
    channel. Only a complete job (manifest present, every frame on disk) is imported."""
    folder = Path(manifest_path).parent
    manifest = read_manifest(folder)
    if not manifest or not manifest.get("complete"):
        raise UserError(f"The job in {folder} is incomplete (no manifest): it is not imported.")
    frames = [folder / f for f in manifest["frames"]]
    missing = [str(f) for f in frames if not f.is_file()]
    if missing:
        raise UserError(f"The job in {folder} lacks {len(missing)} frame files, e.g. {missing[0]}.")
    record = strip_record(manifest, folder)
    frame_start = record["frame_a"]
    editor = compat.sequence_editor(scene)
    occupied = [(s.channel, s.frame_final_start, s.frame_final_end) for s in compat.top_strips(editor)]
    channel = first_free_channel(occupied, frame_start, frame_start + len(frames))
    strip = compat.new_image_strip(editor, f"Inbetween {record['shot']}", str(frames[0]), channel, frame_start)
    for frame in frames[1:]:
        strip.elements.append(frame.name)
    strip[RECORD_KEY] = record
    return strip
