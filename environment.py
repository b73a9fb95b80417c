"""The managed backend environment and the model, from Blender: install, update, cancel, state,
doctor report, model download.

The work is ``core.environment.Installer`` and the backend's ``download`` command (child processes,
never Blender's own Python); this module keeps at most one of each, polls them from a timer and
mirrors their state on the window manager."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import bpy

from .core.backend_process import BackendMissing, BackendProcess, backend_python
from .core.environment import Installer, status

_installer: Installer | None = None
_download: BackendProcess | None = None
_doctor: tuple | None = None  # (process, its stdout file) while the doctor runs
TICK_S = 0.5


def managed_folder(prefs) -> Path:
    """The environment's folder: the one the user picked, else the extension's user folder."""
    if prefs.env_folder:
        return Path(bpy.path.abspath(prefs.env_folder)) / "mpd-backend-env"
    try:
        return Path(bpy.utils.extension_path_user(__package__, path="backend", create=True)) / "env"
    except ValueError:  # imported as a plain package rather than an installed extension
        raise BackendMissing("The add-on is not installed as an extension, so it has no user folder: pick an environment folder.") from None


def resolve_backend_python(prefs) -> str:
    """The backend's Python: the explicit preference, else the ready managed environment, else
    $MPD_BACKEND_PYTHON."""
    if prefs.backend_python:
        return backend_python(prefs.backend_python)
    try:
        env = status(managed_folder(prefs), prefs.accelerator)
    except BackendMissing:
        env = None
    if env is not None and env.state in ("ready", "needs_update"):
        return env.python
    if os.environ.get("MPD_BACKEND_PYTHON"):
        return backend_python("")
    message = "No backend environment is installed." if env is None or env.state == "not_installed" else env.message
    raise BackendMissing(f"{message} Install it in Preferences > Add-ons > MPD Inbetween > Backend.")


def is_installing() -> bool:
    return _installer is not None


def env_state(context=None):
    return (context or bpy.context).window_manager.mpd_env


def refresh(context=None) -> None:
    """Show the environment's state as it is on disk (not while installing)."""
    from . import preferences

    if _installer is not None:
        return
    state = env_state(context)
    prefs = preferences.get(context)
    try:
        env = status(managed_folder(prefs), prefs.accelerator)
    except BackendMissing as exc:
        state.state, state.message, state.hint = "failed", str(exc), ""
        return
    state.state, state.message, state.hint, state.progress = env.state, env.message, env.hint, 1.0 if env.state == "ready" else 0.0
    state.report = "" if env.report is None else json.dumps(env.report)


def run_doctor(context=None) -> bool:
    """Ask the backend's doctor again (versions, devices, free memory, the model), in the
    background; its report replaces the one from install time. False when there is no backend."""
    import subprocess
    import tempfile

    from . import preferences
    from .core.backend_process import EXTENSION_ROOT

    global _doctor
    prefs = preferences.get(context)
    try:
        python = resolve_backend_python(prefs)
    except BackendMissing:
        return False
    if _doctor is not None:
        return True
    out = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    command = [python, "-m", "mpd_backend", "doctor", "--json", "--model", prefs.model]
    env = {**os.environ, "PYTHONPATH": str(EXTENSION_ROOT)}
    _doctor = (subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env), out)
    env_state(context).log_line = "Asking the doctor..."
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=TICK_S)
    return True


def _doctor_tick(state) -> bool:
    """Collect the doctor's report; True while it runs."""
    global _doctor
    process, out = _doctor
    if process.poll() is None:
        return True
    out.seek(0)
    try:
        state.report = json.dumps(json.loads(out.read()))
        state.log_line = ""
    except ValueError:
        state.log_line = f"The doctor could not run (exit status {process.returncode})."
    out.close()
    _doctor = None
    return False


def install(context, pip_args=(), extra_env=None) -> Installer:
    from . import preferences

    global _installer
    if _installer is not None:
        raise BackendMissing("An install is already running.")
    prefs = preferences.get(context)
    _installer = Installer(managed_folder(prefs), prefs.accelerator, base_python=sys.executable,
                           pip_args=pip_args, extra_env=extra_env).start()
    state = env_state(context)
    state.state, state.message, state.hint, state.progress, state.log_line = "installing", _installer.message, "", 0.0, ""
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=TICK_S)
    return _installer


def cancel() -> bool:
    """Cancel the install or the download that runs."""
    if _installer is not None:
        _installer.cancel()
        return True
    if _download is not None:
        _download.kill()
        return True
    return False


def is_downloading() -> bool:
    return _download is not None


def start_download(context) -> BackendProcess:
    """Download the preferences' model with the backend, only when online access is allowed."""
    from . import preferences

    global _download
    prefs = preferences.get(context)
    if prefs.offline or not getattr(bpy.app, "online_access", False):
        raise BackendMissing(
            "Online access is off, so nothing is downloaded: allow it in Preferences > System > Network "
            "(and untick Offline here), or give a local model folder."
        )
    if _download is not None or _installer is not None:
        raise BackendMissing("A download or an install is already running.")
    command = [resolve_backend_python(prefs), "-m", "mpd_backend", "download", "--model", prefs.model, "--json"]
    if prefs.accelerator == "cuda":
        command.append("--fp16")  # fp16 runs on CUDA: half the download
    _download = BackendProcess(command)
    state = env_state(context)
    state.model_state, state.model_message, state.model_progress = "downloading", f"Downloading {prefs.model}", 0.0
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=TICK_S)
    return _download


def _download_tick(state) -> bool:
    """Advance the download; True while it runs."""
    global _download
    for event in _download.poll():
        if event.get("event") == "progress":
            total = max(1, int(event.get("total", 1)))
            state.model_progress = min(1.0, int(event.get("step", 0)) / total)
            state.model_message = f"Downloading: {int(event.get('step', 0)) / 2**30:.2f} of {total / 2**30:.2f} GiB"
        elif event.get("event") == "done":
            state.model_state, state.model_message, state.model_progress = "ready", f"Downloaded to {event['folder']}", 1.0
        elif event.get("event") == "error":
            hint = f" ({event['hint']})" if event.get("hint") else ""
            state.model_state, state.model_message = "failed", event.get("message", "The download failed.") + hint
    if _download.running():
        return True
    if state.model_state == "downloading":
        state.model_state = "failed"
        state.model_message = "Download stopped." if _download.process.returncode < 0 else f"The download failed: {_download.last_stderr()}"
    _download = None
    return False


def tick():
    """Advance the install or the download; returns the next interval, or None when both have ended."""
    from .jobs import redraw

    state = env_state()
    running = [
        _download is not None and _download_tick(state),
        _doctor is not None and _doctor_tick(state),
    ]
    if any(running):
        redraw()
        return TICK_S
    return _install_tick(state)


def _install_tick(state):
    global _installer
    installer = _installer
    if installer is None:
        return None
    result = installer.poll()
    state.message, state.hint, state.progress = installer.message, installer.hint, installer.progress()
    state.log_line = installer.last_log_line()
    from .jobs import redraw

    redraw()
    if result == "running":
        return TICK_S
    _installer = None
    if result == "cancelled":
        state.state, state.message = "not_installed", installer.message
    else:
        refresh()
        if result == "failed":
            state.state, state.message, state.hint = "failed", installer.message, installer.hint
    return None


def register():
    pass  # the timer starts with an install


def unregister():
    global _installer, _download, _doctor
    if _installer is not None:
        _installer.cancel()
        _installer = None
    if _download is not None:
        _download.kill()
        _download = None
    if _doctor is not None:
        from .core.backend_process import kill_tree

        kill_tree(_doctor[0])
        _doctor[1].close()
        _doctor = None
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
