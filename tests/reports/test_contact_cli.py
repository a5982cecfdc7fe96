"""`datawrangler report contact-sheet --card REEL|CARD_ID | --day DATE`: the files it is asked for, the
reports folder without them, and clear errors for what it cannot show."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from datawrangler.config import app_paths
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder
from tests.reports.clipcards import ClipCard, shoot_a001
from tests.reports.conftest import OffloadRunner, pdf_pages
from tests.reports.test_cli import report


@pytest.fixture
def a001(tmp_path: Path, other_volume: Path, make_card: CardBuilder, run_offload: OffloadRunner,
         catalog: Path) -> ClipCard:
    return shoot_a001(tmp_path, other_volume, make_card, run_offload, catalog)


def _card_id(catalog: Path) -> int:
    db = open_catalog(catalog)
    try:
        return int(db.conn.execute("SELECT id FROM cards WHERE reel = 'A001'").fetchone()[0])
    finally:
        db.close()


def test_card_by_reel_or_id_to_pdf_html_csv(a001: ClipCard, catalog: Path, tmp_path: Path) -> None:
    pdf, page, table = tmp_path / "a001.pdf", tmp_path / "a001.html", tmp_path / "a001.csv"
    assert report(catalog, "contact-sheet", "--card", "A001", "--pdf", str(pdf), "--html", str(page), "--csv",
                  str(table), "--paper", "letter", "--shooting-day", "Day 12") == 0
    assert round(float(PdfReader(pdf).pages[0].mediabox.height)) == 792
    text = " ".join(" ".join(pdf_pages(pdf)).split())
    assert "Contact sheet: A001 · Day 12" in text and "A001C001_231014_R2EC" in text
    assert page.read_text(encoding="utf-8").count("data:image/jpeg") == 3
    with open(table, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["clip"] for r in rows) == sorted(a001.names) and {r["reel"] for r in rows} == {"A001"}
    by_id = tmp_path / "by-id.pdf"
    assert report(catalog, "contact-sheet", "--card", str(_card_id(catalog)), "--pdf", str(by_id)) == 0
    assert round(float(PdfReader(by_id).pages[0].mediabox.height)) == 842  # A4 unless asked


def test_day_into_the_reports_folder(a001: ClipCard, catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    today = dt.date.today().isoformat()
    assert report(catalog, "contact-sheet", "--day", today, "--json") == 0
    files = [Path(p) for p in json.loads(capsys.readouterr().out)["files"]]
    folder = app_paths().reports_dir / today
    assert [p.name for p in files] == [f"contact_day_{today}.pdf", f"contact_day_{today}.csv"]
    assert all(p.parent == folder and p.stat().st_size > 0 for p in files)
    assert report(catalog, "contact-sheet", "--card", "A001") == 0
    assert (folder / f"contact_A001_{today}.pdf").is_file()


def test_clear_errors(a001: ClipCard, tmp_path: Path, catalog: Path, make_card: CardBuilder,
                      run_offload: OffloadRunner, capsys: pytest.CaptureFixture[str]) -> None:
    assert report(catalog, "contact-sheet", "--card", "Z999") == 2
    err = capsys.readouterr().err
    assert "No card 'Z999' in the catalog" in err and "datawrangler history" in err
    assert report(catalog, "contact-sheet", "--day", "2001-01-01", "--json") == 2
    said = json.loads(capsys.readouterr().out)
    assert said["code"] == "nothing_to_report" and "No card was offloaded on 2001-01-01" in said["message"]
    assert report(catalog, "contact-sheet", "--day", "14/10/2023") == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    (tmp_path / "d9").mkdir()
    oid, _ = run_offload(make_card({"B001C001.mov": 10}, name="B001R1AB"), [tmp_path / "d9"])
    assert report(catalog, "contact-sheet", "--card", "B001") == 2  # offloaded, clips never read
    assert f"'datawrangler clips {oid} --read'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # one of --card and --day, not both
        report(catalog, "contact-sheet", "--card", "A001", "--day", "2023-10-14")
    assert stop.value.code == 2
    with pytest.raises(SystemExit):
        report(catalog, "contact-sheet")
