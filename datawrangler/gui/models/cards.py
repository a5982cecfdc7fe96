"""Cards: every mounted or queued source, with what the catalog knows about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt

from datawrangler.app.inspection import Inspection
from datawrangler.core.words import human_bytes, plural
from datawrangler.gui.fmt import short_when
from datawrangler.gui.models.base import ProgressRole, SortRole, StatusRole, TableModel
from datawrangler.gui.theme import Status, status_icon, vendor_icon


@dataclass(frozen=True)
class EjectMark:
    """What happened when the card was ejected after an offload (gui.eject_after)."""

    queue_id: int | None  # the offload it followed: a later offload of the card hides it
    ok: bool
    message: str


@dataclass
class CardRow:
    path: str
    status: Status = Status.SCANNING
    info: Inspection | None = None
    progress: float = -1.0  # 0..1 while copying/verifying
    copies: int = 0  # verified copies on distinct drives (after the last offload)
    required: int = 2
    rule: str = ""  # the preset's protection rule ("3-2-1"); "": `required` copies on distinct drives
    judgement: str = ""  # the weakest file against the rule, from the catalog: '2 copies, 1 media kind, 1 site: ...'
    failed_files: int = 0
    detail: str = ""  # the reasons, an error, what to do
    queue_id: int | None = None
    auto: bool = False  # appeared on a watched mount root (not added by hand)
    eject: EjectMark | None = None
    present: bool = True  # False: a released card left the reader while its stage 2 runs (gui.cascade)

    @property
    def label(self) -> str:
        return self.info.label if self.info else self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def ejected(self) -> bool | None:
        """After the card's last offload: True ejected, False the eject failed, None not tried."""
        if self.eject is None or self.eject.queue_id != self.queue_id:
            return None
        return self.eject.ok


def status_text(r: CardRow) -> str:
    s = r.status
    if s is Status.SCANNING:
        return "READING CARD…"
    if s is Status.NEW:
        return "NEW"
    if s is Status.KNOWN and r.info is not None:
        when = short_when(r.info.last_offload_at)
        copies = plural(r.copies, "copy")
        grown = f", {plural(r.info.new_or_changed, 'new file')}" if r.info.new_or_changed else ""
        return f"OFFLOADED {when} · {copies}{grown}"
    if s in (Status.COPYING, Status.VERIFYING):
        pct = f" {r.progress * 100:.0f}%" if r.progress >= 0 else ""
        return s.value.upper() + pct
    if s is Status.FAILED:
        return f"FAILED · {plural(r.failed_files, 'file')}" if r.failed_files else "FAILED"
    if s is Status.VERIFIED and r.rule and r.judgement:  # a studio's rule: the panel says what is missing
        return f"VERIFIED ON {r.copies} · NOT {r.rule}"
    if s is Status.VERIFIED:
        return f"VERIFIED ON {r.copies} · NOT SAFE"
    if s is Status.RELEASED:  # the card may leave the reader; stage 2 makes it safe (or not)
        stage2 = f"STAGE 2 {r.progress * 100:.0f}%" if r.progress >= 0 else "NOT SAFE YET"
        return f"RELEASED · {stage2}" + ("" if r.present else " · CARD OUT")
    if s is Status.SAFE:
        ejected = {True: " · EJECTED", False: " · NOT EJECTED", None: ""}[r.ejected]
        out = "" if r.present else " · CARD OUT"
        met = f"{r.rule} MET" if r.rule else plural(r.copies, "copy")
        return f"SAFE TO FORMAT · {met}{ejected}{out}"
    return s.value.upper()


class CardsModel(TableModel[CardRow]):
    COLUMNS = ("Card", "Reel", "Clips", "Size", "Status")

    def cell(self, row: CardRow, column: int, role: int) -> Any:
        info = row.info
        if role == StatusRole:
            return row.status
        if role == ProgressRole:
            return row.progress
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [row.path]
            if info and info.vendor:
                lines.append(f"{info.vendor} · {plural(info.files, 'file')}")
            if row.judgement:
                lines.append(f"Rule {row.rule or row.required}: {row.judgement}")
            if row.detail:
                lines.append(row.detail)
            if row.ejected is not None and row.eject is not None:
                lines.append(row.eject.message)
            return "\n".join(lines)
        if column == 0:
            if role == Qt.ItemDataRole.DisplayRole:
                return row.label
            if role == Qt.ItemDataRole.DecorationRole:
                return vendor_icon(info.vendor if info else None)
        elif column == 1:
            if role in (Qt.ItemDataRole.DisplayRole, SortRole):
                return (info.reel if info else None) or "–"
        elif column == 2:
            if role == Qt.ItemDataRole.DisplayRole:
                return str(info.clips) if info else "…"
            if role == SortRole:
                return info.clips if info else -1
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        elif column == 3:
            if role == Qt.ItemDataRole.DisplayRole:
                return human_bytes(info.bytes) if info else "…"
            if role == SortRole:
                return info.bytes if info else -1
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        elif column == 4:
            if role == Qt.ItemDataRole.DisplayRole:
                return status_text(row)
            if role == Qt.ItemDataRole.DecorationRole:
                return status_icon(row.status)
        return None

    def by_path(self, path: str) -> int:
        return self.find(lambda r: r.path == path)

    def update(self, path: str, **changes: Any) -> CardRow | None:
        i = self.by_path(path)
        if i < 0:
            return None
        row = self.row(i)
        for k, v in changes.items():
            setattr(row, k, v)
        self.changed(i)
        return row
