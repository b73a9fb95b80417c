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
