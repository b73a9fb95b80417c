"""The backend process seen from the add-on: events, failures and cancelling, with the real backend
and with deliberately faulty ones."""

import sys
import time
from pathlib import Path


def wait(process, timeout=60):
    events, deadline = [], time.monotonic() + timeout
    while process.running():
        events += process.poll()
        assert time.monotonic() < deadline, "backend did not end"
        time.sleep(0.05)
    return events + process.poll()


def living_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are not zombies (a killed orphan may wait a moment to be reaped)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def test_bad_input_comes_back_as_an_error_event(backend_process, tmp_path):
    command = backend_process.generate_command(sys.executable, str(tmp_path / "missing.png"), "b.png", str(tmp_path / "o"), 5, {})
    process = backend_process.BackendProcess(command)
    events = wait(process)
    assert process.process.returncode == 2
    (error,) = [e for e in events if e["event"] == "error"]
    assert error["code"] == "bad_input" and "start keyframe was not found" in error["message"]


def test_a_crash_without_events_is_explained_by_stderr(backend_process, tmp_path):
    script = tmp_path / "crash.py"
    script.write_text("import sys\nprint('not json')\nprint('Fatal Python error: Segmentation fault', file=sys.stderr)\nsys.exit(139)\n")
    process = backend_process.BackendProcess([sys.executable, str(script)])
    assert wait(process) == []  # a line that is not an event is ignored
    assert process.process.returncode == 139
    assert process.last_stderr() == "Fatal Python error: Segmentation fault"


def test_cancel_kills_a_backend_that_ignores_it(backend_process, tmp_path):
    """A backend (and its child) that ignore the interrupt are killed after the grace period."""
    script = tmp_path / "stubborn.py"
    script.write_text(
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)'])\n"
        "print('{\"event\": \"log\", \"protocol\": 1, \"message\": \"child %d\"}' % child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    process = backend_process.BackendProcess([sys.executable, str(script)])
    deadline = time.monotonic() + 30
    events = []
    while not events:
        events = process.poll()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = int(events[0]["message"].split()[1])
    assert child in living_members(process.pid)
    started = time.monotonic()
    process.cancel()
    wait(process, timeout=backend_process.CANCEL_GRACE_S + 10)
    assert time.monotonic() - started < backend_process.CANCEL_GRACE_S + 5
    deadline = time.monotonic() + 5
    while living_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert living_members(process.pid) == []  # the group, child included, is gone
