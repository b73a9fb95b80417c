"""A strip's frames out of the sequencer: on the active camera's background in the 3D view, or
written as a movie with Blender's own FFmpeg output by a background Blender (``movie_child.py``).
The numbers are ``core.strip_frames``'."""

from __future__ import annotations

from pathlib import Path

import bpy

from . import background
from .capture import CHILD_ENV, launcher
from .core.strip_frames import background_frames, check_new_file, sequence_number, strip_files
from .core.tasks import ChildProcessTask
from .core.user_error import UserError
from .mpd_backend.contract.protocol import ErrorEvent

MOVIE_SCRIPT = Path(__file__).resolve().parent / "movie_child.py"


def frames_of(strip) -> list[Path]:
    """The image files the strip shows, all on disk. Raises UserError."""
    directory = bpy.path.abspath(strip.directory)
    return strip_files(directory, [element.filename for element in strip.elements], strip.name)


def use_as_camera_background(scene, strip) -> object:
    """Show ``strip``'s frames on the scene camera's background, frame for frame with the strip's
    place on the timeline (one background per strip: a second call updates it). Raises UserError."""
    camera = scene.camera
    if camera is None or camera.type != "CAMERA":
        raise UserError("The scene has no active camera to put the strip behind.", "set the Camera in the Scene properties")
    files = frames_of(strip)
    image = bpy.data.images.load(str(files[0]), check_existing=True)
    image.source = "SEQUENCE"
    backgrounds = camera.data.background_images
    background = next((b for b in backgrounds if b.image == image), None) or backgrounds.new()
    background.source, background.image = "IMAGE", image
    background.display_depth, background.alpha = "FRONT", 0.5  # over the blocking, to compare the two
    user = background.image_user
    for name, value in background_frames(sequence_number(files[0].name), strip.frame_final_start, len(files)).items():
        setattr(user, name, value)
    user.use_auto_refresh, user.use_cyclic = True, False
    camera.data.show_background_images = True
    return camera


def ffmpeg_available() -> bool:
    return bool(getattr(bpy.app.build_options, "codec_ffmpeg", False))


class MovieTask(ChildProcessTask):
    """A background Blender writing one movie (``movie_child.py``); says how it went at the end."""

    kind = "movie"

    def __init__(self, command: list[str], path: Path, strip_name: str):
        super().__init__(command, env=CHILD_ENV)
        self.path, self.strip_name, self.error = path, strip_name, None

    def apply(self, event) -> None:
        if isinstance(event, ErrorEvent):
            self.error = event

    def ended(self, returncode: int, output: str) -> None:
        if returncode == 0 and self.path.is_file():
            background.report("INFO", f"Exported {self.strip_name} to {self.path}")
        elif self.error is not None:
            background.report("ERROR", self.error.message, self.error.hint)
        else:
            background.report("ERROR", f"The movie of {self.strip_name} was not written: {self.last_stderr() or 'Blender stopped'}.")


def export_movie(scene, strip, path: Path) -> MovieTask:
    """Write ``strip``'s frames to ``path`` as an H.264 MP4 at ``scene``'s frame rate, in a background
    Blender (Blender's own FFmpeg output, ``movie_child.py``); nothing is left at ``path`` unless the
    whole movie was written. Raises UserError before anything starts."""
    if not ffmpeg_available():
        raise UserError("This Blender was built without FFmpeg, so it cannot write a movie.",
                        "use the strip's frames instead: Open Folder in the Inbetween panel")
    if background.registry.running(MovieTask.kind):
        raise UserError("A movie is being written already: wait for it.")
    files, path = frames_of(strip), check_new_file(Path(path))
    command = [*launcher(), str(MOVIE_SCRIPT), "--", str(path), str(scene.render.fps), repr(scene.render.fps_base), *map(str, files)]
    return background.start(MovieTask(command, path, strip.name))
