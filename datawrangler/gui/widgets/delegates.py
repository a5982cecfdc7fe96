"""Painting: a status pill (symbol + words + colour: never colour alone) and a progress bar in a cell."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from datawrangler.gui.models.base import ProgressRole, StatusRole
from datawrangler.gui.theme import STYLES, Status, paint_symbol

Index = QModelIndex | QPersistentModelIndex


def as_status(value: object) -> Status | None:
    """Qt hands a StrEnum back as a plain str."""
    try:
        return Status(value) if isinstance(value, str) else None
    except ValueError:
        return None


class StatusDelegate(QStyledItemDelegate):
    """The status cell: a rounded pill in the status colour with its drawn symbol and upper-case words;
    while copying, the pill fills from the left like a progress bar."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        status = as_status(index.data(StatusRole))
        if status is None:
            super().paint(painter, option, index)
            return
        st = STYLES[status]
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        progress = index.data(ProgressRole)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        r = QRectF(option.rect).adjusted(3, 3, -3, -3)
        painter.setPen(QColor(st.fg).darker(160))
        painter.setBrush(QColor(st.bg))
        painter.drawRoundedRect(r, 5, 5)
        if isinstance(progress, float) and 0 <= progress < 1 and status in (Status.COPYING, Status.VERIFYING,
                                                                             Status.PAUSED, Status.RELEASED):
            fill = QRectF(r.left(), r.top(), r.width() * progress, r.height())
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(st.bg).lighter(170))
            painter.drawRoundedRect(fill, 5, 5)
        side = min(r.height() - 4, 22)
        paint_symbol(painter, QRectF(r.left() + 6, r.center().y() - side / 2, side, side), st.symbol, st.fg)
        f = QFont(option.font)
        f.setBold(True)
        painter.setFont(f)
        painter.setPen(QColor(st.fg))
        text_rect = r.adjusted(side + 12, 0, -6, 0)
        elided = painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, int(text_rect.width()))
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), elided)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        s = super().sizeHint(option, index)
        return QSize(max(s.width() + 40, 200), max(s.height(), 30))


class ProgressDelegate(QStyledItemDelegate):
    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        frac = index.data(ProgressRole)
        status = as_status(index.data(StatusRole))
        if not isinstance(frac, float) or frac < 0:
            super().paint(painter, option, index)
            return
        st = STYLES.get(status, STYLES[Status.COPYING]) if isinstance(status, Status) else STYLES[Status.COPYING]
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(option.rect).adjusted(4, 6, -4, -6)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#2a2e34"))
        painter.drawRoundedRect(r, 4, 4)
        painter.setBrush(QColor(st.fg).darker(130))
        painter.drawRoundedRect(QRectF(r.left(), r.top(), r.width() * min(frac, 1.0), r.height()), 4, 4)
        painter.setPen(QColor("#ffffff"))
        f = QFont(option.font)
        f.setBold(True)
        painter.setFont(f)
        painter.drawText(r, int(Qt.AlignmentFlag.AlignCenter), f"{frac * 100:.0f}%")
        painter.restore()
