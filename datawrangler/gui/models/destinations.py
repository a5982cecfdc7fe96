"""Destinations: the drives of the current preset, with live free space and the warnings that matter."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt

from datawrangler.app.drives import DriveInfo
from datawrangler.core.presets import Preset
from datawrangler.core.words import human_bytes
from datawrangler.gui.models.base import SortRole, StatusRole, TableModel
from datawrangler.gui.prefs import GuiPrefs
from datawrangler.gui.theme import Status, status_icon


@dataclass(frozen=True)
class DestSpec:
    path: str
    role: str = "backup"


@dataclass
class DestRow:
    spec: DestSpec
    info: DriveInfo | None = None
    warning: str = ""


class DestinationsModel(TableModel[DestRow]):
    COLUMNS = ("Drive", "Role", "Free", "Total", "Folder", "Check")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.needed = 0  # bytes the queue still has to write to each drive

    def set_preset(self, preset: Preset, gui: GuiPrefs) -> None:
        self.set_specs(tuple(DestSpec(p, gui.role(p)) for p in preset.destinations))

    def set_specs(self, specs: tuple[DestSpec, ...]) -> None:
        old = {r.spec.path: r.info for r in self._rows}
        self.reset([DestRow(s, old.get(s.path)) for s in specs])
        self._warn()

    def set_infos(self, infos: list[DriveInfo]) -> None:
        by_path = {i.path: i for i in infos}
        for r in self._rows:
            if r.spec.path in by_path:
                r.info = by_path[r.spec.path]
        self._warn()
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(self.COLUMNS) - 1))

    def set_needed(self, needed: int) -> None:
        self.needed = needed
        self._warn()
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(self.COLUMNS) - 1))

    def _warn(self) -> None:
        drives: dict[str, list[DestRow]] = {}
        for r in self._rows:
            if r.info and r.info.present:
                drives.setdefault(r.info.drive, []).append(r)
        for r in self._rows:
            i = r.info
            if i is None:
                r.warning = ""
            elif not i.present:
                r.warning = "MISSING: connect the drive or fix the folder."
            elif len(drives.get(i.drive, [])) > 1:
                others = [o.spec.path for o in drives[i.drive] if o is not r]
                r.warning = f"SAME DRIVE as {', '.join(others)}: counts as one copy."
            elif self.needed and i.free < self.needed:
                r.warning = f"TOO SMALL: the queue needs {human_bytes(self.needed)}, {human_bytes(i.free)} free."
            else:
                r.warning = ""

    @property
    def warnings(self) -> list[str]:
        return [f"{r.spec.path}: {r.warning}" for r in self._rows if r.warning]

    def cell(self, row: DestRow, column: int, role: int) -> Any:
        i = row.info
        if role == StatusRole:
            if i is None:
                return Status.SCANNING
            return Status.FAILED if row.warning.startswith(("MISSING", "TOO SMALL")) else (
                Status.WARNING if row.warning else Status.DONE)
        if role == Qt.ItemDataRole.ToolTipRole:
            kind = f"\nMedia kind: {i.media_kind}" if i and i.media_kind else "\nMedia kind: not said"
            return row.spec.path + kind + (f"\n{row.warning}" if row.warning else "")
        right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if column == 0 and role == Qt.ItemDataRole.DisplayRole:
            return (i.label if i and i.label else os.path.basename(os.path.normpath(row.spec.path))) or row.spec.path
        if column == 1 and role in (Qt.ItemDataRole.DisplayRole, SortRole):
            return row.spec.role + (f" · {i.media_kind}" if i and i.media_kind else "")
        if column == 2:
            if role == Qt.ItemDataRole.DisplayRole:
                return human_bytes(i.free) if i and i.present else "–"
            if role == SortRole:
                return i.free if i else -1
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return right
        if column == 3:
            if role == Qt.ItemDataRole.DisplayRole:
                return human_bytes(i.total) if i and i.present else "–"
            if role == SortRole:
                return i.total if i else -1
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return right
        if column == 4 and role == Qt.ItemDataRole.DisplayRole:
            return row.spec.path
        if column == 5:
            if role == Qt.ItemDataRole.DisplayRole:
                return row.warning or ("OK" if i else "…")
            if role == Qt.ItemDataRole.DecorationRole:
                return status_icon(self.cell(row, column, StatusRole))
        return None
