"""Every state vocabulary of the add-on, one enum each, shared by the logic and the properties
(``enum_items`` turns one into an EnumProperty's items)."""

from __future__ import annotations

from enum import Enum, StrEnum


class JobState(StrEnum):
    """The last Generate, re-run or batch, as the panel shows it."""

    IDLE = "IDLE"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class ShotStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    REUSED = "reused"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (ShotStatus.QUEUED, ShotStatus.RUNNING)


class WorkerState(StrEnum):
    """The persistent backend worker (``serve``)."""

    STOPPED = "stopped"
    LOADING = "loading"
    READY = "ready"  # the model is loaded; jobs run or it waits for one
    FAILED = "failed"


class EnvState(StrEnum):
    """The managed backend environment."""

    NOT_INSTALLED = "not_installed"
    INSTALLING = "installing"
    READY = "ready"
    NEEDS_UPDATE = "needs_update"
    FAILED = "failed"


class ModelState(StrEnum):
    """The model download."""

    IDLE = "idle"
    DOWNLOADING = "downloading"
    READY = "ready"
    FAILED = "failed"


def enum_items(enum: type[Enum]) -> tuple:
    """EnumProperty items: (identifier, name, description) for each member."""
    return tuple((member.value, member.value.replace("_", " ").capitalize(), "") for member in enum)
