"""The clip list of a card or an offload: one row per clip as the catalog holds it (`store.clips.ClipRow`),
with its thumbnail, timecode, format and what is wrong with it, in words.

A clip with missing frames or one that is possibly damaged is flagged: `FlaggedRole` is True, its name and
notes are red and say what is wrong ("frames 12, 40-42 missing", "POSSIBLY DAMAGED: ..."), and the tooltip
lists every problem. A clip whose format no open library reads (R3D, BRAW) says "metadata not read" in the
plain colour: that is not damage. `ClipFilter` sorts by `SortRole` (durations and timecodes as numbers,
not text) and keeps the rows whose name, reel, codec, scene or take hold every word searched for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette

from datawrangler.core.words import human_bytes
from datawrangler.gui.bridge import Bridge
from datawrangler.gui.catalog_reads import ClipList
from datawrangler.gui.models.base import SortRole, TableModel
from datawrangler.gui.models.clip_text import (
    audio_text,
    duration_display,
    duration_seconds,
    files_text,
    format_text,
    notes,
    rate_of,
    search_text,
    tc_seconds,
    thumbnail_of,
    tooltip,
)
from datawrangler.gui.models.thumbs import Thumbnails
from datawrangler.store.clips import ClipRow

FlaggedRole = Qt.ItemDataRole.UserRole + 10  # True for a clip with missing frames or possibly damaged
SearchRole = Qt.ItemDataRole.UserRole + 11  # the words a search looks in, folded

THUMB, NAME, DURATION, TC_IN, TC_OUT, FORMAT, AUDIO, FILES, SIZE, NOTES = range(10)
THUMB_SIZE = QSize(64, 36)  # 16:9, small enough for a compact row
RED_ON_DARK, RED_ON_LIGHT = "#ff8f86", "#b3261e"  # each legible (contrast > 4.5:1) on its theme's base

Index = QModelIndex | QPersistentModelIndex
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_CENTRE = int(Qt.AlignmentFlag.AlignCenter)
_ALIGN = {DURATION: _RIGHT, AUDIO: _RIGHT, FILES: _RIGHT, SIZE: _RIGHT, TC_IN: _CENTRE, TC_OUT: _CENTRE}


def flag_colour(palette: QPalette | None = None) -> QColor:
    """The red of a flagged clip, chosen for the theme: light red on a dark base, dark red on a light one."""
    base = (palette or QGuiApplication.palette()).color(QPalette.ColorRole.Base)
    return QColor(RED_ON_DARK if base.lightness() < 128 else RED_ON_LIGHT)


class ClipsModel(TableModel[ClipRow]):
    COLUMNS = ("", "Clip", "Duration", "TC in", "TC out", "Format", "Audio", "Files", "Size", "Notes")

    def __init__(self, bridge: Bridge, parent: Any = None, thumbnails: Thumbnails | None = None) -> None:
        super().__init__(parent)
        self.thumbs = thumbnails or Thumbnails(bridge, THUMB_SIZE, parent=self)
        self.thumbs.ready.connect(self._thumb_ready)
        self.root: Path | None = None
        self._by_thumb: dict[str, list[int]] = {}

    def set_list(self, got: ClipList | None) -> None:
        self.root = got.thumbnails_root if got else None
        rows = list(got.clips) if got else []
        self._by_thumb = {}
        for i, r in enumerate(rows):
            if (p := thumbnail_of(r, self.root)) is not None:
                self._by_thumb.setdefault(p, []).append(i)
        self.reset(rows)

    def _thumb_ready(self, path: str) -> None:
        for i in self._by_thumb.get(path, ()):
            if i < self.rowCount():
                idx = self.index(i, THUMB)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole])

    def cell(self, r: ClipRow, column: int, role: int) -> Any:
        if role == FlaggedRole:
            return r.flagged
        if role == SearchRole:
            return search_text(r)
        if role == Qt.ItemDataRole.ToolTipRole:
            thumb = thumbnail_of(r, self.root)
            problem = self.thumbs.problem(thumb) if thumb else ""
            return tooltip(r) + (f"\n{problem}" if problem else "")
        if role == Qt.ItemDataRole.ForegroundRole:
            return flag_colour() if r.flagged and column in (NAME, NOTES) else None
        if role == Qt.ItemDataRole.FontRole:
            if r.flagged and column == NOTES:
                f = QFont()
                f.setBold(True)
                return f
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:  # numbers right, timecodes (one width) centred
            return _ALIGN.get(column)
        if role == Qt.ItemDataRole.DecorationRole:
            if column == THUMB and (thumb := thumbnail_of(r, self.root)) is not None:
                return self.thumbs.get(thumb)
            return None
        if role == Qt.ItemDataRole.SizeHintRole and column == THUMB:
            return QSize(THUMB_SIZE.width() + 8, THUMB_SIZE.height() + 4)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(r, column)
        if role == SortRole:
            return self._sort_key(r, column)
        return None

    @staticmethod
    def _text(r: ClipRow, column: int) -> str | None:
        m = r.meta
        texts = {NAME: r.name, DURATION: duration_display(r), TC_IN: m.tc_in or "–", TC_OUT: m.tc_out or "–",
                 FORMAT: format_text(r), AUDIO: audio_text(r), FILES: files_text(r), SIZE: human_bytes(r.bytes),
                 NOTES: notes(r)}
        return texts.get(column)

    @staticmethod
    def _sort_key(r: ClipRow, column: int) -> Any:
        """One type per column: floats for times and counts, folded text for words."""
        if column in (THUMB, NAME):
            return r.name.casefold()
        if column == DURATION:
            d = duration_seconds(r)
            return -1.0 if d is None else float(d)
        if column in (TC_IN, TC_OUT):
            return tc_seconds(r.meta.tc_in if column == TC_IN else r.meta.tc_out, rate_of(r))
        if column == FORMAT:
            return format_text(r).casefold()
        if column == AUDIO:
            return float(-1 if r.meta.audio_channels is None else r.meta.audio_channels)
        if column == FILES:
            return float(r.files)
        if column == SIZE:
            return float(r.bytes)
        return ("0 " if r.flagged else "1 ") + notes(r).casefold()  # flagged clips first


class ClipFilter(QSortFilterProxyModel):
    """Sorts by SortRole; a search keeps the clips whose name, reel, codec, camera, scene, take or sound roll
    contain every word typed (in any order, any case)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SortRole)
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._words: tuple[str, ...] = ()

    def set_search(self, text: str) -> None:
        words = tuple(text.casefold().split())
        if words != self._words:
            self.beginFilterChange()
            self._words = words
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._words:
            return True
        model = self.sourceModel()
        hay = str(model.data(model.index(source_row, NAME, source_parent), SearchRole) or "")
        return all(w in hay for w in self._words)
