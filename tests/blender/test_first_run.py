"""A first run that finishes, in headless Blender: a restart shows the environment ready, a missing
one says "Setup needed", the Hugging Face token goes where the hub keeps it and nowhere else, and no
operator takes Blender's Esc."""

from __future__ import annotations

import importlib
import json
import uuid
from pathlib import Path

import bpy
import pytest

from .conftest import PACKAGE, drive_until, module
from .test_environment import managed  # noqa: F401 (a fixture)
from .test_panels import draw_all


def test_a_restart_shows_the_environment_ready_and_knows_the_devices(scene, prefs):
    python, model = prefs.backend_python, prefs.model
    package = importlib.import_module(PACKAGE)
    package.unregister()
    package.register()
    bpy.context.window_manager.property_unset("mpd_env")  # as Blender starts: the window manager's state is new
    env = bpy.context.window_manager.mpd_env
    assert env.state == "not_installed" and not env.report
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    prefs.backend_python, prefs.model = python, model  # the saved preferences
    bpy.ops.wm.read_homefile(use_empty=True)  # a file loads
    env = bpy.context.window_manager.mpd_env
    assert env.state == "ready" and python in env.message
    drive_until(lambda: not module("background").registry.running("doctor"), timeout=300)
    report = json.loads(env.report)
    assert report["auto"]["device"] == "cpu" and report["devices"]
    assert ("label", "Setup needed") not in draw_all(bpy.context)


def test_without_a_backend_the_sidebar_says_setup_needed_and_opens_the_preferences(scene, managed):  # noqa: F811
    bpy.ops.mpd.env_refresh()
    calls = draw_all(bpy.context)
    assert ("label", "Setup needed") in calls and ("operator", "preferences.addon_show") in calls


def test_the_token_goes_where_the_hub_keeps_it_and_never_into_a_blend_or_the_preferences(scene, prefs, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf home"))
    token = f"hf_{uuid.uuid4().hex}"
    assert bpy.ops.mpd.hf_login(token=token) == {"FINISHED"}
    task = module("background").registry.get("login")
    assert token not in " ".join(task.process.command)  # stdin only: a command line is visible to every user
    drive_until(lambda: not module("background").registry.running("login"), timeout=120)
    assert (tmp_path / "hf home" / "token").read_text() == token
    assert bpy.context.window_manager.mpd_env.login_message.startswith("Token saved in")
    blend = tmp_path / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    bpy.ops.wm.save_userpref()
    userpref = Path(bpy.utils.resource_path("USER")) / "config" / "userpref.blend"
    for saved in (blend, userpref):
        assert saved.is_file() and token.encode() not in saved.read_bytes(), saved


def test_an_empty_token_is_one_clear_report(scene, prefs):
    with pytest.raises(RuntimeError, match="Paste an access token first"):
        bpy.ops.mpd.hf_login(token="  ")


def test_generate_runs_in_the_background_without_a_modal_handler_that_would_take_esc(scene, prefs, tmp_path):
    from .test_addon import keyframe_files, use_files

    start, end = keyframe_files(tmp_path)
    use_files(scene, start, end, 1, 9)
    assert bpy.ops.mpd.generate("INVOKE_DEFAULT") == {"FINISHED"}  # not RUNNING_MODAL: Esc stays playback's
    assert module("generation").busy() and not hasattr(bpy.types.MPD_OT_generate, "modal")
    assert bpy.ops.mpd.cancel() == {"FINISHED"}
    drive_until(lambda: not module("generation").busy(), timeout=300)
    assert bpy.context.window_manager.mpd_job.state in ("CANCELLED", "DONE")


def test_operators_that_cannot_run_say_why(scene, prefs):
    with pytest.raises(RuntimeError, match="Make an inbetween strip the active strip"):
        bpy.ops.mpd.rerun()
