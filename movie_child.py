"""The script a background Blender runs to write a strip's frames as a movie with Blender's own
FFmpeg output, so that Blender's window never waits on the encoder (``strip_export.py`` starts it):

    blender -b --python movie_child.py -- OUT.mp4 FPS FPS_BASE FRAME.png [FRAME.png ...]
    python movie_child.py OUT.mp4 ...            (where Blender is the bpy module, as in the tests)

A scratch scene's sequencer holds the frames; the render writes an H.264 MP4 into a temporary folder
beside OUT, which is renamed into place only when complete and only if OUT still does not exist.
An error event and exit 1 when it cannot."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # Blender's own Python ignores PYTHONPATH
from capture_child import run_child  # noqa: E402  (the child scripts' one runner)
from mpd_backend.contract.protocol import ErrorCode, ErrorEvent, encode_event  # noqa: E402


def movie_scene(files: list[str], fps: int, fps_base: float):
    """A scratch scene whose sequencer holds the frames, set to write them as an MP4."""
    scratch = bpy.data.scenes.new("MPD Export Movie")
    size = bpy.data.images.load(files[0], check_existing=False)
    width, height = size.size
    bpy.data.images.remove(size)
    render = scratch.render
    render.resolution_x, render.resolution_y = width + width % 2, height + height % 2  # H.264 wants even sizes
    render.resolution_percentage, render.fps, render.fps_base = 100, fps, fps_base
    scratch.frame_start, scratch.frame_end = 1, len(files)
    editor = scratch.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    strip = strips.new_image(name="frames", filepath=files[0], channel=1, frame_start=1, fit_method="FIT")
    for file in files[1:]:
        strip.elements.append(Path(file).name)
    render.use_sequencer, render.use_compositing, render.use_file_extension = True, False, True
    settings = render.image_settings
    if hasattr(settings, "media_type"):  # Blender 5: movies are a media type of their own
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"
    render.ffmpeg.format, render.ffmpeg.codec, render.ffmpeg.constant_rate_factor = "MPEG4", "H264", "HIGH"
    return scratch


def write_movie(out: Path, files: list[str], fps: int, fps_base: float) -> None:
    scratch = movie_scene(files, fps, fps_base)
    with tempfile.TemporaryDirectory(prefix=".mpd_movie_", dir=out.parent) as folder:
        scratch.render.filepath = str(Path(folder) / "movie")
        bpy.ops.render.render(animation=True, scene=scratch.name)
        written = [f for f in Path(folder).iterdir() if f.is_file()]
        if len(written) != 1:
            raise RuntimeError(f"the movie output wrote {len(written)} files instead of one")
        if out.exists():
            raise RuntimeError(f"{out} appeared meanwhile: it is not overwritten")
        os.replace(written[0], out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="movie_child")
    parser.add_argument("out", type=Path)
    parser.add_argument("fps", type=int)
    parser.add_argument("fps_base", type=float)
    parser.add_argument("frames", nargs="+")
    args = parser.parse_args(argv)
    try:
        write_movie(args.out, args.frames, args.fps, args.fps_base)
    except (RuntimeError, OSError) as exc:
        print(encode_event(ErrorEvent(code=ErrorCode.RENDER_FAILED, message=f"The movie was not written: {exc}.",
                                      hint="check the folder's free space and permissions")), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    run_child(main)
