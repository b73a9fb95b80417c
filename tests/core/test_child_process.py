"""Child processes seen from the add-on: events, failures and stopping, with the real backend and
with deliberately faulty ones."""

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


def test_bad_input_comes_back_as_a_typed_error_event(child_process, tmp_path):
    command = [sys.executable, "-m", "mpd_backend", "generate", "--start", str(tmp_path / "missing.png"), "--end", "b.png",
               "--out", str(tmp_path / "o"), "--json"]
    process = child_process.ChildProcess(command)
    events = wait(process)
    assert process.process.returncode == 2
    (error,) = events
    assert type(error).__name__ == "ErrorEvent" and error.code == "bad_input" and "start keyframe was not found" in error.message


def test_a_crash_without_events_is_explained_by_stderr(child_process, tmp_path):
    script = tmp_path / "crash.py"
    script.write_text("import sys\nprint('not json')\nprint('Fatal Python error: Segmentation fault', file=sys.stderr)\nsys.exit(139)\n")
    process = child_process.ChildProcess([sys.executable, str(script)])
    assert wait(process) == []  # a line that is not an event is ignored
    assert process.process.returncode == 139
    assert process.last_stderr() == "Fatal Python error: Segmentation fault"


def test_stop_kills_a_worker_that_ignores_the_end_of_its_input(child_process, tmp_path):
    """A worker (and its child) that ignore both the end of stdin and the interrupt are killed once
    the grace period is over."""
    script = tmp_path / "stubborn.py"
    script.write_text(
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)'])\n"
        "print('{\"event\": \"log\", \"protocol\": 1, \"message\": \"child %d\"}' % child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    process = child_process.ChildProcess([sys.executable, str(script)], commands=True)
    deadline = time.monotonic() + 30
    events = []
    while not events:
        events = process.poll()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = int(events[0].message.split()[1])
    assert child in living_members(process.pid)
    started = time.monotonic()
    process.stop()
    assert not process.running()
    assert child_process.STOP_GRACE_S - 0.5 < time.monotonic() - started < child_process.STOP_GRACE_S + 5
    deadline = time.monotonic() + 5
    while living_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert living_members(process.pid) == []  # the group, child included, is gone
