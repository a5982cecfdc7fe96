"""`datawrangler report …` writes the PDF and CSV it is asked for, from the catalog; write_offload_report (what
every offload calls when it ends) writes an offload's report into the app's reports folder."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from datawrangler.cli import report_cmd
from datawrangler.config import app_paths
from datawrangler.reports.output import write_offload_report
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder
from tests.reports.conftest import OffloadRunner, pdf_pages
from tests.reports.scenario import Day, shoot_day


@pytest.fixture
def shot(tmp_path: Path, other_volume: Path, make_card: CardBuilder, run_offload: OffloadRunner) -> Day:
    return shoot_day(tmp_path, other_volume, make_card, run_offload)


def report(catalog: Path, *argv: str) -> int:
    """The `report` command as `datawrangler` runs it once registered (parser -> args.func)."""
    parser = argparse.ArgumentParser(prog="datawrangler")
    parser.add_argument("--catalog")
    report_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--catalog", str(catalog), "report", *argv])
    return int(args.func(args))


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_report_offload_writes_pdf_and_csv(shot: Day, catalog: Path, tmp_path: Path) -> None:
    pdf, out = tmp_path / "out" / "b001.pdf", tmp_path / "out" / "b001.csv"
    pdf.parent.mkdir()
    assert report(catalog, "offload", str(shot.b001), "--pdf", str(pdf), "--csv", str(out), "--paper", "letter") == 0
    assert round(float(PdfReader(pdf).pages[0].mediabox.width)) == 612
    text = " ".join(" ".join(pdf_pages(pdf)).split())
    assert "NOT SAFE TO FORMAT" in text and "Files (" not in text  # no per-file table without --files
    db = open_catalog(catalog)
    try:
        listing = db.conn.execute("SELECT rel_path, size, status, json_extract(digests, '$.md5') FROM files "
                                  "WHERE offload_id = ? ORDER BY id", (shot.b001,)).fetchall()
    finally:
        db.close()
    rows = _csv(out)  # the CSV always has the per-file table
    assert [(r["path"], int(r["size"]), r["status"], r["md5"]) for r in rows] == listing
    assert {r["path"]: r["D1"] for r in rows}["SDINFO.TXT"] == "failed: conflict"
    summary = {r["field"]: r["value"] for r in _csv(tmp_path / "out" / "b001.summary.csv")}
    assert (summary["safe_to_format"], summary["files_failed"], summary["reel"]) == ("no", "1", "B001")
    problems = _csv(tmp_path / "out" / "b001.problems.csv")
    assert [(p["kind"], p["where"], p["code"]) for p in problems if p["kind"] == "failure"] == \
        [("failure", "D1", "conflict")]
    dests = _csv(tmp_path / "out" / "b001.destinations.csv")
    assert [(d["destination"], d["result"], d["files_failed"]) for d in dests] == \
        [("D1", "completed with errors", "1"), ("D2", "verified", "0")]


def test_report_offload_files_adds_the_per_file_table(shot: Day, catalog: Path, tmp_path: Path) -> None:
    pdf, html = tmp_path / "a001.pdf", tmp_path / "a001.html"
    assert report(catalog, "offload", str(shot.a001), "--files", "--pdf", str(pdf), "--html", str(html)) == 0
    text = "\n".join(pdf_pages(pdf))
    assert "Files (4)" in text and "A001R2EC/A001C002_231014_R2EC.mov" in text
    page = html.read_text(encoding="utf-8")
    assert "<thead>" in page and "A001R2EC/A001C002_231014_R2EC.mov" in page and "DataWrangler " in page


def test_report_day_and_redundancy(shot: Day, catalog: Path, tmp_path: Path) -> None:
    today = dt.date.today().isoformat()
    assert report(catalog, "day", today, "--pdf", str(tmp_path / "day.pdf"), "--csv", str(tmp_path / "day.csv"),
                  "--shooting-day", "Day 12") == 0
    cards = {r["reel"]: r for r in _csv(tmp_path / "day.csv")}
    assert {k: v["safe_to_format"] for k, v in cards.items()} == {"A001": "yes", "A002": "no", "B001": "no"}
    assert int(cards["A001"]["bytes"]) == 8_000_120 and cards["A001"]["clips"] == "3"
    assert {r["camera"]: r["cards"] for r in _csv(tmp_path / "day.cameras.csv")} == {"A": "2", "B": "1"}
    assert [r["path"] for r in _csv(tmp_path / "day.failures.csv")] == ["SDINFO.TXT"]
    assert "Day 12" in "\n".join(pdf_pages(tmp_path / "day.pdf"))

    assert report(catalog, "redundancy", "--card", "A001", "--card", "B001", "--csv", str(tmp_path / "r.csv")) == 0
    assert [(r["reel"], r["safe_to_format"]) for r in _csv(tmp_path / "r.csv")] == [("B001", "no"), ("A001", "yes")]
    assert [(r["reel"], r["path"]) for r in _csv(tmp_path / "r.short_files.csv")] == [("B001", "SDINFO.TXT")]
    assert report(catalog, "redundancy", "--day", today, "--pdf", str(tmp_path / "r.pdf")) == 0
    assert "✗ 2 OF 3 CARDS SHORT OF THE RULE" in " ".join(" ".join(pdf_pages(tmp_path / "r.pdf")).split())


def test_nothing_to_report_exits_2(shot: Day, catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report(catalog, "offload", "999", "--pdf", "x.pdf") == 2
    assert "no offload 999" in capsys.readouterr().err
    assert report(catalog, "day", "2001-01-01", "--json") == 2
    assert json.loads(capsys.readouterr().out)["code"] == "nothing_to_report"
    assert report(catalog, "redundancy", "--card", "Z999") == 2
    assert report(catalog, "day", "14/10/2023") == 2
    capsys.readouterr()
    assert report(catalog, "offload", str(shot.a001), "--pdf", "/nonexistent/folder/a.pdf") == 2
    assert "/nonexistent/folder does not exist" in capsys.readouterr().err


def test_without_a_file_the_report_goes_to_the_reports_folder(shot: Day, catalog: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert report(catalog, "day", dt.date.today().isoformat(), "--json") == 0
    files = [Path(p) for p in json.loads(capsys.readouterr().out)["files"]]
    folder = app_paths().reports_dir / dt.date.today().isoformat()
    assert files[0] == folder / f"day_{dt.date.today().isoformat()}.pdf" and files[0].stat().st_size > 0
    assert all(p.parent == folder and p.exists() for p in files)


def test_write_offload_report_writes_into_the_reports_folder(shot: Day, catalog: Path) -> None:
    db = open_catalog(catalog)
    try:
        written = write_offload_report(db, shot.b001, 2)
        plain = write_offload_report(db, shot.a001, 2)
    finally:
        db.close()
    folder = app_paths().reports_dir / dt.date.today().isoformat()
    pdf = next(p for p in written if p.suffix == ".pdf")
    assert pdf.parent == folder and pdf.name.startswith("offload-0002_B001_")
    assert set("".join(p.name for p in written)) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                        "0123456789._-")
    assert "NOT SAFE TO FORMAT" in " ".join(" ".join(pdf_pages(pdf)).split())
    assert len(_csv(folder / pdf.with_suffix(".csv").name)) == 3  # the per-file CSV
    assert sorted(map(str, plain)) == sorted(str(p) for p in folder.glob("offload-0001_*"))
    assert len(plain) == 5  # the PDF, the per-file CSV and the summary, destinations and problems tables
