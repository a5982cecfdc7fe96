"""One QAbstractTableModel per list of the window; each is checked by pytest-qt's qtmodeltester."""

from datawrangler.gui.models.base import ProgressRole, RowRole, SortRole, StatusRole, TableModel

__all__ = ["ProgressRole", "RowRole", "SortRole", "StatusRole", "TableModel"]
