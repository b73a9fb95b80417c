"""The one shape of background work: a registry ticked by one timer."""

import importlib

import pytest


@pytest.fixture(scope="module")
def tasks(addon_package):
    return importlib.import_module("mpd_inbetween.core.tasks")


def test_each_tick_polls_applies_and_finishes_once(tasks):
    seen = []

    class Counting(tasks.Task):
        kind = "count"

        def __init__(self):
            self.left = [["a", "b"], [], ["c"]]

        def poll(self):
            return self.left.pop(0) if self.left else []

        def apply(self, event):
            seen.append(event)

        def done(self):
            return not self.left

        def finish(self):
            seen.append("finished")

    registry = tasks.TaskRegistry()
    registry.add(Counting())
    with pytest.raises(RuntimeError, match="already running"):
        registry.add(Counting())  # one of a kind at a time
    assert registry.tick() and seen == ["a", "b"]
    assert registry.tick() and seen == ["a", "b"]
    assert not registry.tick() and seen == ["a", "b", "c", "finished"]
    assert not registry.tick() and seen.count("finished") == 1 and registry.get("count") is None


def test_stop_all_ends_every_task_newest_first(tasks):
    stopped = []

    class Endless(tasks.Task):
        def __init__(self, kind):
            self.kind = kind

        def done(self):
            return False

        def cancel(self):
            stopped.append(self.kind)

    registry = tasks.TaskRegistry()
    registry.add(Endless("worker"))
    registry.add(Endless("generation"))
    registry.stop_all()
    assert stopped == ["generation", "worker"] and registry.tasks == [] and not registry.tick()


def test_a_task_that_raises_is_ended_alone(tasks, capsys):
    ended = []

    class Broken(tasks.Task):
        kind = "broken"

        def poll(self):
            return ["event"]

        def apply(self, event):
            raise KeyError("a bug")

        def done(self):
            return False

        def crashed(self, error):
            ended.append(repr(error))

    class Steady(tasks.Task):
        kind = "steady"

        def done(self):
            return False

    registry = tasks.TaskRegistry()
    registry.add(Broken())
    registry.add(Steady())
    assert registry.tick()  # the timer goes on
    assert [t.kind for t in registry.tasks] == ["steady"] and ended == ["KeyError('a bug')"]
    assert "KeyError: 'a bug'" in capsys.readouterr().err


def tick_until_gone(registry, seconds: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while registry.tick():
        assert time.monotonic() < deadline, "the task never ended"
        time.sleep(0.02)


def test_a_child_process_task_hands_over_its_events_then_its_end(tasks, tmp_path):
    """The base of Doctor, Calibrate and Download, on a real child process: every event applied in
    order, then ``ended`` once with the exit status (and, without events, the whole stdout)."""
    import sys

    script = tmp_path / "backend_command.py"
    script.write_text("import json, sys\n"
                      "for step in (1, 2):\n"
                      "    print(json.dumps({'event': 'progress', 'protocol': 3, 'phase': 'download', 'step': step, 'total': 2}), flush=True)\n"
                      "print('not an event')\n"
                      "sys.exit(int(sys.argv[1]))\n")
    seen = []

    class Followed(tasks.ChildProcessTask):
        kind = "followed"

        def apply(self, event):
            seen.append((event.kind, event.step))

        def ended(self, returncode, output):
            seen.append(("ended", returncode, output))

    registry = tasks.TaskRegistry()
    registry.add(Followed([sys.executable, str(script), "3"]))
    tick_until_gone(registry)
    assert seen == [("progress", 1), ("progress", 2), ("ended", 3, "")]

    class WholeOutput(Followed):
        kind = "whole"
        events = False

    seen.clear()
    registry.add(WholeOutput([sys.executable, str(script), "0"]))
    tick_until_gone(registry)
    (ended,) = seen
    assert ended[:2] == ("ended", 0) and ended[2].count('"event": "progress"') == 2 and ended[2].endswith("not an event\n")


def test_cancelling_a_child_process_task_ends_its_process(tasks):
    import sys

    ended = []

    class Sleeper(tasks.ChildProcessTask):
        kind = "sleeper"

        def ended(self, returncode, output):
            ended.append(returncode)

    registry = tasks.TaskRegistry()
    task = registry.add(Sleeper([sys.executable, "-c", "import time; time.sleep(600)"]))
    assert registry.tick() and task.process.running()
    task.cancel()
    tick_until_gone(registry)
    assert ended and ended[0] < 0  # killed by a signal
