"""Which queued offloads may start now: pure, no Qt, no I/O.

Each job knows the physical drives it reads and writes (app.drives.drives_of). A job starts only when none
of its drives is busy with a running job (or with one started earlier in the same pass), so two cards that
share a destination run one after the other instead of thrashing the drive, and cards going to different
drives run side by side. Queue order is kept: a job never overtakes an earlier one that wants the same
drive. A job whose drives are not known yet waits, and blocks nobody.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Job:
    id: Hashable
    label: str
    drives: frozenset[str] | None  # None: not measured yet
    running: bool = False


@dataclass(frozen=True)
class Schedule:
    start: tuple[Hashable, ...] = ()  # the queued jobs to start now, in queue order
    waiting: dict[Hashable, str] = field(default_factory=dict)  # queued job -> the label of the job it waits for


def schedule(jobs: Iterable[Job]) -> Schedule:
    """`jobs` in queue order: the running ones and the queued ones (anything else left out)."""
    jobs = list(jobs)
    busy: dict[str, str] = {}
    for j in jobs:
        if j.running:
            for d in j.drives or ():
                busy.setdefault(d, j.label)
    start: list[Hashable] = []
    waiting: dict[Hashable, str] = {}
    claimed: dict[str, str] = {}  # drives wanted by an earlier queued job that waits: keep queue order
    for j in jobs:
        if j.running or j.drives is None:
            continue
        shared = [busy[d] for d in sorted(j.drives) if d in busy]
        if not shared:
            shared = [claimed[d] for d in sorted(j.drives) if d in claimed]
        if shared:
            waiting[j.id] = shared[0]
            for d in j.drives:
                claimed.setdefault(d, j.label)
            continue
        start.append(j.id)
        for d in j.drives:
            busy[d] = j.label
    return Schedule(tuple(start), waiting)
