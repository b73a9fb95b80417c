"""The managed backend environment: a virtual environment with the backend's pinned requirements,
created and checked by the add-on. Standard library only: no bpy.

Never Blender's own Python, never the extension folder: the environment lives in a folder of its
own (the extension's user folder, or one the user picks). A marker file, written last and only when
the doctor has checked the result, makes it "ready"; a changed requirement file makes it "needs
update"; a failed step leaves a failure record with the log.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..mpd_backend.contract.json_files import write_json_atomic
from .child_process import EXTENSION_ROOT, kill_tree, start_child
from .states import EnvState

REQUIREMENTS = EXTENSION_ROOT / "requirements"
ACCELERATORS = ("cuda", "mps", "cpu")
READY_MARKER = "mpd_env.json"
FAILED_RECORD = "mpd_env_failed.json"
LOG_NAME = "install.log"


def requirement_files(accelerator: str) -> list[Path]:
    """Torch for the accelerator first and alone, then the backend's packages, then the ones
    installed without their declared dependencies (RIFE)."""
    return [REQUIREMENTS / f"torch-{accelerator}.txt", REQUIREMENTS / "backend.txt", REQUIREMENTS / "no-deps.txt"]


def requirements_sha256(accelerator: str) -> str:
    digest = hashlib.sha256(accelerator.encode())
    for path in requirement_files(accelerator):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def env_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def log_path(folder: Path) -> Path:
    """The install log sits beside the environment, so that removing a half one keeps the log."""
    return folder.parent / f"{folder.name}-{LOG_NAME}"


@dataclass
class EnvStatus:
    state: EnvState
    message: str
    hint: str = ""
    python: str = ""
    report: dict | None = None  # the doctor's report at install time


def status(folder: Path, accelerator: str) -> EnvStatus:
    failed = folder.parent / f"{folder.name}-{FAILED_RECORD}"
    if failed.is_file():
        record = json.loads(failed.read_text(encoding="utf-8"))
        return EnvStatus(EnvState.FAILED, record["message"], record.get("hint", ""))
    marker = folder / READY_MARKER
    if not marker.is_file():
        return EnvStatus(EnvState.NOT_INSTALLED, f"No backend environment in {folder}.", "install it with the button below")
    record = json.loads(marker.read_text(encoding="utf-8"))
    python = env_python(folder)
    if not python.is_file():
        return EnvStatus(EnvState.FAILED, f"The environment in {folder} has lost its Python.", "reinstall it")
    if record.get("accelerator") != accelerator or record.get("requirements_sha256") != requirements_sha256(accelerator):
        return EnvStatus(EnvState.NEEDS_UPDATE, "The backend's pinned requirements changed since this environment was made.",
                         "update it with the button below", str(python), record.get("report"))
    return EnvStatus(EnvState.READY, f"Ready: {folder}", "", str(python), record.get("report"))


def doctor_problem(report: dict, accelerator: str) -> str | None:
    """Why a freshly installed environment cannot serve the chosen accelerator, if it cannot."""
    devices = {d["device"].split(":")[0] for d in report.get("devices", [])}
    if accelerator == "cuda" and "cuda" not in devices:
        return "torch was installed but sees no NVIDIA GPU (a CPU-only build, or the driver is too old for it)"
    if accelerator == "mps" and "mps" not in devices:
        return "torch was installed but Apple MPS is not available on this machine"
    return None


class Installer:
    """Create or update the environment step by step; ``poll()`` from a timer never blocks.

    States: installing, then ready, failed, or not_installed (cancelled: the half-made environment
    is removed). Each step's output goes to the install log."""

    def __init__(self, folder: Path, accelerator: str, base_python: str | None = None, pip_args: tuple = (),
                 extra_env: dict | None = None):
        """``pip_args`` and ``extra_env`` reach pip (an index or a proxy of the user's, say)."""
        if accelerator not in ACCELERATORS:
            raise ValueError(f"unknown accelerator {accelerator!r}")
        self.folder, self.accelerator = Path(folder), accelerator
        self.base_python = base_python or sys.executable
        python = str(env_python(self.folder))
        pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", *pip_args]
        torch_req, backend_req, no_deps_req = (str(p) for p in requirement_files(accelerator))
        self.steps = [
            ("Creating the environment", [self.base_python, "-m", "venv", str(self.folder)]),
            (f"Installing torch for {accelerator.upper()}", [*pip, "-r", torch_req]),
            ("Installing the backend's packages", [*pip, "-r", backend_req]),
            ("Installing RIFE (without its declared dependencies)", [*pip, "--no-deps", "-r", no_deps_req]),
            ("Checking it with the doctor", [python, "-m", "mpd_backend", "doctor", "--json"]),
        ]
        self.extra_env = extra_env or {}
        self.state, self.step, self.message, self.hint = EnvState.INSTALLING, 0, "", ""
        self.process: subprocess.Popen | None = None
        self.started_at = time.monotonic()

    @property
    def log(self) -> Path:
        return log_path(self.folder)

    def start(self) -> Installer:
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        for stale in (self.folder / READY_MARKER, self.folder.parent / f"{self.folder.name}-{FAILED_RECORD}"):
            stale.unlink(missing_ok=True)  # while installing, the environment is not ready
        self.log.write_text(f"MPD Inbetween backend environment, {self.accelerator}, {time.ctime()}\n", encoding="utf-8")
        self._start_step()
        return self

    def _start_step(self) -> None:
        title, command = self.steps[self.step]
        self.message = f"{title} ({self.step + 1}/{len(self.steps)})"
        with open(self.log, "a", encoding="utf-8") as log:
            log.write(f"\n== {title}\n$ {' '.join(command)}\n")
        self._out = open(self.log, "a", encoding="utf-8")
        self._doctor_out = self.folder.parent / f"{self.folder.name}-doctor.json"
        stdout = open(self._doctor_out, "w", encoding="utf-8") if self.step == len(self.steps) - 1 else self._out
        self._stdout = stdout
        try:
            self.process = start_child(command, stdout=stdout, stderr=self._out, env={"PIP_NO_INPUT": "1", **self.extra_env})
        except OSError as exc:  # e.g. the base Python is gone
            self._close_outputs()
            self.process = None
            self._fail(f"{title} could not start: {exc}", f"see the log: {self.log}")

    def progress(self) -> float:
        return self.step / len(self.steps)

    def last_log_line(self) -> str:
        try:
            lines = [line for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
        except OSError:
            return ""
        return lines[-1][:200] if lines else ""

    def poll(self) -> str:
        """Advance when a step has ended; returns the state."""
        if self.state != EnvState.INSTALLING or self.process.poll() is None:
            return self.state
        self._close_outputs()
        if self.process.returncode != 0:
            title = self.steps[self.step][0]
            return self._fail(f"{title} failed (exit status {self.process.returncode}): {self.last_log_line()}",
                              f"see the log: {self.log}")
        if self.step + 1 < len(self.steps):
            self.step += 1
            self._start_step()
            return self.state
        return self._finish()

    def _finish(self) -> str:
        try:
            report = json.loads(self._doctor_out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return self._fail("The doctor's report could not be read.", f"see the log: {self.log}")
        problem = doctor_problem(report, self.accelerator)
        if problem:
            return self._fail(f"The environment cannot use {self.accelerator.upper()}: {problem}.",
                              "choose another accelerator, or update the GPU driver")
        write_json_atomic(self.folder / READY_MARKER, {
            "accelerator": self.accelerator,
            "requirements_sha256": requirements_sha256(self.accelerator),
            "python": str(env_python(self.folder)),
            "installed": time.strftime("%Y-%m-%d %H:%M:%S"),
            "seconds": round(time.monotonic() - self.started_at, 1),
            "report": report,
        })
        self.state, self.step, self.message = EnvState.READY, len(self.steps), f"Ready: {self.folder}"
        return self.state

    def _fail(self, message: str, hint: str) -> str:
        self.state, self.message, self.hint = EnvState.FAILED, message, hint
        write_json_atomic(self.folder.parent / f"{self.folder.name}-{FAILED_RECORD}", {"message": message, "hint": hint, "log": str(self.log)})
        with open(self.log, "a", encoding="utf-8") as log:
            log.write(f"\n== FAILED: {message}\n")
        return self.state

    def cancel(self) -> None:
        """Stop now; a half-made environment is removed, so nothing half-installed is ever ready."""
        if self.state != EnvState.INSTALLING:
            return
        if self.process is not None:
            kill_tree(self.process)
        self._close_outputs()
        shutil.rmtree(self.folder, ignore_errors=True)
        self.state, self.message = EnvState.NOT_INSTALLED, "Cancelled: the half-made environment was removed."
        with open(self.log, "a", encoding="utf-8") as log:
            log.write("\n== CANCELLED\n")

    def _close_outputs(self) -> None:
        for stream in {getattr(self, "_out", None), getattr(self, "_stdout", None)}:
            if stream is not None and not stream.closed:
                stream.close()
