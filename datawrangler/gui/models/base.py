"""A table of Python rows: subclasses name the columns and say what each cell shows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

StatusRole = Qt.ItemDataRole.UserRole + 1  # theme.Status of the row
ProgressRole = Qt.ItemDataRole.UserRole + 2  # 0..1, or -1 for none
RowRole = Qt.ItemDataRole.UserRole + 3  # the row object itself
SortRole = Qt.ItemDataRole.UserRole + 4  # a sortable value (bytes as int, times as float)

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex


class TableModel(QAbstractTableModel, Generic[T]):
    COLUMNS: Sequence[str] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[T] = []

    # -- Qt

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.COLUMNS):
            return self.COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) or not 0 <= index.column() < len(self.COLUMNS):
            return None
        row = self._rows[index.row()]
        if role == RowRole:
            return row
        return self.cell(row, index.column(), role)

    def cell(self, row: T, column: int, role: int) -> Any:
        raise NotImplementedError

    # -- Python

    @property
    def rows(self) -> list[T]:
        return list(self._rows)

    def row(self, i: int) -> T:
        return self._rows[i]

    def find(self, pred: Callable[[T], bool]) -> int:
        for i, r in enumerate(self._rows):
            if pred(r):
                return i
        return -1

    def append(self, row: T) -> int:
        n = len(self._rows)
        self.beginInsertRows(QModelIndex(), n, n)
        self._rows.append(row)
        self.endInsertRows()
        return n

    def extend(self, rows: Sequence[T]) -> None:
        if not rows:
            return
        n = len(self._rows)
        self.beginInsertRows(QModelIndex(), n, n + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    def remove(self, i: int) -> None:
        self.beginRemoveRows(QModelIndex(), i, i)
        del self._rows[i]
        self.endRemoveRows()

    def reset(self, rows: Sequence[T] = ()) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def replace(self, i: int, row: T) -> None:
        self._rows[i] = row
        self.changed(i)

    def changed(self, i: int) -> None:
        if 0 <= i < len(self._rows) and self.COLUMNS:
            self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.COLUMNS) - 1))
