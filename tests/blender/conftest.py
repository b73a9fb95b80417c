"""Headless Blender (the PyPI bpy module): the built extension zip installed the way a user does,
with the real backend process (MPD_BACKEND_PYTHON) on the tiny model (MPD_TEST_MODEL).

Blender's user folders point at a temporary folder before bpy is imported, so nothing touches the
real ~/.config/blender."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="mpd_blender_user_")
os.environ["MPD_CACHE_DIR"] = tempfile.mkdtemp(prefix="mpd_cache_")  # calibrations start empty, and stay out of ~/.cache
os.environ["MPD_CALIBRATION_SIZE"] = "64x64x4"  # the tiny model's calibration in seconds

import bpy  # noqa: E402

PACKAGE = "bl_ext.user_default.mpd_inbetween"
NOBODY = 65534


def required_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value or not Path(value).exists():
        pytest.exit(f"{name} must name an existing path (make test-blender sets it up)", returncode=2)
    return value


def extension_tool() -> Path:
    scripts = Path(bpy.utils.resource_path("LOCAL")) / "scripts"
    return scripts / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory) -> Path:
    """The zip built by Blender's own extension tool from this checkout."""
    out = tmp_path_factory.mktemp("build") / "mpd_inbetween.zip"
    subprocess.run([sys.executable, str(extension_tool()), "validate", str(REPO)], check=True, capture_output=True)
    subprocess.run([sys.executable, str(extension_tool()), "build", "--source-dir", str(REPO), "--output-filepath", str(out)],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="session")
def addon(extension_zip):
    """The installed and enabled extension's package module."""
    result = bpy.ops.extensions.package_install_files(filepath=str(extension_zip), repo="user_default", enable_on_install=True)
    assert result == {"FINISHED"}
    assert PACKAGE in bpy.context.preferences.addons
    yield sys.modules[PACKAGE]
    if PACKAGE in bpy.context.preferences.addons:  # unregister in teardown: a live timer crashes 4.2 at exit
        bpy.ops.preferences.addon_disable(module=PACKAGE)


@pytest.fixture
def prefs(addon, tmp_path):
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    prefs.backend_python = required_env("MPD_BACKEND_PYTHON")
    prefs.model = required_env("MPD_TEST_MODEL")
    prefs.output_dir = str(tmp_path / "job folders ü") + os.sep
    prefs.device, prefs.dtype, prefs.engine, prefs.offline = "cpu", "float32", "auto", False
    prefs.cancel_grace_s = 120.0  # a cancel waits for the next step, however loaded the machine; the kill path has its own test
    prefs.env_folder = str(tmp_path / "environments")
    return prefs


@pytest.fixture
def scene(addon):
    """An empty scene with fast settings for the tiny model, and an idle job state."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    settings = scene.mpd_inbetween
    settings.steps, settings.width, settings.height, settings.seed = 2, 64, 64, 0
    bpy.context.window_manager.mpd_job.state = "IDLE"
    yield scene
    generation = module("generation")
    if generation.busy():
        generation.cancel()
        wait_for_job(timeout=30)


def module(name: str):
    """One of the installed extension's modules."""
    import importlib

    return importlib.import_module(f"{PACKAGE}.{name}")


def wait_for_job(timeout: float = 120.0, on_tick=None):
    """Drive the add-on's timer function by hand (timers never fire without Blender's event loop)
    until the generation has ended; the worker stays up."""
    tick, generation = module("background").tick, module("generation")
    deadline = time.monotonic() + timeout
    while True:
        tick()
        if not generation.busy():
            return bpy.context.window_manager.mpd_job
        if on_tick:
            on_tick()
        assert time.monotonic() < deadline, "the job did not finish in time"
        time.sleep(0.05)


def drive_until(done, timeout: float = 300.0):
    """Drive the timer until ``done()`` (an install, a download, the doctor)."""
    tick = module("background").tick
    deadline = time.monotonic() + timeout
    while not done():
        tick()
        assert time.monotonic() < deadline, "the task did not finish in time"
        time.sleep(0.1)
    tick()


def write_png(path: Path, width: int, height: int, rgb) -> Path:
    """A PNG written through Blender itself (no PIL in Blender's Python): a colour with a bright square."""
    image = bpy.data.images.new("tmp", width, height)
    pixels = []
    for y in range(height):
        for x in range(width):
            inside = width // 4 <= x < width // 2 and height // 4 <= y < height // 2
            pixels += [1.0, 1.0, 1.0, 1.0] if inside else [*rgb, 1.0]
    image.pixels = pixels
    path.parent.mkdir(parents=True, exist_ok=True)
    image.filepath_raw = str(path)
    image.file_format = "PNG"
    image.save()
    bpy.data.images.remove(image)
    return path


def build_animated_scene(scene):
    """A camera, a light and a cube moving between keys at frames 1 and 5; Cycles, tiny and fast."""
    bpy.ops.object.camera_add(location=(0, -6, 1), rotation=(1.45, 0, 0))
    scene.camera = bpy.context.active_object
    bpy.ops.object.light_add(type="SUN", location=(0, 0, 5))
    bpy.context.active_object.data.energy = 5
    scene.world = bpy.data.worlds.new("Sky")
    scene.world.color = (0.2, 0.3, 0.5)
    bpy.ops.mesh.primitive_cube_add(size=1, location=(-1.5, 0, 0.5))
    cube = bpy.context.active_object
    cube.keyframe_insert("location", frame=1)
    cube.location.x = 1.5
    cube.keyframe_insert("location", frame=5)
    render = scene.render
    render.engine = "CYCLES"
    scene.cycles.samples, scene.cycles.device = 1, "CPU"
    render.resolution_x, render.resolution_y, render.resolution_percentage = 96, 64, 100
    return cube


def render_now(scene, frames, folder: Path) -> dict[int, str]:
    """The keys rendered here, synchronously, as the add-on rendered them before its capture ran in
    the background: the reference a captured key must equal pixel for pixel."""
    render, image = scene.render, scene.render.image_settings
    saved = (scene.frame_current, render.use_sequencer, image.file_format, image.color_mode, image.color_depth)
    render.use_sequencer = False
    image.file_format, image.color_mode, image.color_depth = "PNG", "RGB", "8"
    paths = {}
    try:
        for frame in frames:
            scene.frame_set(frame)
            bpy.ops.render.render(scene=scene.name)
            paths[frame] = str(folder / f"now_{frame:04d}.png")
            bpy.data.images["Render Result"].save_render(paths[frame], scene=scene)
    finally:
        frame, render.use_sequencer, image.file_format, image.color_mode, image.color_depth = saved
        scene.frame_set(frame)
    return paths


def strips_of(scene):
    editor = scene.sequence_editor
    if editor is None:
        return []
    return list(editor.strips if hasattr(editor, "strips") else editor.sequences)


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder the user cannot write to, and ``as_user()``, the context that calls the add-on as
    that user. Not root: root writes anywhere, so as root the call runs with the effective user id
    of nobody (every path it reads is then made readable to all)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:
        for path in (tmp_path, *tmp_path.parents):
            if path == Path(tempfile.gettempdir()):
                break
            path.chmod(path.stat().st_mode | 0o055)  # nobody (whatever its groups) may look up the paths the call reads
    yield folder
    folder.chmod(0o755)


@contextlib.contextmanager
def as_user():
    """Run the block as an unprivileged user when the tests run as root (see ``read_only_folder``)."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
