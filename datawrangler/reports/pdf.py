"""HTML to PDF through Qt: a QTextDocument laid out in pages on a QPdfWriter, with a header and a footer
(app version, generation time, "Page N of M") drawn on every page. The only module of reports that
imports Qt.

Table headers repeat on every page: Qt's HTML importer gives a table with a <thead> a header-row count,
and the paginated layout repeats those rows at the top of each page the table continues on. A table row is
kept on one page (`keep_rows_together`): Qt would start a row's text at the foot of a page and put its
thumbnail, one line too tall to fit, on the next.

Pictures are resources added to the document by name (`html.render_for_pdf`), so they are embedded in the
PDF whatever Qt version or image search path is in use.

Without a running Qt application (the CLI), one is created on the offscreen platform: no display needed.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
    QTextBlock,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextTable,
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


def write_pdf(html: str, path: str | os.PathLike[str], meta: Meta, images: Mapping[str, bytes] | None = None) -> int:
    """Render html into a PDF at path (written beside it, then renamed); returns the number of pages.
    `images`: the pictures the HTML names (resource name -> JPEG/GIF bytes)."""
    ensure_app()
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        pages = _render(html, tmp, meta, images or {})
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return pages


def _add_images(doc: QTextDocument, images: Mapping[str, bytes]) -> None:
    for name, data in images.items():
        image = QImage.fromData(data)
        if image.isNull():  # a spacer GIF without Qt's GIF plugin, or a picture Qt cannot decode: keep its place
            image = QImage(1, 1, QImage.Format.Format_ARGB32)
            image.fill(Qt.GlobalColor.transparent)
        doc.addResource(QTextDocument.ResourceType.ImageResource.value, QUrl(name), image)


def _row_span(layout: QAbstractTextDocumentLayout, table: QTextTable, row: int) -> tuple[float, float]:
    """Where a row's content starts and ends, in document coordinates."""
    top, bottom = math.inf, -math.inf
    for col in range(table.columns()):
        cell = table.cellAt(row, col)
        if cell.row() != row or cell.column() != col:
            continue  # spanned
        top = min(top, layout.blockBoundingRect(cell.firstCursorPosition().block()).top())
        bottom = max(bottom, layout.blockBoundingRect(cell.lastCursorPosition().block()).bottom())
    return top, bottom


def _heading_before(table: QTextTable) -> QTextBlock | None:
    """The heading just before a table (at most two non-empty blocks back, e.g. a heading and its note)."""
    block, seen = table.firstCursorPosition().block().previous(), 0
    while block.isValid() and seen < 3 and QTextCursor(block).currentTable() is None:
        if block.blockFormat().headingLevel() > 0:
            return block
        seen += bool(block.text().strip())
        block = block.previous()
    return None


def _break_before(block: QTextBlock) -> None:
    fmt = block.blockFormat()
    fmt.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
    QTextCursor(block).setBlockFormat(fmt)


def _page(y: float, page_height: float) -> int:
    return math.floor(y / page_height)


def keep_rows_together(doc: QTextDocument, page_height: float, px: float) -> int:
    """Keep each row of a top-level table on one page: a row that starts on one page and ends on the next
    moves whole to the next, by giving the row above it the rest of the page (bottom padding; `px` is layout
    units per CSS pixel). A table's heading moves with its first row (never left alone at the foot of a
    page); a row taller than half a page is left to break. Returns the number of rows or tables moved."""
    layout = doc.documentLayout()
    moved = 0
    for table in [f for f in doc.rootFrame().childFrames() if isinstance(f, QTextTable)]:
        first = table.format().headerRowCount()
        heading = _heading_before(table)
        row, tries = first, 0
        while row < table.rows():
            doc.pageCount()  # lays the document out again after a change
            top, bottom = _row_span(layout, table, row)
            lead = heading if heading is not None and row == first else None
            if lead is not None and tries == 0:  # a heading on an earlier page than its table's first row
                lead_top = layout.blockBoundingRect(lead).top()
                if _page(lead_top, page_height) < _page(top, page_height) and lead_top % page_height > 1:
                    _break_before(lead)
                    tries, moved = 1, moved + 1
                    continue
            if (math.isinf(top) or _page(top, page_height) == _page(bottom - 1, page_height)
                    or bottom - top > page_height / 2 or tries >= 3):
                row, tries = row + 1, 0
                continue
            if lead is not None and layout.blockBoundingRect(lead).top() % page_height <= 1:
                row, tries = row + 1, 0  # the heading already starts a page: nothing to gain
                continue
            tries += 1
            moved += tries == 1
            if lead is not None:
                _break_before(lead)
            elif row == first:
                fmt = table.format()
                fmt.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
                table.setFormat(fmt)
            else:
                cell = table.cellAt(row - 1, 0)
                cf = cell.format().toTableCellFormat()
                base = cf.bottomPadding() if cf.hasProperty(QTextFormat.Property.TableCellBottomPadding) \
                    else table.format().cellPadding()
                cf.setBottomPadding(base + ((_page(top, page_height) + 1) * page_height - top) / px + 1)
                cell.setFormat(cf)
    return moved


def _render(html: str, path: Path, meta: Meta, images: Mapping[str, bytes]) -> int:
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
    _add_images(doc, images)
    doc.setHtml(html)
    doc.setPageSize(QSizeF(body.width(), body.height()))
    keep_rows_together(doc, body.height(), writer.logicalDpiY() / 96)
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
