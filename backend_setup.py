"""Setting the backend up from Blender: which Python runs it, the managed environment (install,
update, cancel), the doctor's report and the model download, each a background task of the
add-on's one timer. The work itself is in ``core.installer`` and the backend's commands."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import bpy
from bpy.app.handlers import persistent

from . import background, preferences
from .core.installer import Installer, status
from .core.states import EnvState, ModelState
from .core.tasks import ChildProcessTask, Task
from .core.user_error import UserError
from .mpd_backend.contract.protocol import DownloadedEvent, ErrorEvent, LogEvent, ProgressEvent


def env_state(context=None):
    return (context or bpy.context).window_manager.mpd_env


def managed_folder(prefs) -> Path:
    """The environment's folder: the one the user picked, else the extension's user folder."""
    if prefs.env_folder:
        return Path(bpy.path.abspath(prefs.env_folder)) / "mpd-backend-env"
    try:
        return Path(bpy.utils.extension_path_user(__package__, path="backend", create=True)) / "env"
    except ValueError:  # imported as a plain package rather than an installed extension
        raise UserError("The add-on is not installed as an extension, so it has no user folder.", "pick an environment folder") from None


def resolve_backend_python(prefs) -> str:
    """The backend's Python: the explicit preference, else the ready managed environment, else
    $MPD_BACKEND_PYTHON. Raises UserError saying what to do."""
    explicit = prefs.backend_python and bpy.path.abspath(prefs.backend_python)
    if not explicit:
        try:
            env = status(managed_folder(prefs), prefs.accelerator)
        except UserError:
            env = None
        if env is not None and env.state in (EnvState.READY, EnvState.NEEDS_UPDATE):
            return env.python
        explicit = os.environ.get("MPD_BACKEND_PYTHON", "")
        if not explicit:
            message = "No backend environment is installed." if env is None or env.state == EnvState.NOT_INSTALLED else env.message
            raise UserError(message, "install it in Preferences > Add-ons > MPD Inbetween > Backend Environment")
    if not Path(explicit).is_file():
        raise UserError(f"The backend Python was not found: {explicit}", "set it in Preferences > Add-ons > MPD Inbetween > Backend Python")
    return explicit


def refresh(context=None) -> None:
    """Show the environment's state as it is on disk (not while installing); your own Python, when
    the preferences name one."""
    if background.registry.running(InstallTask.kind):
        return
    state = env_state(context)
    prefs = preferences.get(context)
    if prefs.backend_python:
        found = Path(bpy.path.abspath(prefs.backend_python)).is_file()
        state.state = (EnvState.READY if found else EnvState.FAILED).value
        state.message = f"Your own Python: {prefs.backend_python}" if found else f"Your own Python was not found: {prefs.backend_python}"
        state.hint = "" if found else "correct Or Your Own Python below, or clear it to use the managed environment"
        return
    try:
        env = status(managed_folder(prefs), prefs.accelerator)
    except UserError as exc:
        state.state, state.message, state.hint = EnvState.FAILED.value, exc.message, exc.hint
        return
    state.state, state.message, state.hint = env.state.value, env.message, env.hint
    state.progress = 1.0 if env.state == EnvState.READY else 0.0
    state.report = "" if env.report is None else json.dumps(env.report)


class InstallTask(Task):
    kind = "install"

    def __init__(self, installer: Installer):
        self.installer = installer
        self.shown = None

    def poll(self):
        self.installer.poll()
        now = (self.installer.message, self.installer.step)
        if now == self.shown:
            return []
        self.shown = now
        return [ProgressEvent(None, self.installer.message, self.installer.step, len(self.installer.steps))]

    def apply(self, event) -> None:
        state = env_state()
        state.message, state.hint, state.progress = event.phase, self.installer.hint, event.fraction
        state.log_line = self.installer.last_log_line()

    def done(self) -> bool:
        return self.installer.state != EnvState.INSTALLING

    def finish(self) -> None:
        state = env_state()
        if self.installer.state == EnvState.NOT_INSTALLED:  # cancelled
            state.state, state.message = EnvState.NOT_INSTALLED.value, self.installer.message
            return
        refresh()
        if self.installer.state == EnvState.FAILED:
            state.state, state.message, state.hint = EnvState.FAILED.value, self.installer.message, self.installer.hint

    def cancel(self) -> None:
        self.installer.cancel()


class DoctorTask(ChildProcessTask):
    """The backend's doctor, asked again: versions, devices, free memory, the model."""

    kind = "doctor"
    events = False

    def __init__(self, python: str, model: str):
        super().__init__([python, "-m", "mpd_backend", "doctor", "--json", "--model", model])

    def ended(self, returncode: int, output: str) -> None:
        state = env_state()
        try:
            state.report = json.dumps(json.loads(output))
            state.log_line = ""
        except ValueError:
            state.log_line = f"The doctor could not run: {self.last_stderr()}"


class CalibrateTask(ChildProcessTask):
    """The backend's calibration of the preferences' model, device and precision (for estimates)."""

    kind = "calibrate"
    events = False

    def ended(self, returncode: int, output: str) -> None:
        state = env_state()
        if returncode == 0:
            state.calibration = "Calibrated: " + output.strip().splitlines()[-1] if output.strip() else "Calibrated"
            background.report("INFO", state.calibration)
        else:
            state.calibration = f"The calibration failed: {self.last_stderr()}"
            background.report("ERROR", state.calibration)


class DownloadTask(ChildProcessTask):
    kind = "download"

    def apply(self, event) -> None:
        state = env_state()
        if isinstance(event, ProgressEvent):
            state.model_progress = event.fraction
            state.model_message = f"Downloading: {event.step / 2**30:.2f} of {event.total / 2**30:.2f} GiB"
        elif isinstance(event, DownloadedEvent):
            state.model_state, state.model_message, state.model_progress = ModelState.READY.value, f"Downloaded to {event.folder}", 1.0
            background.report("INFO", state.model_message)
        elif isinstance(event, ErrorEvent):
            state.model_state, state.model_message = ModelState.FAILED.value, event.text()

    def ended(self, returncode: int, output: str) -> None:
        state = env_state()
        if state.model_state == ModelState.DOWNLOADING:
            state.model_state = ModelState.FAILED.value
            state.model_message = "Download stopped." if returncode < 0 else f"The download failed: {self.last_stderr()}"
        if state.model_state == ModelState.FAILED:
            background.report("ERROR", state.model_message)


class LoginTask(ChildProcessTask):
    """The backend keeps a Hugging Face token where the hub client finds it; the token goes to its
    stdin, and nowhere in Blender (not the .blend, not the preferences)."""

    kind = "login"
    said_why = False  # an error event has told the panel why it failed

    def apply(self, event) -> None:
        if isinstance(event, (LogEvent, ErrorEvent)):
            env_state().login_message = event.message if isinstance(event, LogEvent) else event.text()
            self.said_why = self.said_why or isinstance(event, ErrorEvent)

    def ended(self, returncode: int, output: str) -> None:
        state = env_state()
        if returncode != 0 and not self.said_why:
            state.login_message = f"The token was not saved: {self.last_stderr()}"
        background.report("INFO" if returncode == 0 else "ERROR", state.login_message)


def log_in(context, token: str) -> LoginTask:
    """Save ``token`` for the hub, in the background (checked online when online access is allowed)."""
    if background.registry.running(LoginTask.kind):
        raise UserError("A log-in is already running.")
    prefs = preferences.get(context)
    command = [resolve_backend_python(prefs), "-m", "mpd_backend", "login", "--json"]
    if prefs.offline or not getattr(bpy.app, "online_access", False):
        command.append("--offline")
    task = background.start(LoginTask(command, stdin_text=token.strip() + "\n"))
    env_state(context).login_message = "Saving the token..."
    return task


def backend_configured(context) -> bool:
    """A backend Python is set up to run jobs: your own, the managed environment (as last seen), or
    $MPD_BACKEND_PYTHON. Cheap: the panels ask at every redraw."""
    prefs, env = preferences.get(context), env_state(context)
    return bool(prefs.backend_python or os.environ.get("MPD_BACKEND_PYTHON")) or env.state in (
        EnvState.READY, EnvState.NEEDS_UPDATE, EnvState.INSTALLING)


def poll_backend_ready(operator, context) -> bool:
    """An operator's poll that needs a backend Python, with the way to one when there is none."""
    if backend_configured(context):
        return True
    operator.poll_message_set("Install the backend environment first (Preferences > Add-ons > MPD Inbetween)")
    return False


def setup_running() -> bool:
    """An install or a download runs (one at a time: both use the network and the disk)."""
    return background.registry.running(InstallTask.kind) or background.registry.running(DownloadTask.kind)


def install(context, pip_args=(), extra_env=None) -> InstallTask:
    """Create or update the managed environment, in the background."""
    if setup_running():
        raise UserError("An install or a download is already running.")
    prefs = preferences.get(context)
    installer = Installer(managed_folder(prefs), prefs.accelerator, base_python=sys.executable, pip_args=pip_args, extra_env=extra_env)
    task = background.start(InstallTask(installer.start()))
    state = env_state(context)
    state.state, state.message, state.hint, state.progress, state.log_line = EnvState.INSTALLING.value, installer.message, "", 0.0, ""
    return task


def run_doctor(context=None) -> bool:
    """Ask the backend's doctor again, in the background; its report replaces the one from install
    time. False when there is no backend."""
    prefs = preferences.get(context)
    try:
        python = resolve_backend_python(prefs)
    except UserError:
        return False
    if not background.registry.running(DoctorTask.kind):
        background.start(DoctorTask(python, prefs.model_argument()))
        env_state(context).log_line = "Asking the doctor..."
    return True


def calibrate(context) -> CalibrateTask:
    """Time the model on the preferences' device and precision, in the background, so that the panel
    can estimate every job's cost. Loads the model once (seconds to a minute)."""
    if background.registry.running(CalibrateTask.kind):
        raise UserError("A calibration is already running.")
    prefs = preferences.get(context)
    command = [resolve_backend_python(prefs), "-m", "mpd_backend", "calibrate", "--model", prefs.model_argument(),
               "--device", prefs.device, "--dtype", prefs.dtype, "--offline"]
    if prefs.low_vram:
        command.append("--offload")
    task = background.start(CalibrateTask(command))
    env_state(context).calibration = "Calibrating: timing the model on this machine..."
    if not env_state(context).report:
        run_doctor(context)  # the panel's price needs the devices that Auto settles at
    return task


def start_download(context) -> DownloadTask:
    """Download the preferences' model with the backend, only when online access is allowed."""
    prefs = preferences.get(context)
    if prefs.offline or not getattr(bpy.app, "online_access", False):
        raise UserError("Online access is off, so nothing is downloaded.",
                        "allow it in Preferences > System > Network (and untick Offline here), or give a local model folder")
    if setup_running():
        raise UserError("A download or an install is already running.")
    command = [resolve_backend_python(prefs), "-m", "mpd_backend", "download", "--model", prefs.model_argument(), "--json"]
    if prefs.accelerator == "cuda":
        command.append("--fp16")  # fp16 runs on CUDA: half the download
    task = background.start(DownloadTask(command))
    state = env_state(context)
    state.model_state, state.model_message, state.model_progress = ModelState.DOWNLOADING.value, f"Downloading {prefs.model}", 0.0
    return task


def cancel_setup() -> bool:
    """Cancel the install or the download that runs."""
    for kind in (InstallTask.kind, DownloadTask.kind):
        task = background.registry.get(kind)
        if task is not None:
            task.cancel()
            return True
    return False


@persistent
def refresh_on_load(*_args) -> None:
    """A file loaded (or Blender started): the environment as it is on disk, and the devices, so
    that a restart shows "Ready" and the price the device that will run."""
    if os.environ.get("MPD_CAPTURE_CHILD"):
        return  # a background Blender rendering keys needs none of it
    refresh()
    if not env_state().report:
        run_doctor()


def refresh_at_start():
    refresh_on_load()
    return None  # once


def register():
    bpy.app.handlers.load_post.append(refresh_on_load)
    bpy.app.timers.register(refresh_at_start, first_interval=0.5)  # the add-on enabled without a file load


def unregister():
    if bpy.app.timers.is_registered(refresh_at_start):
        bpy.app.timers.unregister(refresh_at_start)
    if refresh_on_load in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(refresh_on_load)
