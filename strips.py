"""The inbetweens as an image-sequence strip on the sequencer's timeline."""

from __future__ import annotations

from pathlib import Path

from . import compat
from .core.shots import ShotError, first_free_channel
from .mpd_backend.jobs import read_manifest

RECORD_KEY = "mpd_inbetween"


def import_job_strip(scene, manifest_path: str, frame_start: int, name: str, record: dict):
    """A new image strip of the job's frames at ``frame_start`` on the first free channel.

    Only a complete job (manifest present, every frame on disk) is imported."""
    folder = Path(manifest_path).parent
    manifest = read_manifest(folder)
    if not manifest or not manifest.get("complete"):
        raise ShotError(f"The job in {folder} is incomplete (no manifest): it is not imported.")
    frames = [folder / f for f in manifest["frames"]]
    missing = [str(f) for f in frames if not f.is_file()]
    if missing:
        raise ShotError(f"The job in {folder} lacks {len(missing)} frame files, e.g. {missing[0]}.")
    editor = compat.sequence_editor(scene)
    occupied = [(s.channel, s.frame_final_start, s.frame_final_end) for s in compat.top_strips(editor)]
    channel = first_free_channel(occupied, frame_start, frame_start + len(frames))
    strip = compat.new_image_strip(editor, name, str(frames[0]), channel, frame_start)
    for frame in frames[1:]:
        strip.elements.append(frame.name)
    strip[RECORD_KEY] = record
    return strip
