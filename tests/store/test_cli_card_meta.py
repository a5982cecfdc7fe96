"""`datawrangler offload` and `resume` record what recognition sees on the card (vendor, and camera and reel
where no flag named them), as the window and auto-offload do, so the offload report names the vendor."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from datawrangler.config import app_paths
from datawrangler.reports import csvout, html, offload
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder
from tests.store.conftest import RunCli


def _row(offload_id: int) -> tuple[str | None, str | None, str | None]:
    con = sqlite3.connect(app_paths().catalog_file)
    try:
        return con.execute("SELECT c.vendor, o.camera, o.reel FROM offloads o JOIN cards c ON c.id = o.card_id "
                           "WHERE o.id = ?", (offload_id,)).fetchone()
    finally:
        con.close()


def test_cli_offload_records_the_vendor_and_the_report_shows_it(dw: RunCli, make_card: CardBuilder,
                                                                 tmp_path: Path) -> None:
    card = make_card(name="CARD_7")  # ARRI clips A001C001_231014_R2EC.mov…; the folder name says no reel
    (tmp_path / "d1").mkdir()
    code, events = dw("offload", str(card), str(tmp_path / "d1"))
    assert code == 0
    assert _row(events[0]["offload_id"]) == ("ARRI", "A", "A001")
    db = open_catalog(app_paths().catalog_file)
    try:
        report = offload.build(db, events[0]["offload_id"])
    finally:
        db.close()
    assert "<td>ARRI / A</td>" in html.render(report)
    summary = {row[0]: row[1] for row in csvout.tables(report)["summary"][1]}
    assert (summary["vendor"], summary["camera"], summary["reel"]) == ("ARRI", "A", "A001")


def test_flags_win_over_what_recognition_sees(dw: RunCli, make_card: CardBuilder, tmp_path: Path) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    code, events = dw("offload", str(card), str(tmp_path / "d1"), "--reel", "B009", "--camera", "C")
    assert code == 0 and _row(events[0]["offload_id"]) == ("ARRI", "C", "B009")
    (tmp_path / "d2").mkdir()
    code, events = dw("offload", str(make_card(name="A002R2EC")), str(tmp_path / "d2"), "--reel", "B010")
    assert code == 0 and _row(events[0]["offload_id"]) == ("ARRI", None, "B010")  # not camera A of the clips


def test_an_unrecognised_card_records_no_vendor(dw: RunCli, make_card: CardBuilder, tmp_path: Path) -> None:
    card = make_card({"notes/holiday.mov": 10, "readme.txt": 5}, name="B004")
    (tmp_path / "d1").mkdir()
    code, events = dw("offload", str(card), str(tmp_path / "d1"))
    assert code == 0 and _row(events[0]["offload_id"]) == (None, "B", "B004")  # reel from the folder, as before


def test_offloading_a_known_card_again_fills_a_missing_vendor(dw: RunCli, make_card: CardBuilder,
                                                               tmp_path: Path) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    oid = dw("offload", str(card), str(tmp_path / "d1"))[1][0]["offload_id"]
    con = sqlite3.connect(app_paths().catalog_file)
    try:  # as recorded by an offload before the CLI recognised cards
        with con:
            con.execute("UPDATE cards SET vendor = NULL")
    finally:
        con.close()
    code, events = dw("offload", str(card), str(tmp_path / "d2"))
    assert code == 0 and any(e["event"] == "known_card" for e in events)
    assert _row(oid)[0] == "ARRI"


def test_resume_fills_the_vendor_an_older_offload_did_not_record(dw: RunCli, make_card: CardBuilder,
                                                                 tmp_path: Path) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    code, events = dw("offload", str(card), str(tmp_path / "d1"))
    oid = events[0]["offload_id"]
    con = sqlite3.connect(app_paths().catalog_file)
    try:  # as an offload begun before the CLI recognised cards, and interrupted
        with con:
            con.execute("UPDATE cards SET vendor = NULL")
            con.execute("UPDATE offloads SET state = 'interrupted' WHERE id = ?", (oid,))
    finally:
        con.close()
    assert _row(oid)[0] is None
    code, _ = dw("resume", str(oid))
    assert code == 0 and _row(oid)[0] == "ARRI"
