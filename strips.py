"""A complete job folder as an image-sequence strip on the sequencer's timeline, placed and
recorded from its manifest alone; the takes of a shot (``core.takes``), one of them playing."""

from __future__ import annotations

from pathlib import Path

from . import compat
from .core.shots import first_free_channel
from .core.takes import group_colour
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


def import_job_strip(scene, manifest_path: Path, take_group: str = "", take: int = 0):
    """A new image strip of a complete job's frames, from its first key's frame, on the first free
    channel; the active strip, and the one take of ``take_group`` that plays. Only a complete job
    (manifest present, every frame on disk) is imported."""
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
    if take_group:
        mark_take(strip, take_group, take)
        show_take(scene, strip)  # and makes it the active strip
    else:
        editor.active_strip = strip
    return strip


def active_inbetween(context):
    """The sequencer's active strip when this add-on made it (the 3D view's panel acts on it too), else None."""
    editor = compat.sequence_editor(compat.sequencer_scene(context), create=False)
    strip = editor.active_strip if editor else None
    return strip if record_of(strip) else None


def poll_active_inbetween(operator, context) -> bool:
    """An operator's poll that needs an active inbetween strip, with the reason when there is none."""
    if active_inbetween(context) is None:
        operator.poll_message_set("Make an inbetween strip the active strip in the sequencer (one this add-on imported)")
        return False
    return True


def record_of(strip) -> dict | None:
    """The strip's record as a plain dict (None for a strip this add-on did not make)."""
    record = strip.get(RECORD_KEY) if strip is not None else None
    return record.to_dict() if hasattr(record, "to_dict") else record


def mark_take(strip, group: str, take: int) -> None:
    """``strip`` becomes take ``take`` of the set ``group``: its record, name and colour say so."""
    record = strip[RECORD_KEY]
    record["take_group"], record["take"] = group, take
    strip.name = f"Inbetween {record.get('shot', '')} take {take}"
    strip.color_tag = group_colour(group)


def take_strips(scene, group: str) -> list:
    """The strips of a take set, by take number."""
    editor = compat.sequence_editor(scene, create=False)
    found = [s for s in compat.top_strips(editor) if s.get(RECORD_KEY, {}).get("take_group") == group] if editor else []
    return sorted(found, key=lambda s: s[RECORD_KEY].get("take", 0))


def show_take(scene, strip) -> None:
    """``strip`` plays (unmuted, active, selected); every other take of its set is muted."""
    for other in take_strips(scene, strip[RECORD_KEY]["take_group"]):
        other.mute = other != strip
        other.select = other == strip
    compat.sequence_editor(scene).active_strip = strip


def keep_take(scene, strip) -> int:
    """Remove every other take of ``strip``'s set from the timeline (their job folders stay); the
    number removed."""
    others = [s for s in take_strips(scene, strip[RECORD_KEY]["take_group"]) if s != strip]
    strips = compat.top_strips(compat.sequence_editor(scene))
    for other in others:
        strips.remove(other)
    strip.mute = False
    return len(others)
