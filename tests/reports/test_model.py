"""The report models hold what the catalog holds: counts, sizes, verdicts, failures with their messages.
No Qt here."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from datawrangler.core.cards import recognise
from datawrangler.reports import day, html, offload, redundancy
from datawrangler.reports.csvout import tables
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder
from tests.reports.conftest import OffloadRunner
from tests.reports.scenario import Day, shoot_day

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def shot(tmp_path: Path, other_volume: Path, make_card: CardBuilder, run_offload: OffloadRunner) -> Day:
    return shoot_day(tmp_path, other_volume, make_card, run_offload)


def _db(catalog: Path):  # type: ignore[no-untyped-def]
    return open_catalog(catalog)


def test_offload_report_counts_sizes_and_failure_messages_come_from_the_catalog(shot: Day, catalog: Path) -> None:
    db = _db(catalog)
    try:
        r = offload.build(db, shot.b001, with_files=True)
        files, size = db.conn.execute("SELECT COUNT(*), SUM(size) FROM files WHERE offload_id = ?",
                                      (shot.b001,)).fetchone()
        failed_msg = db.conn.execute(
            "SELECT c.message FROM copies c JOIN files f ON f.id = c.file_id WHERE f.offload_id = ? AND "
            "c.state = 'failed'", (shot.b001,)).fetchone()[0]
    finally:
        db.close()
    assert (r.files_total, r.bytes_total) == (files, size) == (3, 3_500_120)
    assert (r.files_verified, r.files_failed, r.clips) == (2, 1, 2)
    assert r.state == "completed with errors" and r.algorithms == ("xxh64", "md5")
    assert [(d.tag, d.state) for d in r.destinations] == [("D1", "completed with errors"), ("D2", "verified")]
    assert r.failures_total == 1
    (f,) = r.failures
    assert (f.where, f.path, f.code, f.message) == ("D1", "SDINFO.TXT", "conflict", failed_msg)
    assert "already exists at the destination" in f.message
    assert not r.verdict.safe and r.verdict.headline == "NOT SAFE TO FORMAT"
    assert any("failed" in reason for reason in r.verdict.reasons)
    row = {x.path: x for x in r.files or ()}["SDINFO.TXT"]
    assert row.results == ("failed: conflict", "verified") and row.status == "failed"
    assert all(len(x.digests) == 2 and all(len(d) in (16, 32) for d in x.digests) for x in r.files or ())


def test_verified_on_two_volumes(shot: Day, catalog: Path) -> None:
    db = _db(catalog)
    try:
        r = offload.build(db, shot.a001)
    finally:
        db.close()
    assert r.verdict.safe and r.verdict.copies == 2 and r.verdict.headline == "VERIFIED ON 2 VOLUMES"
    assert r.state == "verified" and r.failures == () and r.files is None
    assert (r.files_total, r.clips, r.card.reel, r.card.camera, r.operator) == (4, 3, "A001", "A", "Dana DIT")
    assert r.card.fingerprint and len(r.card.fingerprint) == 64
    assert r.verify_mode == "full"
    assert r.duration is not None and r.duration >= 0


def test_two_destinations_on_one_volume_are_one_copy(shot: Day, catalog: Path) -> None:
    db = _db(catalog)
    try:
        r = offload.build(db, shot.a002)
    finally:
        db.close()
    assert r.state == "verified"  # both copies read back and matched...
    assert not r.verdict.safe and r.verdict.copies == 1  # ...on one drive
    assert any("one drive" in reason for reason in r.verdict.reasons)
    assert any(w.code == "same_volume" and w.where == "D1, D2" for w in r.warnings)
    assert r.destinations[0].volume and r.destinations[1].volume
    assert r.destinations[0].volume.disk == r.destinations[1].volume.disk


def test_unknown_offload_is_refused(shot: Day, catalog: Path) -> None:
    db = _db(catalog)
    try:
        with pytest.raises(offload.UnknownOffload, match="no offload 999"):
            offload.build(db, 999)
    finally:
        db.close()


def test_day_report_rows_and_totals(shot: Day, catalog: Path) -> None:
    db = _db(catalog)
    try:
        today = dt.date.today().isoformat()
        r = day.build(db, today)
        total = db.conn.execute("SELECT SUM(bytes_total), SUM(files_total) FROM offloads").fetchone()
    finally:
        db.close()
    rows = {c.reel: c for c in r.cards}
    assert set(rows) == {"A001", "A002", "B001"}
    assert [c.reel for c in r.cards] == ["A001", "A002", "B001"]  # by camera, then reel
    assert rows["A001"].verdict.safe and not rows["A002"].verdict.safe and not rows["B001"].verdict.safe
    assert (rows["A001"].verdict.copies, rows["A002"].verdict.copies) == (2, 1)
    assert rows["B001"].failures == 1 and r.failures_total == 1
    assert r.failures[0].path == "SDINFO.TXT" and r.failures[0].where == "B001 D1"
    cams = {c.camera: c for c in r.cameras}
    assert (cams["A"].cards, cams["A"].clips, cams["A"].safe) == (2, 5, 1)
    assert (cams["B"].cards, cams["B"].clips, cams["B"].safe) == (1, 2, 0)
    assert (r.totals.bytes, r.totals.files) == (total[0], total[1])
    assert r.operators == ("Dana DIT",) and r.meta.production == "Night Train"
    assert len(r.drives) == 2  # drive 1 (three cards, one failed copy) and the second volume (two cards)
    by_cards = sorted((d.cards, d.copies_failed) for d in r.drives)
    assert by_cards == [(2, 0), (3, 1)]


def test_day_report_of_an_empty_day(shot: Day, catalog: Path) -> None:
    db = _db(catalog)
    try:
        assert day.build(db, "2001-01-01").cards == ()
    finally:
        db.close()


def test_day_window_starts_when_the_shooting_day_starts() -> None:
    start, end = day.window("2023-10-14", "06:00")
    assert dt.datetime.fromtimestamp(start) == dt.datetime(2023, 10, 14, 6, 0)
    assert dt.datetime.fromtimestamp(end) == dt.datetime(2023, 10, 15, 6, 0)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        day.window("14/10/2023")


def test_redundancy_report_puts_what_is_short_first(shot: Day, catalog: Path) -> None:
    db = _db(catalog)
    try:
        r = redundancy.build(db)
    finally:
        db.close()
    assert [c.reel for c in r.cards] == ["A002", "B001", "A001"]
    assert [c.short for c in r.cards] == [True, True, False] and r.cards_short == 2
    cards = {c.reel: c for c in r.cards}
    assert cards["B001"].files_short == 1 and cards["B001"].short_sample == (("SDINFO.TXT", 1),)
    assert cards["A002"].files_short == 2 and cards["A001"].files_short == 0
    assert r.drives[0].short  # drives holding short cards first
    drive1 = next(d for d in r.drives if len(d.cards) == 3)
    held = {c.reel: c for c in drive1.cards}
    assert (held["A002"].files, held["A002"].files_short) == (2, 2)  # both folders: one drive, one copy
    assert (held["B001"].files, held["B001"].files_short) == (2, 0)  # its SDINFO.TXT failed here
    assert (held["A001"].files, held["A001"].short) == (4, False)
    assert [c.reel for c in drive1.cards][-1] == "A001"


def test_offload_csv_tables_hold_every_file(shot: Day, catalog: Path) -> None:
    db = _db(catalog)
    try:
        r = offload.build(db, shot.b001, with_files=True)
        paths = [p for (p,) in db.conn.execute("SELECT rel_path FROM files WHERE offload_id = ? ORDER BY id",
                                               (shot.b001,))]
    finally:
        db.close()
    t = tables(r)
    assert list(t) == ["files", "summary", "destinations", "problems"]
    header, rows = t["files"]
    rows = list(rows)
    assert list(header) == ["path", "size", "status", "xxh64", "md5", "D1", "D2", "message"]
    assert [row[0] for row in rows] == paths
    summary = dict(t["summary"][1])
    assert summary["safe_to_format"] == "no" and summary["files_failed"] == 1 and summary["bytes"] == 3_500_120


def test_html_escapes_what_the_card_names(tmp_path: Path, other_volume: Path, make_card: CardBuilder,
                                          run_offload: OffloadRunner, catalog: Path) -> None:
    card = make_card({"<odd> & name.wav": 10}, name="S001")
    (tmp_path / "d").mkdir()
    oid, _ = run_offload(card, [tmp_path / "d", other_volume], project="<b>Bold</b> Films")
    db = _db(catalog)
    try:
        text = html.render(offload.build(db, oid, with_files=True))
    finally:
        db.close()
    assert "&lt;odd&gt; &amp; name.wav" in text and "<odd>" not in text
    assert "&lt;b&gt;Bold&lt;/b&gt; Films" in text and "<b>Bold</b>" not in text


AGREEMENT_CARDS = {  # a Sony card with proxies and XML sidecars, a GoPro card with chapters and low-res proxies
    "sony": ["XDROOT/Clip/A001C001_231014AB.MXF", "XDROOT/Clip/A001C001_231014ABM01.XML",
             "XDROOT/Sub/A001C001_231014ABS03.MXF", "XDROOT/Clip/A001C002_231014AB.MXF",
             "XDROOT/Sub/A001C002_231014ABS03.MXF", "XDROOT/MEDIAPRO.XML"],
    "gopro": ["DCIM/100GOPRO/GX010001.MP4", "DCIM/100GOPRO/GX020001.MP4", "DCIM/100GOPRO/GX030001.MP4",
              "DCIM/100GOPRO/GL010001.LRV", "DCIM/100GOPRO/GX010001.THM", "DCIM/100GOPRO/GX010002.MP4",
              "DCIM/100GOPRO/GX020002.MP4"],
}


@pytest.mark.parametrize("vendor", sorted(AGREEMENT_CARDS))
def test_reports_count_clips_as_recognition_does(tmp_path: Path, catalog: Path, run_offload: OffloadRunner,
                                                  vendor: str) -> None:
    """The offload and day reports count a card's clips with the card rules: the same number the window's
    Cards list shows (proxies, sidecars and chapters are not clips of their own)."""
    card = tmp_path / "card"
    for i, rel in enumerate(AGREEMENT_CARDS[vendor]):
        (card / rel).parent.mkdir(parents=True, exist_ok=True)
        (card / rel).write_bytes(bytes(100 + i))
    seen = recognise(card).clip_count
    assert seen == 2
    dests = [tmp_path / "d1", tmp_path / "d2"]
    for d in dests:
        d.mkdir()
    oid, _ = run_offload(card, dests)
    db = _db(catalog)
    try:
        report = offload.build(db, oid)
        started = db.conn.execute("SELECT started_at FROM offloads WHERE id = ?", (oid,)).fetchone()[0]
        (on_the_day,) = day.build(db, dt.date.fromtimestamp(started).isoformat()).cards
    finally:
        db.close()
    assert report.clips == on_the_day.clips == seen


BLOCK_QT = textwrap.dedent("""
    import importlib.abc, sys
    class BlockQt(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("PySide6", "shiboken6"):
                raise ImportError(name + " is blocked")
    sys.meta_path.insert(0, BlockQt())
    from datawrangler.reports import csvout, day, html, model, offload, output, redundancy  # noqa: F401
    from datawrangler.cli import report_cmd  # noqa: F401
    try:
        from datawrangler.reports import pdf  # noqa: F401
    except ImportError:
        print("pdf needs Qt")
    leaked = [m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6")]
    assert not leaked, leaked
""")


def test_only_the_pdf_module_needs_qt() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", BLOCK_QT], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "pdf needs Qt"
