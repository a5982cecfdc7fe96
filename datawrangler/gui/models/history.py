"""History: the catalog, a page at a time (fetchMore), read by the bridge off the GUI thread; the files
of one offload, and each copy's verification history."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal

from datawrangler.core.words import human_bytes
from datawrangler.gui import catalog_reads as reads
from datawrangler.gui.bridge import Bridge
from datawrangler.gui.fmt import when
from datawrangler.gui.models.base import SortRole, StatusRole, TableModel
from datawrangler.gui.theme import Status, status_icon

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex

STATE_STATUS = {"verified": Status.DONE, "completed with errors": Status.FAILED, "interrupted": Status.INTERRUPTED,
                "cancelled": Status.CANCELLED, "running": Status.COPYING, "copied (not verified)": Status.VERIFIED,
                "failed": Status.FAILED, "copied": Status.VERIFIED, "pending": Status.QUEUED,
                "queued": Status.QUEUED}


def stage_text(r: reads.HistoryRow) -> str:
    """How History tells a cascading copy's offloads apart: 'stage 2 of #12'; 'released' for a stage 1 that
    freed the card before its stage 2; '' for any other offload."""
    if r.stage == 2:
        return f"stage 2 of #{r.cascade_of}"
    return "released" if r.released else ""


class LazyModel(TableModel[T]):
    """Rows arrive in pages from a loader run on the bridge; a new query drops late pages of the old one."""

    loading_changed = Signal(bool)
    failed = Signal(object)

    def __init__(self, bridge: Bridge, page: int = reads.PAGE, parent: Any = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.page = page
        self._gen = 0
        self._loading = False
        self._exhausted = True
        self._loader: Callable[[int, int], Sequence[T]] | None = None
        self._changing = False  # inside a reset or an insert: a fetch then waits for the event loop

    def set_loader(self, loader: Callable[[int, int], Sequence[T]] | None) -> None:
        self._gen += 1
        self._loader = loader
        self._loading = False
        self._exhausted = loader is None
        self._changing = True
        try:
            self.reset([])
        finally:
            self._changing = False
        if loader is not None:
            QTimer.singleShot(0, self, self.fetchMore)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent) or self._loader is None:
            return
        if self._changing:  # a view asked from inside our own change: answer after it
            QTimer.singleShot(0, self, self.fetchMore)
            return
        self._loading = True
        self.loading_changed.emit(True)
        gen = self._gen
        self.bridge.run(self._loader, len(self._rows), self.page, on_done=partial(self._got, gen),
                        on_error=partial(self._failed, gen))

    def _got(self, gen: int, rows: Sequence[T]) -> None:
        if gen != self._gen:
            return
        self._loading = False
        self._exhausted = len(rows) < self.page
        self._changing = True
        try:
            self.extend(list(rows))
        finally:
            self._changing = False
        self.loading_changed.emit(False)

    def _failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._gen:
            return
        self._loading = False
        self._exhausted = True
        self.loading_changed.emit(False)
        self.failed.emit(exc)

    @property
    def loading(self) -> bool:
        return self._loading


class HistoryModel(LazyModel[reads.HistoryRow]):
    COLUMNS = ("Started", "Reel", "Project", "Camera", "State", "Files", "Size", "Destinations", "Source")

    def __init__(self, bridge: Bridge, catalog: str | os.PathLike[str] | None, page: int = reads.PAGE,
                 parent: Any = None) -> None:
        super().__init__(bridge, page, parent)
        self.catalog = catalog
        self.query = reads.HistoryQuery()

    def set_query(self, q: reads.HistoryQuery) -> None:
        self.query = q
        self.set_loader(partial(reads.history_page, self.catalog, q))

    def refresh(self) -> None:
        self.set_query(self.query)

    def cell(self, r: reads.HistoryRow, column: int, role: int) -> Any:
        if role == StatusRole:
            return STATE_STATUS.get(r.state, Status.QUEUED)
        if role == Qt.ItemDataRole.ToolTipRole:  # the whole of what the columns may cut
            lines = [f"offload {r.id}: {r.message}" if r.message else f"offload {r.id}", stage_text(r),
                     f"source: {r.source}",
                     *(f"to {d.strip()}" for d in r.destinations.split(";") if d.strip())]
            return "\n".join(x for x in lines if x)
        display = role == Qt.ItemDataRole.DisplayRole
        if column == 0:
            if display:
                return when(r.started_at)
            if role == SortRole:
                return r.started_at
        state = r.state.upper() + (f" · {stage_text(r).upper()}" if stage_text(r) else "")
        values = (None, r.reel, r.project, r.camera, state, f"{r.files_verified}/{r.files_total}",
                  human_bytes(r.bytes_total), r.destinations, r.source)
        if column == 4 and role == Qt.ItemDataRole.DecorationRole:
            return status_icon(STATE_STATUS.get(r.state, Status.QUEUED))
        if column == 6 and role == SortRole:
            return r.bytes_total
        if display and 0 < column < len(values):
            return values[column] or "–"
        return None


class FilesModel(LazyModel[reads.FileRow]):
    COLUMNS = ("File", "Size", "Status", "Copies", "Message")

    def __init__(self, bridge: Bridge, catalog: str | os.PathLike[str] | None, page: int = reads.PAGE,
                 parent: Any = None) -> None:
        super().__init__(bridge, page, parent)
        self.catalog = catalog
        self.offload_id: int | None = None

    def show_offload(self, offload_id: int | None) -> None:
        self.offload_id = offload_id
        self.set_loader(None if offload_id is None else partial(reads.files_page, self.catalog, offload_id))

    def cell(self, r: reads.FileRow, column: int, role: int) -> Any:
        if role == StatusRole:
            return STATE_STATUS.get(r.status, Status.QUEUED)
        if role == Qt.ItemDataRole.DisplayRole:
            return (r.rel_path, human_bytes(r.size), r.status.upper(), r.copies, r.message)[column]
        if column == 2 and role == Qt.ItemDataRole.DecorationRole:
            return status_icon(STATE_STATUS.get(r.status, Status.QUEUED))
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{r.rel_path}\n{r.message}" if r.message else r.rel_path
        if column == 1 and role == SortRole:
            return r.size
        return None


class ChecksModel(TableModel[reads.CheckRow]):
    """Every verification of the copies of one file."""

    COLUMNS = ("Destination", "When", "Method", "Result", "Cache bypassed")

    def cell(self, r: reads.CheckRow, column: int, role: int) -> Any:
        if role == StatusRole:
            return STATE_STATUS.get(r.result, Status.FAILED)
        if role == Qt.ItemDataRole.DisplayRole:
            bypass = "–" if r.cache_bypassed is None else ("yes" if r.cache_bypassed else "NO")
            return (r.destination, when(r.at, seconds=True), r.method, r.result.upper(), bypass)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{r.destination}\n{r.message}" if r.message else r.destination
        return None
