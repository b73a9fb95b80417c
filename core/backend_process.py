"""The backend as a separate process, seen from the add-on. Standard library only: no bpy, no torch.

``BackendProcess`` starts ``[python, -m, mpd_backend, ...]`` with the extension folder on PYTHONPATH,
never through a shell, in its own process group so that cancelling can end the whole tree. A reader
thread turns its stdout into protocol events; ``poll()`` hands them over without blocking, so a
Blender timer can call it.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

from ..mpd_backend.protocol import WORKER_OPTIONS, decode_event

EXTENSION_ROOT = Path(__file__).resolve().parents[1]  # the folder that holds mpd_backend/
CANCEL_GRACE_S = 3.0


def signal_tree(process: subprocess.Popen, sig) -> None:
    """Send ``sig`` to the process group a child was started in (``start_new_session``)."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def kill_tree(process: subprocess.Popen) -> None:
    """End a child and everything it started, now, and reap it."""
    if process.poll() is None:
        signal_tree(process, signal.SIGKILL if os.name == "posix" else signal.SIGTERM)
        if os.name != "posix":
            subprocess.run(["taskkill", "/T", "/F", "/PID", str(process.pid)], capture_output=True)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


class BackendMissing(Exception):
    """The configured backend Python does not exist."""


def backend_python(configured: str) -> str:
    """The backend's Python: the preference, else $MPD_BACKEND_PYTHON."""
    python = configured or os.environ.get("MPD_BACKEND_PYTHON", "")
    if not python:
        raise BackendMissing("No backend Python is set.")
    if not Path(python).is_file():
        raise BackendMissing(f"The backend Python was not found: {python}")
    return python


def cli_flags(options: dict) -> list[str]:
    """``--flag value`` pairs from a dict; True gives a bare flag, None and False leave it out."""
    flags = []
    for flag, value in options.items():
        if value is None or value is False:
            continue
        flags.append("--" + flag.replace("_", "-"))
        if value is not True:
            flags.append(str(value))
    return flags


def generate_command(python: str, start: str, end: str, out: str, frames: int, options: dict) -> list[str]:
    """The argument list for one ``generate`` job (``options``: see ``cli_flags``)."""
    return [python, "-m", "mpd_backend", "generate", "--start", start, "--end", end, "--out", out,
            "--frames", str(frames), "--json", *cli_flags(options)]


def serve_command(python: str, options: dict) -> list[str]:
    """The argument list for a ``serve`` worker; only the options fixed for a worker's life are used."""
    return [python, "-m", "mpd_backend", "serve", *cli_flags({k: options.get(k) for k in WORKER_OPTIONS})]


class BackendProcess:
    """One running backend command. States: running, done, failed, cancelled."""

    def __init__(self, command: list[str], cwd: str | None = None, requests: bool = False):
        """``requests``: keep stdin open to send protocol requests (``serve``)."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXTENSION_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
        group = {"start_new_session": True} if os.name == "posix" else {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        self.command = command
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.PIPE if requests else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", **group,
        )
        self.events: queue.Queue = queue.Queue()
        self.stderr_tail: deque[str] = deque(maxlen=20)
        self.cancel_requested_at: float | None = None
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self):
        for line in self.process.stdout:
            event = decode_event(line)
            if event is not None:
                self.events.put(event)

    def _read_stderr(self):
        for line in self.process.stderr:
            if line.strip():
                self.stderr_tail.append(line.rstrip())

    def send(self, request: dict) -> bool:
        """Write one request line; False when the process no longer reads them."""
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            return True
        except (OSError, ValueError, AttributeError):
            return False

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def poll(self) -> list[dict]:
        """New events since the last call; ends the process tree once a cancel's grace is over."""
        if self.cancel_requested_at is not None and self.running():
            if time.monotonic() - self.cancel_requested_at > CANCEL_GRACE_S:
                self.kill()
        if not self.running():
            for reader in self._readers:  # the pipes are closed: the readers finish at once
                reader.join(timeout=1.0)
        events = []
        while True:
            try:
                events.append(self.events.get_nowait())
            except queue.Empty:
                return events

    def cancel(self) -> None:
        """Ask the backend to stop (it exits with a 'cancelled' error); killed after a grace period."""
        if self.cancel_requested_at is None and self.running():
            self.cancel_requested_at = time.monotonic()
            signal_tree(self.process, signal.SIGINT if os.name == "posix" else signal.CTRL_BREAK_EVENT)

    def kill(self) -> None:
        """End the whole process tree now."""
        kill_tree(self.process)

    def stop(self) -> None:
        """Cancel, wait out the grace period, then kill: for unregister, which cannot wait on a timer."""
        self.cancel()
        deadline = time.monotonic() + CANCEL_GRACE_S
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.kill()

    def last_stderr(self) -> str:
        """The most telling stderr line, for a backend that died without an error event."""
        for line in reversed(self.stderr_tail):
            if line.startswith("error:"):
                return line.removeprefix("error:").strip()
        return self.stderr_tail[-1] if self.stderr_tail else f"exit status {self.process.returncode}"

