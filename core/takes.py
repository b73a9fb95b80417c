"""Takes: several runs of one shot with different seeds, landing as strips of the same span of
which one plays. Standard library only: the strips' side is ``strips.py``.

A take set is named by a short group id kept in each strip's record (``take_group``) with the
take's number (``take``); Generate starts a new set, a re-run adds to the active strip's."""

from __future__ import annotations

import random
import uuid
import zlib
from dataclasses import replace

from ..mpd_backend.contract.job_request import SAMPLERLESS_ENGINES
from .shots import Shot

MAX_VARIANTS = 8
SEED_LIMIT = 2**31  # seeds stay in an IntProperty's range
COLOUR_TAGS = 9  # Blender's strip colour tags COLOR_01 .. COLOR_09


def take_seeds(count: int, seed: int | None = None, consecutive: bool = False, rng: random.Random | None = None) -> list[int]:
    """The seeds of ``count`` takes, all different. ``consecutive``: ``seed``, ``seed + 1``, ...
    (the panel's Seed, reproducible); else ``seed`` first when given (a re-run keeps its record),
    then seeds drawn at random."""
    if consecutive:
        return [(seed + k) % SEED_LIMIT for k in range(count)]
    rng = rng or random.SystemRandom()
    seeds = [] if seed is None else [seed]
    while len(seeds) < count:
        drawn = rng.randrange(SEED_LIMIT)
        if drawn not in seeds:
            seeds.append(drawn)
    return seeds


def variants_for_engine(count: int, engine: str) -> tuple[int, str]:
    """How many takes an engine can make of ``count`` asked for, and why fewer: the RIFE and flow
    engines ignore the seed, so their takes would all be the same."""
    if count > 1 and engine in SAMPLERLESS_ENGINES:
        return 1, f"One take, not {count}: the {'RIFE' if engine == 'rife' else 'Flow'} engine ignores the seed, so every take would be the same"
    return count, ""


def new_group() -> str:
    return uuid.uuid4().hex[:8]


def take_shots(shot: Shot, seeds: list[int], group: str, first_take: int = 1) -> list[Shot]:
    """One shot per seed, numbered from ``first_take``; a single seed on a new set stays a plain shot."""
    if len(seeds) == 1 and first_take == 1:
        return [replace(shot, seed=seeds[0])]
    return [replace(shot, seed=seed, take=first_take + k, take_group=group, between=list(shot.between))
            for k, seed in enumerate(seeds)]


def plan_takes(shot: Shot, count: int, engine: str, seed: int | None, consecutive: bool, group: str = "",
               first_take: int = 1) -> tuple[list[Shot], str]:
    """The shots of ``count`` takes of ``shot`` on ``engine`` (numbered from ``first_take`` in the
    set ``group``, a new one if empty) and a note when the engine makes fewer. Seeds as ``take_seeds``."""
    count, note = variants_for_engine(count, engine)
    return take_shots(shot, take_seeds(count, seed, consecutive), group or new_group(), first_take), note


def group_colour(group: str) -> str:
    """The colour tag every strip of a take set wears: the same for one set, from its id."""
    return f"COLOR_{zlib.crc32(group.encode()) % COLOUR_TAGS + 1:02d}"


def stepped_take(takes: list[int], shown: int, step: int) -> int:
    """The take ``step`` places after ``shown`` among ``takes`` (numbers), wrapping around."""
    ordered = sorted(takes)
    index = ordered.index(shown) if shown in ordered else 0
    return ordered[(index + step) % len(ordered)]
