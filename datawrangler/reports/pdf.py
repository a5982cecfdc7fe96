"""HTML to PDF through Qt: a QTextDocument laid out in pages on a QPdfWriter, with a header and a footer
(app version, generation time, "Page N of M") drawn on every page. The only module of reports that
imports Qt.

Table headers repeat on every page: Qt's HTML importer gives a table with a <thead> a header-row count,
and the paginated layout repeats those rows at the top of each page the table continues on.

Without a running Qt application (the CLI), one is created on the offscreen platform: no display needed.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
    QTextDocument,
)
from PySide6.QtWidgets import QApplication

from datawrangler.reports import fmt
from datawrangler.reports.model import Meta

RESOLUTION = 600  # dots per inch of the layout: fine text metrics; the PDF itself is vector
_PAPER = {"a4": QPageSize.PageSizeId.A4, "letter": QPageSize.PageSizeId.Letter}
_MARGINS_MM = QMarginsF(14, 11, 14, 10)  # left, top, right, bottom
_FONT = "DejaVu Sans"
_apps: list[QGuiApplication] = []  # the application this module created, kept alive for the process


def ensure_app() -> None:
    """A Qt application must exist for fonts and painting; create an offscreen one if there is none."""
    if QGuiApplication.instance() is not None:
        return
    # a QApplication (not only a QGuiApplication) so that widgets can follow in the same process (the GUI,
    # pytest-qt); "-platform offscreen" on the command line: no display needed, the environment untouched
    _apps.append(QApplication(["datawrangler", "-platform", "offscreen"]))


def _font(points: float, bold: bool = False) -> QFont:
    f = QFont(_FONT)
    f.setPointSizeF(points)
    f.setBold(bold)
    # no ligatures: "offload" must stay six searchable letters in the PDF, not "o" + U+FB04 + "oad"
    f.setFeature(QFont.Tag("liga"), 0)
    return f


def write_pdf(html: str, path: str | os.PathLike[str], meta: Meta) -> int:
    """Render html into a PDF at path (written beside it, then renamed); returns the number of pages."""
    ensure_app()
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        pages = _render(html, tmp, meta)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return pages


def _render(html: str, path: Path, meta: Meta) -> int:
    writer = QPdfWriter(str(path))
    writer.setResolution(RESOLUTION)
    writer.setTitle(f"{meta.title}: {meta.subject}")
    writer.setCreator(f"DataWrangler {meta.app_version}")
    writer.setPageLayout(QPageLayout(QPageSize(_PAPER[meta.paper]), QPageLayout.Orientation.Portrait,
                                     _MARGINS_MM, QPageLayout.Unit.Millimeter))
    area = QRectF(writer.pageLayout().paintRectPixels(RESOLUTION))
    area.moveTo(0, 0)
    head_font, foot_font = _font(7.5, bold=True), _font(7)
    mm = RESOLUTION / 25.4
    head_h = QFontMetricsF(head_font, writer).height() + 3.5 * mm
    foot_h = QFontMetricsF(foot_font, writer).height() + 3 * mm
    body = QRectF(0, head_h, area.width(), area.height() - head_h - foot_h - 1.5 * mm)  # air above the footer

    doc = QTextDocument()
    doc.documentLayout().setPaintDevice(writer)
    doc.setDefaultFont(_font(8.5))
    doc.setDocumentMargin(0)
    doc.setHtml(html)
    doc.setPageSize(QSizeF(body.width(), body.height()))
    pages = doc.pageCount()

    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"Cannot write the PDF {path}: check that its folder exists and is writable.")
    try:
        for i in range(pages):
            if i:
                writer.newPage()
            painter.save()
            painter.translate(body.left(), body.top() - i * body.height())
            doc.drawContents(painter, QRectF(0, i * body.height(), body.width(), body.height()))
            painter.restore()
            _decorate(painter, area, head_h, foot_h, head_font, foot_font, meta, i + 1, pages, mm)
    finally:
        painter.end()
    return pages


def _decorate(p: QPainter, area: QRectF, head_h: float, foot_h: float, head_font: QFont, foot_font: QFont,
              meta: Meta, page: int, pages: int, mm: float) -> None:
    p.save()
    p.setPen(QPen(Qt.GlobalColor.black, 0.25 * mm))
    line_y = head_h - 2 * mm
    p.drawLine(QPointF(0, line_y), QPointF(area.width(), line_y))
    foot_y = area.height() - foot_h + 1.5 * mm
    p.drawLine(QPointF(0, foot_y), QPointF(area.width(), foot_y))
    top = QRectF(0, 0, area.width(), line_y - 0.8 * mm)
    p.setFont(head_font)
    left = f"DataWrangler · {meta.title} · {meta.subject}"
    p.drawText(top, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom), left)
    if meta.production:
        right_w = max(area.width() - QFontMetricsF(head_font, p.device()).horizontalAdvance(left) - 6 * mm, 0)
        right = QRectF(area.width() - right_w, 0, right_w, top.height())
        p.drawText(right, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom), meta.production)
    bottom = QRectF(0, foot_y + 0.8 * mm, area.width(), area.height() - foot_y)
    p.setFont(foot_font)
    p.drawText(bottom, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
               f"Generated {fmt.stamp(meta.generated_at)} on {meta.host} by DataWrangler {meta.app_version}")
    p.drawText(bottom, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop), f"Page {page} of {pages}")
    p.restore()
