"""The contact sheet, per card and per day: one cell per clip with its thumbnail really in the PDF (or a
labelled empty frame), its name, TC in, duration and format, gaps and damage in words; a cell never split
across pages; A4 and Letter."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from markupsafe import escape
from pypdf import PdfReader

from datawrangler.core.clips import ClipMeta, ClipState
from datawrangler.reports import contact, html, output
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder
from tests.reports.clipcards import DAMAGE, ClipCard, record, shoot_a001
from tests.reports.conftest import OffloadRunner, pdf_pages
from tests.reports.imagecheck import thumbnails_on_pages

SIZES = {"a4": (595, 842), "letter": (612, 792)}
B001 = [f"B001C{i:03d}_231014_R1AB" for i in range(1, 39)]


@pytest.fixture
def a001(tmp_path: Path, other_volume: Path, make_card: CardBuilder, run_offload: OffloadRunner,
         catalog: Path) -> ClipCard:
    return shoot_a001(tmp_path, other_volume, make_card, run_offload, catalog)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _reading_order(pdf: Path) -> list[str]:
    """Each page's text in reading order (cell by cell, where -layout would interleave a grid's cells)."""
    exe = shutil.which("pdftotext")
    if exe is None:
        return [p.extract_text() or "" for p in PdfReader(pdf).pages]
    out = subprocess.run([exe, "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
    pages = out.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_card_sheet_one_cell_per_clip_with_its_picture(a001: ClipCard, catalog: Path, tmp_path: Path,
                                                       paper: str) -> None:
    db = open_catalog(catalog)
    try:
        sheet = contact.for_card(db, "A001", paper=paper)
    finally:
        db.close()
    pdf, page = tmp_path / "sheet.pdf", tmp_path / "sheet.html"
    output.write(sheet, pdf=pdf, html_path=page)
    reader = PdfReader(pdf)
    assert all((round(float(p.mediabox.width)), round(float(p.mediabox.height))) == SIZES[paper]
               for p in reader.pages)
    pages = _reading_order(pdf)
    text = "\n".join(pages)
    flat = _flat(text)
    assert len(pages) == 1 and "Page 1 of 1" in text and "DataWrangler · Contact sheet · A001" in text
    assert "Contact sheet: A001" in flat and "Night Train" in flat and "DIT: Dana DIT" in flat
    assert f"Station: {socket.gethostname()}" in flat
    flagged = {"A001C002_231014_R2EC", "A001C003"}  # named once more in the clip warnings block
    for name in a001.names:
        assert text.count(name) == 1 + (name in flagged), name
    # the cells say TC in, duration and format; damage and gaps in words
    assert "TC 14:03:12:05 · 00:00:10:00" in flat and "ProRes 422 HQ · 1920×1080 · 23.976 fps" in flat
    assert "TC 14:03:10:00 · 00:01:05" in flat and "PCM 24-bit · 2 ch · 48 kHz/24-bit" in flat
    assert "frames 86400-86520 (117 of 121)" in flat and "✗ frames 86411, 86500-86502 missing" in flat
    assert f"✗ POSSIBLY DAMAGED: {DAMAGE}" in flat
    assert "metadata not read (no open library reads R3D)" in flat
    assert "CLIP WARNINGS (2)" in flat and "7 clips · running time 00:01:27 · ✗ 2 flagged" in flat
    for label in ("SOUND", "NO PICTURE", "NOT DECODED", "MISSING"):  # the clips without a thumbnail
        assert label in flat
    # the three thumbnails are in the PDF, each the picture of its clip
    assert thumbnails_on_pages(pdf, a001.thumbnails) == [sorted(a001.thumbnails)]
    # the HTML file carries them itself (it travels without the thumbnails folder)
    body = page.read_text(encoding="utf-8")
    assert body.count("data:image/jpeg;base64,") == 3 and "/thumbnails/" not in body


def _second_card(tmp_path: Path, other_volume: Path, make_card: CardBuilder, run_offload: OffloadRunner,
                 catalog: Path) -> ClipCard:
    files = {f"B001R1AB/{name}.mov": 1000 + i for i, name in enumerate(B001)}
    oid, _ = run_offload(make_card(files, name="B001R1AB"), [tmp_path / "drive1", other_volume], camera="B")
    meta = {name: ClipMeta(codec="ProRes 4444 XQ", width=4096, height=2160, fps="25", frames=250 + i,
                           tc_in=f"11:{i:02d}:00:00") for i, name in enumerate(B001, 1)}
    return record(catalog, oid, meta, {n: (320, 180) for n in B001 if n != "B001C007_231014_R1AB"})


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_day_sheet_card_by_card_on_several_pages(a001: ClipCard, tmp_path: Path, other_volume: Path,
                                                 make_card: CardBuilder, run_offload: OffloadRunner, catalog: Path,
                                                 paper: str) -> None:
    b001 = _second_card(tmp_path, other_volume, make_card, run_offload, catalog)
    unread, _ = run_offload(make_card({"C001C001.mov": 10}, name="C001R1AB"), [tmp_path / "drive1", other_volume],
                            camera="C")
    db = open_catalog(catalog)
    try:
        sheet = contact.for_day(db, dt.date.today().isoformat(), shooting_day="Day 12", paper=paper)
    finally:
        db.close()
    assert [c.reel for c in sheet.cards] == ["A001", "B001"] and sheet.unread == (("C001", unread),)
    pdf = tmp_path / "day.pdf"
    output.write(sheet, pdf=pdf)
    pages = _reading_order(pdf)
    text = "\n".join(pages)
    assert len(pages) >= 2 and len(PdfReader(pdf).pages) == len(pages)
    for i, page in enumerate(pdf_pages(pdf), 1):
        assert f"Page {i} of {len(pages)}" in page and "DataWrangler · Contact sheet · " in page
    flat = _flat(text)
    assert f"Contact sheet: {dt.date.today().isoformat()} · Day 12" in flat and "2 cards: A001, B001" in flat
    assert f"No clip of C001 has been read: 'datawrangler clips {unread} --read' reads them" in flat
    assert "B001 · B001R1AB · 38 clips · running time 00:06:49:16 · none flagged" in flat  # 9,616 frames at 25
    for name in B001:
        assert text.count(name) == 1, name
    # every thumbnail is on the page of its own caption: no cell is split between two pages
    thumbs = {**a001.thumbnails, **b001.thumbnails}
    drawn = thumbnails_on_pages(pdf, thumbs)
    assert sorted(n for names in drawn for n in names) == sorted(thumbs)
    for number, (page, names) in enumerate(zip(pages, drawn, strict=True), 1):
        captions = {n for n in thumbs if re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", page)}
        assert set(names) == captions, f"page {number}"
        if any(n in page for n in B001[8:]):  # a page that continues B001 repeats its header row
            assert "B001 · B001R1AB · 38 clips" in _flat(page)


def test_card_sheet_shows_each_clip_once_from_its_latest_reading(a001: ClipCard, tmp_path: Path,
                                                                 other_volume: Path, run_offload: OffloadRunner,
                                                                 catalog: Path) -> None:
    """The same card offloaded again (to another drive) and read again: one cell per clip, as read last."""
    (tmp_path / "drive3").mkdir()
    again, _ = run_offload(tmp_path / "cards" / "A001R2EC", [tmp_path / "drive3"], camera="A")
    meta = {"A001C001_231014_R2EC": ClipMeta(codec="ProRes 422 HQ", fps="24000/1001", frames=240,
                                             tc_in="15:00:00:00")}
    record(catalog, again, meta, {})
    db = open_catalog(catalog)
    try:
        sheet = contact.for_card(db, "A001")
    finally:
        db.close()
    (card,) = sheet.cards
    assert card.offloads == (a001.offload_id, again)
    lines = {c.name: c for c in card.table.lines}
    assert len(card.table.lines) == len(a001.names) and set(lines) == set(a001.names)
    assert lines["A001C001_231014_R2EC"].tc_in == "15:00:00:00" and lines["A001C001_231014_R2EC"].offload_id == again


def test_html_names_pictures_the_pdf_writer_loads(a001: ClipCard, catalog: Path) -> None:
    db = open_catalog(catalog)
    try:
        sheet = contact.for_card(db, "A001")
    finally:
        db.close()
    page, images = html.render_for_pdf(sheet)
    jpegs = {name: data for name, data in images.items() if name.endswith(".jpg")}
    assert len(jpegs) == 3 and all(f'src="{name}"' in page for name in images)
    assert sorted(jpegs.values()) == sorted(p.read_bytes() for p in a001.thumbnails.values())
    assert "data:" not in page  # the PDF's HTML names resources, it does not carry them


def test_a_long_damage_report_is_brief_in_its_cell_and_whole_in_the_warnings(
        tmp_path: Path, other_volume: Path, make_card: CardBuilder, run_offload: OffloadRunner, catalog: Path) -> None:
    why = ("C001.mov cannot be opened: it is cut short: its 'mdat' atom declares 413,045 bytes but the file ends "
           "166,079 bytes into it, and it has no index (moov atom), which the camera writes when the recording stops")
    (tmp_path / "d").mkdir()
    oid, _ = run_offload(make_card({"D001R1AB/C001.mov": 500}, name="D001R1AB"), [tmp_path / "d", other_volume])
    record(catalog, oid, {"C001": ClipMeta(state=ClipState.DAMAGED, container="mov", problems=(why,))}, {})
    db = open_catalog(catalog)
    try:
        page = html.render(contact.for_card(db, "D001"))
    finally:
        db.close()
    whole = str(escape(why))
    assert page.count(whole) == 1  # the clip warnings block: every word
    brief = str(escape("C001.mov cannot be opened: it is cut short: its 'mdat' atom declares 413,045 bytes but the …"))
    assert page.count(brief) == 1 and page.index(whole) < page.index(brief)
