"""Background work, one shape for all of it: the add-on's one timer polls one registry of tasks
(the worker, a generation, an install, the doctor, a calibration, a download). Standard library only.

Each tick, for every task: ``poll()`` returns its new typed events, ``apply(event)`` shows each one
(in Blender: the properties the panels draw), and once ``done()`` is true ``finish()`` runs once and
the task leaves the registry. ``cancel()`` asks it to stop; it is done when it has.
``ChildProcessTask`` is that shape for one backend command in a child process."""

from __future__ import annotations

import traceback

from .child_process import ChildProcess


class Task:
    kind: str = "task"  # one task of a kind at a time
    idle = False  # True while it only waits (the timer then ticks slowly)

    def poll(self) -> list:
        return []

    def apply(self, event) -> None:
        pass

    def done(self) -> bool:
        raise NotImplementedError

    def finish(self) -> None:
        pass

    def cancel(self) -> None:
        pass

    def stop_now(self) -> None:
        """End at once, for unregister: nothing is applied any more."""
        self.cancel()

    def crashed(self, error: Exception) -> None:
        """A bug in this task's own code ended it (after ``stop_now``): say so where the user looks."""


class TaskRegistry:
    def __init__(self):
        self.tasks: list[Task] = []

    def add(self, task: Task) -> Task:
        if self.get(task.kind) is not None:
            raise RuntimeError(f"a {task.kind} task is already running")
        self.tasks.append(task)
        return task

    def remove(self, task: Task) -> None:
        """Take a task out without finishing it (its owner has ended it)."""
        self.tasks.remove(task)

    def get(self, kind: str) -> Task | None:
        return next((t for t in self.tasks if t.kind == kind), None)

    def running(self, kind: str) -> bool:
        return self.get(kind) is not None

    def tick(self) -> bool:
        """Advance every task; True while any is left. A task whose own code raises is ended alone,
        its traceback printed: the timer and the other tasks go on."""
        for task in list(self.tasks):
            try:
                for event in task.poll():
                    task.apply(event)
                if task.done():
                    self.tasks.remove(task)
                    task.finish()
            except Exception as error:
                traceback.print_exc()
                if task in self.tasks:
                    self.tasks.remove(task)
                task.stop_now()
                task.crashed(error)
        return bool(self.tasks)

    def stop_all(self) -> None:
        for task in reversed(self.tasks):
            task.stop_now()
        self.tasks.clear()


class ChildProcessTask(Task):
    """One backend command in a child process, followed until it ends: its protocol events (or,
    with ``events=False``, its whole stdout) and its exit status. Subclasses say what the events
    and the end mean (``ended``); cancelling ends the process tree."""

    events = True

    def __init__(self, command: list[str], env: dict | None = None, stdin_text: str | None = None):
        self.process = ChildProcess(command, events=self.events, env=env, stdin_text=stdin_text)

    def poll(self):
        return self.process.poll()

    def done(self) -> bool:
        return not self.process.running()

    def finish(self) -> None:
        for event in self.process.poll():  # the readers hold everything once the process has ended
            self.apply(event)
        self.ended(self.process.process.returncode, "".join(self.process.stdout_text))

    def ended(self, returncode: int, output: str) -> None:
        """The process has exited with ``returncode``; ``output``: its stdout (``events=False``)."""

    def cancel(self) -> None:
        self.process.kill()

    def last_stderr(self) -> str:
        return self.process.last_stderr()
