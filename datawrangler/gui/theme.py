"""A dark theme for a dark set, and the status styles: every status has a word, a drawn symbol and a
colour, so it reads from a metre away and never relies on colour alone. Icons are painted (no files)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QStyleFactory

BG = "#15171a"
BASE = "#1c1f23"
ALT = "#22262b"
PANEL = "#262a30"
TEXT = "#e6e6e6"
DIM = "#9aa0a6"
ACCENT = "#4f9dff"


class Status(StrEnum):
    SCANNING = "scanning"
    NEW = "new"
    KNOWN = "offloaded"  # already offloaded (when, how many copies)
    QUEUED = "queued"
    PREPARING = "preparing"
    COPYING = "copying"
    VERIFYING = "verifying"
    PAUSED = "paused"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    VERIFIED = "verified"  # verified on N drives, fewer than required
    SAFE = "safe"  # safe to format
    RELEASED = "released"  # stage 1 of a cascade verified: the card may leave the reader, not safe to format yet
    GONE = "removed"
    DONE = "done"
    WARNING = "warning"


@dataclass(frozen=True)
class Style:
    symbol: str  # the drawn shape: dot, ring, clock, arrow, eye, pause, cross, check, double, eject, dash
    fg: str
    bg: str


STYLES: dict[Status, Style] = {
    Status.SCANNING: Style("ring", "#c8c8c8", "#33373d"),
    Status.NEW: Style("dot", "#8ec5ff", "#1f3550"),
    Status.KNOWN: Style("check", "#d7c27a", "#3d3720"),
    Status.QUEUED: Style("clock", "#c8c8c8", "#33373d"),
    Status.PREPARING: Style("clock", "#c8c8c8", "#33373d"),
    Status.COPYING: Style("arrow", "#8ec5ff", "#1d3a5c"),
    Status.VERIFYING: Style("eye", "#b9a6ff", "#332a5c"),
    Status.PAUSED: Style("pause", "#ffd27a", "#4a3a14"),
    Status.FAILED: Style("cross", "#ffb3ad", "#6b1d1a"),
    Status.CANCELLED: Style("dash", "#d0d0d0", "#3a3a3a"),
    Status.INTERRUPTED: Style("pause", "#ffd27a", "#4a3a14"),
    Status.VERIFIED: Style("check", "#ffd27a", "#4a3a14"),
    Status.SAFE: Style("double", "#b8f5c1", "#1d5a2a"),
    # cyan and the eject shape: the card may go, but it is neither SAFE's green double check nor a failure
    Status.RELEASED: Style("eject", "#8eeaf2", "#0e4750"),
    Status.GONE: Style("dash", "#9aa0a6", "#2a2d31"),
    Status.DONE: Style("check", "#b8f5c1", "#1d5a2a"),
    Status.WARNING: Style("warn", "#ffd27a", "#4a3a14"),
}


def apply_dark(app: QApplication) -> None:
    app.setStyle(QStyleFactory.create("Fusion"))
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: BG, QPalette.ColorRole.WindowText: TEXT, QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: ALT, QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT, QPalette.ColorRole.Text: TEXT, QPalette.ColorRole.Button: PANEL,
        QPalette.ColorRole.ButtonText: TEXT, QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: "#2d5a8c", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: ACCENT, QPalette.ColorRole.PlaceholderText: "#7c828a",
        QPalette.ColorRole.Mid: "#3a3f46", QPalette.ColorRole.Dark: "#101214", QPalette.ColorRole.Light: "#3a3f46",
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7078"))
    app.setPalette(p)
    font = app.font()
    font.setPointSizeF(max(font.pointSizeF(), 10.5))
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)


STYLESHEET = f"""
QToolTip {{ color: {TEXT}; background: {PANEL}; border: 1px solid #454b53; }}
QGroupBox {{ border: 1px solid #30353c; border-radius: 6px; margin-top: 14px; padding-top: 6px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {DIM};
                   font-weight: bold; letter-spacing: 1px; }}
QHeaderView::section {{ background: {PANEL}; color: {DIM}; border: none; border-right: 1px solid #30353c;
                       padding: 4px 6px; font-weight: bold; }}
QTableView {{ gridline-color: #2b2f35; selection-background-color: #2d5a8c; }}
QPushButton {{ padding: 5px 12px; border-radius: 5px; border: 1px solid #454b53; background: #2c3138; }}
QPushButton:hover {{ background: #353b43; }}
QPushButton:disabled {{ color: #6b7078; border-color: #33373d; }}
QPushButton[primary="true"] {{ background: #1f5fae; border-color: #2f78d0; color: white; font-weight: bold; }}
QPushButton[primary="true"]:disabled {{ background: #243243; color: #7d8794; }}
QPushButton[danger="true"] {{ background: #5a1f1c; border-color: #8a2f2a; }}
QTabWidget::pane {{ border: 1px solid #30353c; top: -1px; }}
QTabBar::tab {{ background: {BASE}; color: {DIM}; padding: 6px 16px; border: 1px solid #30353c;
               border-bottom: none; border-top-left-radius: 5px; border-top-right-radius: 5px; }}
QTabBar::tab:selected {{ background: {PANEL}; color: {TEXT}; }}
QLabel[role="banner"] {{ padding: 6px 10px; border-radius: 5px; }}
QLabel[level="error"] {{ background: #6b1d1a; color: #ffdcd9; }}
QLabel[level="warning"] {{ background: #4a3a14; color: #ffe7b0; }}
QLabel[level="success"] {{ background: #1d5a2a; color: #d8ffde; }}
QLabel[level="info"] {{ background: #23303f; color: #d6e8ff; }}
QLabel[level="released"] {{ background: #0e4750; color: #d6fbff; }}
QLabel[role="hint"] {{ color: {DIM}; }}
QLabel[role="error"] {{ color: #ff8f86; }}
QLineEdit, QSpinBox, QComboBox, QPlainTextEdit {{ padding: 3px 5px; }}
"""


def _pen(colour: str, width: float) -> QPen:
    pen = QPen(QColor(colour), width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def paint_symbol(p: QPainter, rect: QRectF, symbol: str, colour: str) -> None:
    """A status symbol drawn in `rect` (square). Shapes differ per status, not only colours."""
    s = min(rect.width(), rect.height())
    c = rect.center()
    w = max(1.6, s / 9)
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(_pen(colour, w))
    p.setBrush(Qt.BrushStyle.NoBrush)
    r = s * 0.38

    def pt(x: float, y: float) -> QPointF:
        return QPointF(c.x() + x * r, c.y() + y * r)

    if symbol == "dot":
        p.setBrush(QBrush(QColor(colour)))
        p.drawEllipse(c, r * 0.6, r * 0.6)
    elif symbol == "ring":
        p.drawArc(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r), 30 * 16, 300 * 16)
    elif symbol == "clock":
        p.drawEllipse(c, r, r)
        p.drawLine(pt(0, 0), pt(0, -0.6))
        p.drawLine(pt(0, 0), pt(0.45, 0.2))
    elif symbol == "arrow":
        p.drawLine(pt(-0.9, 0), pt(0.8, 0))
        p.drawPolyline([pt(0.2, -0.6), pt(0.85, 0), pt(0.2, 0.6)])
    elif symbol == "eye":
        path = QPainterPath(pt(-1, 0))
        path.quadTo(pt(0, -1.1), pt(1, 0))
        path.quadTo(pt(0, 1.1), pt(-1, 0))
        p.drawPath(path)
        p.setBrush(QBrush(QColor(colour)))
        p.drawEllipse(c, r * 0.28, r * 0.28)
    elif symbol == "pause":
        p.drawLine(pt(-0.35, -0.7), pt(-0.35, 0.7))
        p.drawLine(pt(0.35, -0.7), pt(0.35, 0.7))
    elif symbol == "cross":
        p.drawLine(pt(-0.7, -0.7), pt(0.7, 0.7))
        p.drawLine(pt(-0.7, 0.7), pt(0.7, -0.7))
    elif symbol == "check":
        p.drawPolyline([pt(-0.8, 0.05), pt(-0.25, 0.6), pt(0.85, -0.6)])
    elif symbol == "double":
        p.setPen(_pen(colour, w * 0.9))
        p.drawPolyline([pt(-1.05, 0.0), pt(-0.55, 0.5), pt(0.35, -0.6)])
        p.drawPolyline([pt(-0.35, 0.0), pt(0.15, 0.5), pt(1.05, -0.6)])
    elif symbol == "warn":
        path = QPainterPath(pt(0, -0.95))
        path.lineTo(pt(0.95, 0.75))
        path.lineTo(pt(-0.95, 0.75))
        path.closeSubpath()
        p.setPen(_pen(colour, w * 0.8))
        p.drawPath(path)
        p.drawLine(pt(0, -0.35), pt(0, 0.2))
        p.drawPoint(pt(0, 0.5))
    elif symbol == "eject":  # the card may leave the reader
        path = QPainterPath(pt(0, -0.85))
        path.lineTo(pt(0.8, 0.1))
        path.lineTo(pt(-0.8, 0.1))
        path.closeSubpath()
        p.setPen(_pen(colour, w * 0.8))
        p.drawPath(path)
        p.drawLine(pt(-0.8, 0.65), pt(0.8, 0.65))
    elif symbol == "dash":
        p.drawLine(pt(-0.7, 0), pt(0.7, 0))
    p.restore()


@cache
def status_icon(status: Status, size: int = 20) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    st = STYLES[status]
    paint_symbol(p, QRectF(0, 0, size, size), st.symbol, st.fg)
    p.end()
    return QIcon(pm)


VENDOR_COLOURS = {
    "ARRI": ("#f0f0f0", "#1b1b1b", "ARRI"), "RED": ("#d8262e", "#ffffff", "RED"),
    "Sony": ("#ffffff", "#000000", "SONY"), "Canon": ("#c8102e", "#ffffff", "C"),
    "Blackmagic": ("#ff8c1a", "#1b1b1b", "BM"), "Panasonic": ("#0049a6", "#ffffff", "P"),
    "Sound": ("#2f8f5b", "#ffffff", "♪"), "Stills": ("#6c6f75", "#ffffff", "DCIM"),
}


@cache
def vendor_icon(vendor: str | None, size: int = 32) -> QIcon:
    """A small badge per vendor (lettering, not a trademarked logo)."""
    bg, fg, text = VENDOR_COLOURS.get(vendor or "", ("#3a3f46", "#d0d0d0", "?"))
    pm = QPixmap(size * 2, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(bg))
    p.drawRoundedRect(QRectF(1, size * 0.15, size * 2 - 2, size * 0.7), 4, 4)
    f = QFont()
    f.setBold(True)
    f.setPixelSize(int(size * (0.42 if len(text) <= 3 else 0.34)))
    p.setFont(f)
    p.setPen(QColor(fg))
    p.drawText(QRectF(0, 0, size * 2, size), Qt.AlignmentFlag.AlignCenter, text)
    p.end()
    return QIcon(pm)


@cache
def app_icon() -> QIcon:
    icon = QIcon()
    for size in (16, 32, 64, 128):
        pm = QPixmap(size, size)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#1f5fae"))
        p.drawRoundedRect(QRectF(0, 0, size, size), size * 0.2, size * 0.2)
        paint_symbol(p, QRectF(size * 0.1, size * 0.1, size * 0.8, size * 0.8), "double", "#ffffff")
        p.end()
        icon.addPixmap(pm)
    return icon
