"""History: the catalog, searchable and filterable, loaded a page at a time; the files of an offload and
each copy's verification history."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from datawrangler.gui import catalog_reads as reads
from datawrangler.gui.controller import Controller
from datawrangler.gui.models.base import SortRole
from datawrangler.gui.models.history import ChecksModel, FilesModel, HistoryModel
from datawrangler.gui.widgets.panels import button, table

STATES = ("", "verified", "completed with errors", "interrupted", "cancelled", "running", "copied (not verified)")


class HistoryTab(QWidget):
    offload_selected = Signal(int)

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.c = controller
        self.model = HistoryModel(controller.bridge, controller.catalog, parent=self)
        self.proxy = QSortFilterProxyModel(self)  # sorts the loaded rows; the search itself runs in SQL
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SortRole)
        self.files = FilesModel(controller.bridge, controller.catalog, parent=self)
        self.checks = ChecksModel(self)
        for m in (self.model, self.files):
            m.failed.connect(self._failed)

        self.search = QLineEdit(placeholderText="Search reel, project, source, camera…")
        self.since = QLineEdit(placeholderText="from YYYY-MM-DD")
        self.until = QLineEdit(placeholderText="to YYYY-MM-DD")
        self.project = QLineEdit(placeholderText="project")
        self.reel = QLineEdit(placeholderText="reel")
        self.camera = QLineEdit(placeholderText="camera")
        self.volume = QLineEdit(placeholderText="drive label or path")
        self.state = QComboBox()
        self.state.addItems([s or "any state" for s in STATES])
        self.error = QLabel()
        self.error.setProperty("role", "error")
        self.count = QLabel()
        self.count.setProperty("role", "hint")
        refresh = button("Refresh")
        grid = QGridLayout()
        grid.addWidget(self.search, 0, 0, 1, 4)
        grid.addWidget(self.state, 0, 4)
        grid.addWidget(refresh, 0, 5)
        for col, w in enumerate((self.since, self.until, self.project, self.reel, self.camera, self.volume)):
            grid.addWidget(w, 1, col)

        self.view = table(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        h = self.view.horizontalHeader()
        for col, width in ((0, 140), (1, 70), (2, 110), (3, 70), (4, 190), (5, 70), (6, 80), (7, 260)):
            h.resizeSection(col, width)
        h.setStretchLastSection(True)
        self.files_view = table(self.files)
        self.files_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.checks_view = table(self.checks)
        self.checks_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.files_view)
        lower.addWidget(self.checks_view)
        lower.setSizes([600, 400])
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.view)
        split.addWidget(lower)
        split.setSizes([300, 200])
        lay = QVBoxLayout(self)
        lay.addLayout(grid)
        lay.addWidget(self.error)
        lay.addWidget(split, 1)
        lay.addWidget(self.count)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.apply)
        for e in (self.search, self.since, self.until, self.project, self.reel, self.camera, self.volume):
            e.textChanged.connect(self._debounce.start)
        self.state.currentIndexChanged.connect(self.apply)
        refresh.clicked.connect(self.apply)
        self.view.selectionModel().currentRowChanged.connect(self._offload_changed)
        self.files_view.selectionModel().currentRowChanged.connect(self._file_changed)
        self.model.loading_changed.connect(self._count)
        controller.history_changed.connect(self.apply)
        self.error.hide()

    def query(self) -> reads.HistoryQuery:
        return reads.HistoryQuery(self.search.text().strip(), self.since.text().strip(), self.until.text().strip(),
                                  self.project.text().strip(), self.reel.text().strip(), self.camera.text().strip(),
                                  self.volume.text().strip(), STATES[self.state.currentIndex()])

    def apply(self) -> None:
        self.error.hide()
        self.files.show_offload(None)
        self.checks.reset([])
        self.model.set_query(self.query())

    def _count(self, loading: bool) -> None:
        n = self.model.rowCount()
        more = " (scroll for more)" if self.model.canFetchMore() else ""
        self.count.setText("Loading…" if loading else f"{n} offloads{more}")

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, ValueError):  # a date that is not one: said here, next to the fields
            self.error.setText(str(exc))
            self.error.show()
        else:
            self.c.messages.exception(exc, "Reading the catalog")

    def selected_offload(self) -> int | None:
        idx = self.view.selectionModel().currentIndex()
        if not idx.isValid():
            return None
        return self.model.row(self.proxy.mapToSource(idx).row()).id

    def _offload_changed(self, current: QModelIndex, _prev: QModelIndex) -> None:
        self.checks.reset([])
        if not current.isValid():
            self.files.show_offload(None)
            return
        oid = self.model.row(self.proxy.mapToSource(current).row()).id
        self.files.show_offload(oid)
        self.offload_selected.emit(oid)

    def _file_changed(self, current: QModelIndex, _prev: QModelIndex) -> None:
        if not current.isValid():
            return
        file_id = self.files.row(current.row()).id
        self.c.bridge.run(reads.copy_history, self.c.catalog, file_id, on_done=partial(self._checks, file_id),
                          on_error=self._failed)

    def _checks(self, file_id: int, rows: list[reads.CheckRow]) -> None:
        idx = self.files_view.selectionModel().currentIndex()
        if idx.isValid() and self.files.row(idx.row()).id == file_id:
            self.checks.reset(rows)
