"""The History tab at the window's default size (1500x940), where it gets the height the cards and the queue
leave: the filters take one row and show their hints whole, the tables show several rows, the short columns
(date, reel, state, files, size) are never cut, and no pane can be dragged out of sight."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QHeaderView, QLineEdit, QTableView

from datawrangler.app.offload import run_offload
from datawrangler.app.request import OffloadRequest
from datawrangler.config import Settings
from datawrangler.core.events import OffloadControl
from datawrangler.core.presets import Preset
from datawrangler.gui import jobs


def _offloads(tmp_path: Path, make_card: Callable, dests: list[Path], n: int) -> Path:
    catalog = tmp_path / "catalog.sqlite"
    for i in range(n):
        card = make_card({f"A00{i}R2EC/A00{i}C001_231014_R2EC.mov": 1000 + i, "SDINFO.TXT": 10}, name=f"A00{i}R2EC")
        info = jobs.inspect(str(card), Settings(), Preset("t"), catalog)
        req = OffloadRequest(str(card), tuple(map(str, dests)), f"A00{i}R2EC", reel=info.reel,
                                  project="Nightfall – 2nd unit pickups", camera="A")
        run_offload(req, OffloadControl(), catalog=catalog)
    return catalog


def _rows_shown(v: QTableView) -> float:
    return v.viewport().height() / v.verticalHeader().defaultSectionSize()


def test_history_tab_fits_the_default_window(env: Callable, profile_with: Callable, make_card: Callable,
                                             dest_dirs: Callable, tmp_path: Path) -> None:
    dests = dest_dirs(2)
    _offloads(tmp_path, make_card, dests, 6)
    e = env(profile_with(dests))
    w = e.window
    assert (w.width(), w.height()) == (1500, 940)
    w.tabs.setCurrentWidget(w.history)
    h = w.history
    h.apply()
    e.wait(lambda: h.model.rowCount() == 6 and not h.model.loading)
    h.view.selectRow(0)
    e.wait(lambda: h.files.rowCount() == 2)
    h.files_view.selectRow(0)
    e.wait(lambda: h.checks.rowCount() == 2)
    assert h.count.text() == "6 offloads"

    # the filters: one row, every hint readable
    fields = [x for x in h.findChildren(QLineEdit) if x.placeholderText()]
    assert len(fields) == 7
    boxes = [x.geometry() for x in (*fields, h.state, h.count)]
    # one row: every box overlaps every other vertically (a combo box may sit a pixel off the line edits)
    assert max(b.top() for b in boxes) < min(b.bottom() for b in boxes), "the filters wrap onto a second row"
    for x in fields:
        assert x.width() > x.fontMetrics().horizontalAdvance(x.placeholderText()), f"hint cut: {x.placeholderText()}"

    # room for the history: rows, not slivers
    assert _rows_shown(h.view) >= 5
    assert _rows_shown(h.files_view) >= 2.5 and _rows_shown(h.checks_view) >= 2.5

    # short columns are as wide as what they hold; the rest is elided in the middle, with the whole in the tooltip
    short = ((h.view, range(7)), (h.files_view, range(4)), (h.checks_view, range(1, 5)))
    for v, cols in short:
        assert all(v.horizontalHeader().sectionResizeMode(c) is QHeaderView.ResizeMode.ResizeToContents for c in cols)
    e.wait(lambda: all(v.columnWidth(c) >= v.sizeHintForColumn(c) for v, cols in short for c in cols), 5000)
    tip = h.proxy.index(0, 7).data(3)  # ToolTipRole
    assert all(str(d) in tip for d in dests)

    # no pane can be dragged shut
    for split in (h.split, h.details):
        split.setSizes([10_000, 0])
        assert min(split.sizes()) > 0
