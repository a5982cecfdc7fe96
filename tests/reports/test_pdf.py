"""The PDFs say what the catalog says, on every page: read back with pdftotext (or pypdf)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from datawrangler import __version__
from datawrangler.reports import day, offload, output, redundancy
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder
from tests.reports.conftest import OffloadRunner, pdf_pages
from tests.reports.scenario import Day, shoot_day

PAGE = re.compile(r"Page (\d+) of (\d+)")


@pytest.fixture
def shot(tmp_path: Path, other_volume: Path, make_card: CardBuilder, run_offload: OffloadRunner) -> Day:
    return shoot_day(tmp_path, other_volume, make_card, run_offload)


def _every_page_has_header_and_footer(pages: list[str], title: str) -> None:
    assert pages
    for i, text in enumerate(pages, 1):
        assert f"DataWrangler · {title}" in text, f"page {i} has no header"
        m = PAGE.search(text)
        assert m and (int(m.group(1)), int(m.group(2))) == (i, len(pages)), f"page {i}: {m and m.group(0)}"
        assert f"by DataWrangler {__version__}" in text and "Generated " in text


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_offload_pdf_states_the_failure_and_the_verdict(shot: Day, catalog: Path, tmp_path: Path) -> None:
    db = open_catalog(catalog)
    try:
        r = offload.build(db, shot.b001)
        message = db.conn.execute("SELECT message FROM copies WHERE state = 'failed'").fetchone()[0]
    finally:
        db.close()
    pdf = tmp_path / "b001.pdf"
    output.write(r, pdf=pdf)
    pages = pdf_pages(pdf)
    _every_page_has_header_and_footer(pages, "Offload report")
    text = _flat(" ".join(pages))
    assert "✗ NOT SAFE TO FORMAT" in text
    assert "Files 3 (2 verified, 1 failed)" in text
    assert "3,500,120 bytes" in text and "Clips 2" in text and "Hashes xxh64, md5" in text
    assert "Failures (1)" in text and "conflict" in text
    # the message, word for word (a wrapped table cell comes out of pdftotext over several lines, and a long
    # path breaks anywhere, so its words are looked up one by one and the path by its last part)
    words = [w for w in message.split() if "/" not in w]
    assert len(words) > 20 and all(w in text for w in words), message
    assert "B001R1AB/SDINFO.TXT" in text.replace(" ", "")
    assert "Night Train" in text and "Dana DIT" in text and "B001R1AB" in text
    assert "completed with errors" in text


def test_offload_pdf_verified_on_two_volumes(shot: Day, catalog: Path, tmp_path: Path) -> None:
    db = open_catalog(catalog)
    try:
        r = offload.build(db, shot.a001)
    finally:
        db.close()
    pdf = tmp_path / "a001.pdf"
    output.write(r, pdf=pdf)
    pages = pdf_pages(pdf)
    text = _flat(" ".join(pages))
    assert len(pages) == 1
    assert "✓ VERIFIED ON 2 VOLUMES" in text and "NOT SAFE" not in text
    assert "Files 4 (4 verified)" in text and "8,000,120 bytes" in text
    assert "Verify mode full" in text and "OS cache" in text


def test_a_thousand_files_paginate_with_the_table_header_on_every_page(
        tmp_path: Path, other_volume: Path, make_card: CardBuilder, run_offload: OffloadRunner,
        catalog: Path) -> None:
    files = {f"A003R2EC/A003C{i:04d}_231014_R2EC.mov": 100 + i for i in range(1000)}
    (tmp_path / "d1").mkdir()
    oid, result = run_offload(make_card(files, name="A003R2EC"), [tmp_path / "d1", other_volume])
    assert result.files_verified == 1000
    db = open_catalog(catalog)
    try:
        r = offload.build(db, oid, with_files=True)
        digests = dict(db.conn.execute("SELECT rel_path, json_extract(digests, '$.xxh64') FROM files "
                                       "WHERE offload_id = ?", (oid,)).fetchall())
    finally:
        db.close()
    pdf = tmp_path / "a003.pdf"
    output.write(r, pdf=pdf, files_in_pdf=True)
    pages = pdf_pages(pdf)
    assert len(PdfReader(pdf).pages) == len(pages) > 10
    _every_page_has_header_and_footer(pages, "Offload report")
    first_files_page = next(i for i, p in enumerate(pages) if "Files (1,000)" in p)
    assert first_files_page == 1  # the per-file table starts on a page of its own, after the summary
    seen: list[str] = []
    row = re.compile(r"^\s*(A003R2EC/A003C\d{4}_231014_R2EC\.mov)\s+([\d,]+)\s+([0-9a-f]{16})"
                     r"\s+verified\s+verified\s*$")
    for i, text in enumerate(pages[first_files_page:], first_files_page + 1):
        lines = text.splitlines()
        head = next((n for n, line in enumerate(lines) if re.search(r"File\s+Size\s+xxh64\s+D1\s+D2", line)), None)
        assert head is not None, f"page {i} has no table header:\n{text[:600]}"
        rows = [m for line in lines if (m := row.match(line))]
        assert rows, f"page {i} has no file rows"
        assert all(lines.index(m.string) > head for m in rows)  # the header comes before the rows
        for m in rows:
            seen.append(m.group(1))
            assert int(m.group(2).replace(",", "")) == files[m.group(1)]
            assert m.group(3) == digests[m.group(1)]
    assert seen == sorted(files)  # every row once, in order: none lost or repeated at a page break


def test_letter_and_a4(shot: Day, catalog: Path, tmp_path: Path) -> None:
    db = open_catalog(catalog)
    try:
        sizes = {}
        for paper in ("a4", "letter"):
            pdf = tmp_path / f"{paper}.pdf"
            output.write(offload.build(db, shot.a001, paper=paper), pdf=pdf)
            box = PdfReader(pdf).pages[0].mediabox
            sizes[paper] = (round(float(box.width)), round(float(box.height)))
    finally:
        db.close()
    assert sizes == {"a4": (595, 842), "letter": (612, 792)}


def test_day_pdf(shot: Day, catalog: Path, tmp_path: Path) -> None:
    db = open_catalog(catalog)
    try:
        r = day.build(db, dt.date.today().isoformat(), shooting_day="Day 12", location="Stage 4")
    finally:
        db.close()
    pdf = tmp_path / "day.pdf"
    output.write(r, pdf=pdf)
    pages = pdf_pages(pdf)
    _every_page_has_header_and_footer(pages, "Day report")
    text = "\n".join(pages)
    assert "✗ 2 OF 3 CARDS NOT SAFE TO FORMAT" in _flat(text)
    lines: dict[str, str] = {}
    for line in text.splitlines():
        if m := re.match(r"\s*([AB]00\d)\s", line):
            lines.setdefault(m.group(1), line)  # the cards table comes first
    assert re.search(r"A001\s+A\s+A001R2EC\s+3\s+4\s+8\.0 MB\s+2 of 2\s+YES", lines["A001"])
    assert re.search(r"A002\s+A\s+A002R2EC\s+2\s+2\s+1\.0 MB\s+1 of 2\s+✗ NO", lines["A002"])
    assert re.search(r"B001\s+B\s+B001R1AB\s+2\s+3\s+3\.5 MB\s+1 of 2\s+✗ NO", lines["B001"])
    assert "Day 12" in text and "Stage 4" in text and "Failures (1)" in text and "SDINFO.TXT" in text
    assert re.search(r"Total\s+3 cards\s+7\s+9\s+12\.5 MB\s+1 of 3", text)


def test_redundancy_pdf_lists_short_cards_first(shot: Day, catalog: Path, tmp_path: Path) -> None:
    db = open_catalog(catalog)
    try:
        r = redundancy.build(db)
    finally:
        db.close()
    pdf = tmp_path / "red.pdf"
    output.write(r, pdf=pdf)
    pages = pdf_pages(pdf)
    _every_page_has_header_and_footer(pages, "Redundancy report")
    text = "\n".join(pages)
    assert "✗ 2 OF 3 CARDS SHORT OF THE RULE" in _flat(text)
    order = [m.group(1) for m in re.finditer(r"^\s*(✗ SHORT|OK)\s+(A00\d|B00\d)", text, re.M)][:3]
    assert order == ["✗ SHORT", "✗ SHORT", "OK"]
    assert "one drive" in _flat(text)
