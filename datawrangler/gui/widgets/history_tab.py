"""History: the catalog, searchable and filterable, loaded a page at a time; the files of an offload and
each copy's verification history."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from datawrangler.gui import catalog_reads as reads
from datawrangler.gui.controller import Controller
from datawrangler.gui.models.base import SortRole
from datawrangler.gui.models.history import ChecksModel, FilesModel, HistoryModel
from datawrangler.gui.widgets.panels import button, table

STATES = ("", "verified", "completed with errors", "interrupted", "cancelled", "running", "queued",
          "copied (not verified)")


class ElideRight(QStyledItemDelegate):
    """Text cut at its end whatever the view's elide mode (the view cuts paths in the middle)."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideRight


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
        self.count.setMinimumWidth(self.count.fontMetrics().horizontalAdvance("00000+ offloads"))  # no jitter
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        refresh = button("Refresh")
        # one row: the tab shares the window's height with the cards and the queue, so every line counts
        self.filters = QHBoxLayout()
        self.filters.addWidget(self.search, 1)  # takes what the others leave
        for w, chars in ((self.since, 0), (self.until, 0), (self.project, 12), (self.reel, 6), (self.camera, 6),
                         (self.volume, 0)):
            fm = w.fontMetrics()  # wide enough for its hint (or a typical value), not one pixel wider
            w.setFixedWidth(max(fm.horizontalAdvance(w.placeholderText()), fm.horizontalAdvance("x" * chars)) + 28)
            self.filters.addWidget(w)
        self.filters.addWidget(self.state)
        self.filters.addWidget(refresh)
        self.filters.addWidget(self.count)

        self.view = self._table(self.proxy, stretch=(7,))  # the destinations take what is left
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.files_view = self._table(self.files, stretch=(4,))  # the message, e.g. why a copy failed
        self.files_view.setItemDelegateForColumn(4, ElideRight(self.files_view))  # a sentence: cut at its end
        self.checks_view = self._table(self.checks, stretch=(0,))  # the destination path
        self.details = QSplitter(Qt.Orientation.Horizontal)
        self.details.addWidget(self.files_view)
        self.details.addWidget(self.checks_view)
        self.details.setSizes([500, 500])
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(self.view)
        self.split.addWidget(self.details)
        self.split.setSizes([600, 400])
        for sp, weights in ((self.details, (1, 1)), (self.split, (3, 2))):
            sp.setChildrenCollapsible(False)  # a pane dragged shut is a pane the user cannot find again
            for i, weight in enumerate(weights):
                sp.setStretchFactor(i, weight)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 4)
        lay.addLayout(self.filters)
        lay.addWidget(self.error)
        lay.addWidget(self.split, 1)

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

    @staticmethod
    def _table(model: QAbstractItemModel, stretch: tuple[int, ...]) -> QTableView:
        """Short columns (dates, states, sizes, counts) as wide as their contents, so nothing there is cut;
        the `stretch` columns (paths, messages) share the rest and are cut in the middle, where a path
        loses least. Compact rows: more of the history fits in the tab."""
        v = table(model)
        v.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        v.verticalHeader().setDefaultSectionSize(v.fontMetrics().height() + 10)
        h = v.horizontalHeader()
        h.setMaximumSectionSize(420)  # a long project or file name takes its width, not the whole table's
        for col in range(model.columnCount()):
            mode = QHeaderView.ResizeMode.Stretch if col in stretch else QHeaderView.ResizeMode.ResizeToContents
            h.setSectionResizeMode(col, mode)
        h.setStretchLastSection(False)
        model.rowsInserted.connect(lambda *_: h.resizeSections())  # Qt re-fits on a reset, not on a next page
        return v

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
        more = self.model.canFetchMore()
        self.count.setText("Loading…" if loading else f"{n}{'+' if more else ''} offload{'s' if n != 1 else ''}")
        self.count.setToolTip(f"The first {n} shown: more load as you scroll down." if more and not loading else "")

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, ValueError):  # a date that is not one: said here, next to the fields
            self.error.setText(str(exc))
            self.error.show()
        else:
            self.c.messages.exception(exc, "Reading the catalog")

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
