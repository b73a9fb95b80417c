"""The managed backend environment from Blender's preferences: a real install with pip from the
repo's requirement files, its states, a failed and a cancelled install, and a job run on it."""

from __future__ import annotations

import json
import os

import bpy
import pytest

from .conftest import drive_until, module, strips_of, wait_for_job, write_png


def setup_running(kind: str = "install"):
    return module("background").registry.get(kind)


def drive_install(until=None, timeout=900):
    """Drive the timer until the install (or the doctor) has ended, or ``until(installer)``."""
    def finished():
        task = setup_running("install")
        if task is not None and until is not None and until(task.installer):
            return True
        return task is None and setup_running("doctor") is None

    drive_until(finished, timeout)


@pytest.fixture
def managed(prefs, monkeypatch):
    """No explicit backend Python and no $MPD_BACKEND_PYTHON: only the managed environment counts."""
    monkeypatch.delenv("MPD_BACKEND_PYTHON", raising=False)
    prefs.backend_python, prefs.accelerator = "", "cpu"
    return prefs


def test_without_an_environment_generate_says_how_to_install_one(scene, managed, tmp_path):
    bpy.ops.mpd.env_refresh()
    assert bpy.context.window_manager.mpd_env.state == "not_installed"
    settings = scene.mpd_inbetween
    settings.source, settings.frame_a, settings.frame_b = "FILES", 1, 5
    settings.start_image = str(write_png(tmp_path / "a.png", 64, 64, (1, 0, 0)))
    settings.end_image = str(write_png(tmp_path / "b.png", 64, 64, (0, 0, 1)))
    with pytest.raises(RuntimeError, match="No backend environment is installed.*install it in Preferences"):
        bpy.ops.mpd.generate()


@pytest.mark.slow
def test_install_from_the_preferences_then_generate_with_it(scene, managed, tmp_path):
    assert bpy.ops.mpd.env_install() == {"FINISHED"}
    state = bpy.context.window_manager.mpd_env
    assert state.state == "installing"
    drive_install()
    assert state.state == "ready", (state.message, state.hint)
    report = json.loads(state.report)
    assert report["versions"]["torch"].startswith("2.13.0") and any(d["device"] == "cpu" for d in report["devices"])
    folder = module("backend_setup").managed_folder(managed)
    assert str(folder).startswith(str(tmp_path)) and (folder / "mpd_env.json").is_file()

    # Refresh asks the environment's doctor again, about the model chosen now.
    assert report["model"]["model"] != managed.model  # install time asked about the default model
    assert bpy.ops.mpd.env_refresh() == {"FINISHED"}
    drive_install()  # the same timer collects the doctor's report
    fresh = json.loads(state.report)
    assert fresh["model"]["model"] == managed.model and fresh["model"]["found"]

    settings = scene.mpd_inbetween
    settings.source, settings.frame_a, settings.frame_b = "FILES", 1, 5
    settings.start_image = str(write_png(tmp_path / "a.png", 64, 64, (1, 0, 0)))
    settings.end_image = str(write_png(tmp_path / "b.png", 64, 64, (0, 0, 1)))
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    assert wait_for_job().state == "DONE"
    (strip,) = strips_of(scene)
    assert len(strip.elements) == 5


def test_a_failed_install_shows_why_and_where_the_log_is(scene, managed):
    offline_pip = dict(pip_args=("--no-index",), extra_env={"PIP_FIND_LINKS": "", "PIP_EXTRA_INDEX_URL": ""})
    module("backend_setup").install(bpy.context, **offline_pip)
    drive_install(timeout=300)
    state = bpy.context.window_manager.mpd_env
    assert state.state == "failed"
    assert "Installing torch for CPU failed" in state.message and "install.log" in state.hint
    bpy.ops.mpd.env_refresh()  # the failure is remembered on disk, not only in this session
    assert state.state == "failed" and "install.log" in state.hint


def test_a_cancelled_install_leaves_no_environment(scene, managed):
    assert bpy.ops.mpd.env_install() == {"FINISHED"}
    drive_install(until=lambda installer: installer.step >= 1, timeout=300)
    assert bpy.ops.mpd.env_cancel() == {"FINISHED"}
    state = bpy.context.window_manager.mpd_env
    assert state.state == "not_installed" and "removed" in state.message
    assert setup_running("install") is None
    assert not module("backend_setup").managed_folder(managed).exists()
    bpy.ops.mpd.env_refresh()
    assert state.state == "not_installed"


def drive_download(timeout=300):
    drive_until(lambda: setup_running("download") is None, timeout)
    return bpy.context.window_manager.mpd_env


def test_model_download_only_with_online_access_then_used_from_the_cache(scene, prefs, tmp_path, monkeypatch):
    from tests.backend.fake_hub import FakeHub

    models = module("mpd_backend.contract.model_folder")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    system = bpy.context.preferences.system
    prefs.model, prefs.engine = "test-org/tiny-svd", "svd"
    assert not models.model_presence(prefs.model).found

    system.use_online_access = False
    with pytest.raises(RuntimeError, match="Online access is off"):
        bpy.ops.mpd.model_download()
    assert setup_running("download") is None

    system.use_online_access = True
    try:
        with FakeHub("test-org/tiny-svd", os.environ["MPD_TEST_MODEL"]) as hub:
            monkeypatch.setenv("HF_ENDPOINT", hub.url)
            assert bpy.ops.mpd.model_download() == {"FINISHED"}
            state = drive_download()
    finally:
        system.use_online_access = False
    assert state.model_state == "ready", state.model_message
    presence = models.model_presence(prefs.model)
    assert presence.found and presence.size_gib > 0 and str(tmp_path / "hf") in presence.folder

    # Offline now (online access is off again): the job runs on the cached copy.
    settings = scene.mpd_inbetween
    settings.source, settings.frame_a, settings.frame_b = "FILES", 1, 4
    settings.start_image = str(write_png(tmp_path / "a.png", 64, 64, (1, 0, 0)))
    settings.end_image = str(write_png(tmp_path / "b.png", 64, 64, (0, 0, 1)))
    assert bpy.ops.mpd.generate() == {"FINISHED"}
    job = wait_for_job()
    assert job.state == "DONE", job.message
    (strip,) = strips_of(scene)
    assert strip["mpd_inbetween"]["model"] == "test-org/tiny-svd" and strip["mpd_inbetween"]["offline"]
