"""A card holding a 2,400-frame sequence reports as fast as one of 24 frames: the reports ask the catalog the
same number of questions whatever the frame count (a clip is one row; its frames are never listed one by
one), and the sequence is one line, one cell."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler.core.clips import ClipMeta
from datawrangler.reports import contact, csvout, html, offload
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder
from tests.reports.clipcards import record, sequence_card
from tests.reports.conftest import OffloadRunner


def _statements(catalog: Path, build: Callable[..., object]) -> tuple[int, object]:
    """How many SQL statements `build(db)` runs on the catalog, and what it built."""
    db = open_catalog(catalog)
    seen: list[str] = []
    try:
        conn: sqlite3.Connection = db.conn
        conn.set_trace_callback(seen.append)
        built = build(db)
        conn.set_trace_callback(None)
    finally:
        db.close()
    return len(seen), built


def _sequence(frames: int, name: str, tmp_path: Path, make_card: CardBuilder, run_offload: OffloadRunner,
              catalog: Path) -> int:
    dest = tmp_path / f"d-{name}"
    dest.mkdir()
    oid, result = run_offload(make_card(sequence_card(frames, name), name=name), [dest])
    assert result.files_verified == frames
    clip = f"{name}C001"
    record(catalog, oid, {clip: ClipMeta(codec="DPX 10-bit", width=4096, height=2160, fps="24", frames=frames,
                                         duration=frames / 24, tc_in="01:00:00:00")}, {clip: (320, 168)})
    return oid


@pytest.mark.slow
def test_reports_of_a_2400_frame_sequence_ask_what_a_24_frame_one_asks(
        tmp_path: Path, make_card: CardBuilder, run_offload: OffloadRunner, catalog: Path) -> None:
    small = _sequence(24, "S001", tmp_path, make_card, run_offload, catalog)
    big = _sequence(2400, "S002", tmp_path, make_card, run_offload, catalog)
    today = dt.date.today().isoformat()
    counts = {}
    for oid, reel in ((small, "S001"), (big, "S002")):
        n_offload, built = _statements(catalog, lambda db, oid=oid: offload.build(db, oid))
        assert isinstance(built, offload.OffloadReport)
        n_sheet, sheet = _statements(catalog, lambda db, reel=reel: contact.for_card(db, reel))
        assert isinstance(sheet, contact.ContactSheet)
        counts[reel] = (n_offload, n_sheet)
        (line,) = sheet.table.lines  # the sequence is one clip: one line, one cell
        assert built.clip_table is not None and built.clip_table.lines == (line,)
        assert html.render(sheet).count(f"<b>{reel}C001</b>") == 1
        rows = list(csvout.tables(sheet)["clips"][1])
        assert len(rows) == 1
    assert counts["S001"] == counts["S002"], counts
    n_day, day_sheet = _statements(catalog, lambda db: contact.for_day(db, today))
    assert isinstance(day_sheet, contact.ContactSheet) and len(day_sheet.table.lines) == 2
    (big_clip,) = [c for c in day_sheet.table.lines if c.name == "S002C001"]
    assert (big_clip.files, big_clip.frame_range, big_clip.duration) == (2400, "frames 1001-3400", "00:01:40:00")
    print(f"SQL statements: offload report, contact sheet per card {counts}; day sheet of both {n_day}")
