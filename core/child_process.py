"""The one way the add-on starts a child process (the worker, the doctor, a download, an install
step). Standard library only: no bpy, no torch.

``start_child`` runs ``command`` (a list, never through a shell) in a process group of its own, so
that stopping it ends the whole tree, with the extension folder on PYTHONPATH. ``ChildProcess``
adds reader threads that turn its stdout into typed protocol events; ``poll()`` hands them over
without blocking, so a Blender timer can call it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections import deque
from dataclasses import replace
from pathlib import Path

from ..mpd_backend.contract.errors import phrase
from ..mpd_backend.contract.protocol import Command, ErrorEvent, Event, LogEvent, decode_event, encode_command

EXTENSION_ROOT = Path(__file__).resolve().parents[1]  # the folder that holds mpd_backend/
STOP_GRACE_S = 3.0


def start_child(command: list[str], *, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env: dict | None = None) -> subprocess.Popen:
    """Start ``command`` in a new process group with the extension folder on PYTHONPATH."""
    pythonpath = os.pathsep.join([str(EXTENSION_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    full_env = {**os.environ, "PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", **(env or {})}
    group = {"start_new_session": True} if os.name == "posix" else {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    text = {"text": True, "encoding": "utf-8", "errors": "replace"} if stdout == subprocess.PIPE else {}
    return subprocess.Popen(command, stdin=stdin, stdout=stdout, stderr=stderr, env=full_env, **text, **group)


def signal_tree(process: subprocess.Popen, sig) -> None:
    """Send ``sig`` to the process group a child was started in."""
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
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def in_blender_words(event: Event) -> Event:
    """An error's or a note's settings named as the add-on shows them (``errors.phrase``)."""
    if isinstance(event, ErrorEvent):
        return replace(event, message=phrase(event.message, "blender"), hint=phrase(event.hint, "blender"))
    if isinstance(event, LogEvent):
        return replace(event, message=phrase(event.message, "blender"))
    return event


class ChildProcess:
    """A running backend command whose stdout carries protocol events (or, with ``events=False``,
    plain text kept whole, e.g. the doctor's JSON report)."""

    def __init__(self, command: list[str], commands: bool = False, events: bool = True, env: dict | None = None,
                 stdin_text: str | None = None):
        """``commands``: keep stdin open to send protocol commands (``serve``). Its end, when this
        process (Blender) dies whatever the way, is what tells the worker to exit. ``env``: variables
        added to this process's environment. ``stdin_text``: written to stdin, which is then closed
        (a secret, which the command line would show to every user of the machine)."""
        self.command = command
        piped = commands or stdin_text is not None
        self.process = start_child(command, stdin=subprocess.PIPE if piped else subprocess.DEVNULL, env=env)
        if stdin_text is not None:
            self.send_text(stdin_text)
            self.process.stdin.close()
        self.events: queue.Queue = queue.Queue()
        self.stdout_text: list[str] = []
        self.stderr_tail: deque[str] = deque(maxlen=20)
        self._readers = [
            threading.Thread(target=self._read_stdout, args=(events,), daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self, events: bool):
        for line in self.process.stdout:
            if not events:
                self.stdout_text.append(line)
            elif (event := decode_event(line)) is not None:
                self.events.put(in_blender_words(event))

    def _read_stderr(self):
        for line in self.process.stderr:
            if line.strip():
                self.stderr_tail.append(line.rstrip())

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, command: Command) -> bool:
        """Write one command line; False when the process no longer reads them."""
        return self.send_text(encode_command(command) + "\n")

    def send_text(self, text: str) -> bool:
        try:
            self.process.stdin.write(text)
            self.process.stdin.flush()
            return True
        except (OSError, ValueError, AttributeError):
            return False

    def running(self) -> bool:
        return self.process.poll() is None

    def poll(self) -> list[Event]:
        """New events since the last call, never blocking; once the process has ended, all of them."""
        if not self.running():
            for reader in self._readers:  # the pipes are closed: the readers finish at once
                reader.join(timeout=1.0)
        events = []
        while True:
            try:
                events.append(self.events.get_nowait())
            except queue.Empty:
                return events

    def kill(self) -> None:
        """End the whole process tree now."""
        kill_tree(self.process)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Close stdin (a worker takes it as its cue to exit), wait out the grace period, then kill:
        for unregister and Release Backend, which cannot wait on a timer."""
        try:
            if self.process.stdin:
                self.process.stdin.close()
        except OSError:
            pass
        deadline = time.monotonic() + grace_s
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.kill()

    def last_stderr(self) -> str:
        """The most telling stderr line, for a backend that died without an error event."""
        for line in reversed(self.stderr_tail):
            if line.startswith("error:"):
                return line.removeprefix("error:").strip()
        return self.stderr_tail[-1] if self.stderr_tail else f"exit status {self.process.returncode}"
