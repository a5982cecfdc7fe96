"""Queue: one row per offload, with live progress and each destination's state."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt

from datawrangler.app.offload import OffloadOutcome
from datawrangler.app.request import OffloadRequest
from datawrangler.core.events import FileResult, OffloadControl, OffloadState, ProgressEvent
from datawrangler.core.words import human_bytes, human_eta, human_speed, plural
from datawrangler.gui.models.base import ProgressRole, SortRole, StatusRole, TableModel
from datawrangler.gui.theme import Status, status_icon

_ids = itertools.count(1)

ACTIVE = (Status.PREPARING, Status.COPYING, Status.VERIFYING, Status.PAUSED)
ENDED = (Status.SAFE, Status.RELEASED, Status.VERIFIED, Status.FAILED, Status.CANCELLED, Status.INTERRUPTED,
         Status.DONE)


@dataclass
class QueueItem:
    label: str
    request: OffloadRequest
    card_path: str = ""
    id: int = field(default_factory=lambda: next(_ids))
    status: Status = Status.QUEUED
    event: ProgressEvent | None = None
    outcome: OffloadOutcome | None = None
    offload_id: int | None = None
    drives: frozenset[str] | None = None  # physical volumes it uses; None until measured
    control: OffloadControl = field(default_factory=OffloadControl)
    failed: list[FileResult] = field(default_factory=list)  # the first few, for the details
    failed_count: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    waiting_for: str = ""  # why a queued offload has not started (a shared drive)
    bytes_total: int = 0  # known before it starts (from the card's scan)
    # the cascading copy (gui.cascade): stage 2 copies a verified stage-1 copy to more drives once the card
    # is released; its request resumes the stage-2 offload the catalog queued (app.cascade.run_stage2)
    stage: int = 1
    cascade_of: int | None = None  # stage 2: the stage-1 offload it copies from
    stage2_to: tuple[str, ...] = ()  # stage 1: the stage-2 drives (roots) asked for
    targets: tuple[str, ...] = ()  # a resume's drives (its request names none: the catalog has its plan)
    stage2_status: Status | None = None  # stage 1: how its stage-2 job ended (None: not yet)

    @property
    def fraction(self) -> float:
        if self.status in (Status.SAFE, Status.RELEASED, Status.VERIFIED, Status.DONE):
            return 1.0
        return self.event.fraction if self.event else (0.0 if self.status in ACTIVE else -1.0)

    @property
    def running(self) -> bool:
        return self.status in ACTIVE


def status_from(e: ProgressEvent) -> Status:
    if e.paused:
        return Status.PAUSED
    states = {d.state for d in e.destinations}
    if e.bytes_total and e.bytes_read >= e.bytes_total and states <= {"verifying", "done", "failed"}:
        return Status.VERIFYING
    return Status.COPYING


def status_of(outcome: OffloadOutcome) -> Status:
    state = outcome.result.state
    if state is OffloadState.VERIFIED:
        if outcome.safe:
            return Status.SAFE
        return Status.RELEASED if outcome.released else Status.VERIFIED
    if state is OffloadState.COPIED:
        return Status.VERIFIED
    if state is OffloadState.CANCELLED:
        return Status.CANCELLED
    if state is OffloadState.INTERRUPTED:
        return Status.INTERRUPTED
    return Status.FAILED


def state_text(q: QueueItem) -> str:
    s = q.status
    if s is Status.QUEUED:
        return f"QUEUED · waits for {q.waiting_for}" if q.waiting_for else "QUEUED"
    if s is Status.SAFE and q.outcome:
        return f"SAFE TO FORMAT · {plural(q.outcome.copies, 'copy')}"
    if s is Status.RELEASED:  # stage 1's row keeps its own status; the words follow its stage 2
        words: dict[Status | None, str] = {Status.SAFE: "RELEASED · STAGE 2 SAFE",
                                           Status.VERIFIED: "RELEASED · STAGE 2 NOT SAFE",
                                           Status.FAILED: "RELEASED · STAGE 2 FAILED"}
        return words.get(q.stage2_status, "RELEASED · NOT SAFE YET")
    if s is Status.VERIFIED and q.outcome:
        if q.outcome.result.state is OffloadState.COPIED:
            return "COPIED · SIZES ONLY, NOT VERIFIED"
        return f"VERIFIED ON {q.outcome.copies} · NOT SAFE"
    if s is Status.FAILED:
        n = q.failed_count or (q.outcome.result.files_failed if q.outcome else 0)
        return f"FAILED · {plural(n, 'file')}" if n else "FAILED"
    if s is Status.INTERRUPTED:
        return "INTERRUPTED · RESUMABLE"
    return s.value.upper()


def drive_names(roots: tuple[str, ...] | list[str]) -> str:
    """'SHUTTLE_C and RAID': how a message names drives (each root's last folder)."""
    names = [os.path.basename(os.path.normpath(r)) or r for r in roots]
    if len(names) <= 1:
        return names[0] if names else "the stage-2 drives"
    return ", ".join(names[:-1]) + " and " + names[-1]


def released_text(stage2_roots: tuple[str, ...] | list[str]) -> str:
    """What RELEASED means, in the words the card, the queue and the messages use."""
    return ("Released: the card may leave the reader. Not safe to format until stage 2 to "
            f"{drive_names(stage2_roots)} is verified.")


def dest_text(q: QueueItem) -> str:
    text = _dest_text(q)
    if q.stage == 1 and q.stage2_to:
        return f"{text}  ⇢ stage 2: {drive_names(q.stage2_to)}"
    return text


def _dest_text(q: QueueItem) -> str:
    roots = q.request.dest_roots or q.targets
    if q.event is None:
        if q.outcome is not None:
            return "  ".join(f"{os.path.basename(os.path.normpath(r)) or r}: {d.state}"
                             for r, d in zip(roots, q.outcome.result.destinations, strict=False))
        return "  ".join(os.path.basename(os.path.normpath(r)) or r for r in roots)
    total = max(q.event.bytes_total, 1)
    parts = []
    for i, d in enumerate(q.event.destinations):
        name = os.path.basename(os.path.normpath(roots[i])) if i < len(roots) else f"#{i + 1}"
        if d.state in ("verifying",):
            parts.append(f"{name}: verify {d.bytes_verified * 100 // total}%")
        elif d.state == "writing":
            parts.append(f"{name}: write {d.bytes_written * 100 // total}%")
        else:
            parts.append(f"{name}: {d.state}")
    return "  ".join(parts)


class QueueModel(TableModel[QueueItem]):
    COLUMNS = ("Card", "State", "Progress", "Copied", "Files", "Speed", "ETA", "Destinations", "Current file")

    def cell(self, q: QueueItem, column: int, role: int) -> Any:
        e = q.event
        if role == StatusRole:
            return q.status
        if role == ProgressRole:
            return q.fraction
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [q.card_path or q.request.source]
            if q.stage == 2:
                lines.append(f"stage 2 of offload #{q.cascade_of}: copies its verified copy in {q.request.source}")
            lines += [f"→ {r}" for r in q.request.dest_roots]
            if q.status is Status.RELEASED:
                lines.append(released_text(q.stage2_to))
            if q.outcome:
                lines.append(q.outcome.result.message)
                lines += q.outcome.reasons
            if q.error:
                lines.append(q.error)
            lines += q.warnings[:5]
            lines += [f"FAILED {f.rel_path}: {f.message}" for f in q.failed[:5]]
            return "\n".join(x for x in lines if x)
        display = role == Qt.ItemDataRole.DisplayRole
        if column == 0 and display:
            return q.label
        if column == 1:
            if display:
                return state_text(q)
            if role == Qt.ItemDataRole.DecorationRole:
                return status_icon(q.status)
        if column == 2:
            if display:
                return f"{q.fraction * 100:.0f}%" if q.fraction >= 0 else ""
            if role == SortRole:
                return q.fraction
        if column == 3 and display:
            if e is not None:
                return f"{human_bytes(e.bytes_read)} / {human_bytes(e.bytes_total)}"
            return human_bytes(q.bytes_total) if q.bytes_total else ""
        if column == 4 and display:
            if e is not None:
                return f"{e.files_done} / {e.files_total}"
            if q.outcome is not None:
                r = q.outcome.result
                return f"{r.files_verified + r.files_copied} / {r.files_total}"
            return ""
        if column == 5 and display:
            return human_speed(e.speed) if e is not None and q.running else ""
        if column == 6 and display:
            return human_eta(e.eta_seconds) if e is not None and q.running else ""
        if column == 7 and display:
            return dest_text(q)
        if column == 8 and display:
            return (e.current_file if e is not None and q.running else "") or ""
        return None

    def by_id(self, item_id: int) -> int:
        return self.find(lambda q: q.id == item_id)

    @property
    def running(self) -> list[QueueItem]:
        return [q for q in self._rows if q.running]

    def overall(self) -> tuple[int, float]:
        """(running offloads, overall fraction of their work) for the title and the taskbar."""
        active = [q for q in self._rows if q.running]
        if not active:
            return 0, 0.0
        total = sum(max(q.event.work_total, 1) if q.event else 1 for q in active)
        done = sum(q.event.work_done if q.event else 0 for q in active)
        return len(active), min(1.0, done / max(total, 1))
