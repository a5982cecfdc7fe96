"""The offload report's clip table: every value the catalog holds for a clip, its totals, flagged clips in
words (a warning on the card: the verdict stays "verified"), "metadata not read" never called damaged, and
nothing about clips where none were read."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from datawrangler.core.clips import ClipMeta
from datawrangler.reports import html, offload, output
from datawrangler.reports.clipmodel import ClipLine
from datawrangler.reports.csvout import tables
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder
from tests.reports.clipcards import DAMAGE, ClipCard, record, shoot_a001
from tests.reports.conftest import OffloadRunner, pdf_pages
from tests.reports.imagecheck import thumbnails_on_pages
from tests.reports.scenario import Day, shoot_day


@pytest.fixture
def a001(tmp_path: Path, other_volume: Path, make_card: CardBuilder, run_offload: OffloadRunner,
         catalog: Path) -> ClipCard:
    return shoot_a001(tmp_path, other_volume, make_card, run_offload, catalog)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _lines(catalog: Path, offload_id: int) -> dict[str, ClipLine]:
    db = open_catalog(catalog)
    try:
        table = offload.build(db, offload_id).clip_table
    finally:
        db.close()
    assert table is not None
    return {c.name: c for c in table.lines}


def test_clip_lines_hold_what_was_read(a001: ClipCard, catalog: Path) -> None:
    lines = _lines(catalog, a001.offload_id)
    assert set(lines) == set(a001.names) and len(lines) == 7
    c1 = lines["A001C001_231014_R2EC"]
    assert (c1.tc_in, c1.tc_out, c1.duration, c1.codec, c1.resolution, c1.rate, c1.audio) == \
        ("14:03:12:05", "14:03:22:04", "00:00:10:00", "ProRes 422 HQ", "1920×1080", "23.976", "2 ch · 48 kHz")
    assert not c1.flagged and c1.marks == () and c1.thumb is not None
    assert (c1.thumb.width, c1.thumb.height) == (320, 180)
    sound = lines["231014_T001"]  # sound: HH:MM:SS, kHz and bits, the slate
    assert (sound.kind, sound.duration, sound.audio, sound.codec, sound.rate, sound.tc_in) == \
        ("audio", "00:01:05", "2 ch · 48 kHz/24-bit", "PCM 24-bit", "25", "14:03:10:00")
    assert sound.slate == "scene 12 · take 3 · sound roll 231014" and sound.thumb is None
    assert sound.frame_label == "SOUND"
    seq = lines["A001C003"]  # 117 frames present at 24 fps; TC out over the whole range, gaps included
    assert (seq.duration, seq.tc_out, seq.files) == ("00:00:04:21", "01:00:05:00", 117)
    assert seq.frame_range == "frames 86400-86520 (117 of 121)" and seq.missing == 4
    assert seq.flagged and seq.marks == ("frames 86411, 86500-86502 missing",)
    damaged = lines["A001C002_231014_R2EC"]
    assert damaged.flagged and damaged.marks == (f"POSSIBLY DAMAGED: {DAMAGE}",) and damaged.duration is None
    assert damaged.frame_label == "NO\u00a0PICTURE"
    raw = lines["A001_C004_1014XY_001"]  # no open library reads R3D: said, never damaged
    assert not raw.flagged and raw.marks == () and raw.notes == ("metadata not read (no open library reads R3D)",)
    assert raw.codec_text == "R3D" and raw.frame_label == "NOT\u00a0DECODED"
    gone = lines["A001C006_231014_R2EC"]
    assert gone.thumb is None and gone.frame_label == "MISSING" and "thumbnail missing" in gone.notes[0]
    vertical = lines["A001C005"]
    assert vertical.thumb is not None and vertical.thumb.fit(76, 43) == (24, 43)  # inside the 16:9 frame


def test_totals_running_time_and_flagged(a001: ClipCard, catalog: Path) -> None:
    db = open_catalog(catalog)
    try:
        r = offload.build(db, a001.offload_id)
    finally:
        db.close()
    t = r.clip_table
    assert t is not None
    assert (t.count, t.not_read) == (7, 1)
    assert [c.name for c in t.flagged] == ["A001C002_231014_R2EC", "A001C003"]
    # 240 frames at 23.976 + 117 at 24 + 90 at 30 + 100 at 25 + 65.4 s of sound: mixed rates, so seconds
    assert t.seconds == pytest.approx(240 * 1001 / 24000 + 117 / 24 + 3 + 4 + 65.4)
    assert t.running_time == "00:01:27"
    assert r.verdict.safe and r.state == "verified"  # flagged clips do not change what verified means


def test_running_time_in_frames_at_one_rate(tmp_path: Path, other_volume: Path, make_card: CardBuilder,
                                            run_offload: OffloadRunner, catalog: Path) -> None:
    files = {f"B001R1AB/B001C00{i}.mov": 100 + i for i in range(1, 4)}
    (tmp_path / "d1").mkdir()
    oid, _ = run_offload(make_card(files, name="B001R1AB"), [tmp_path / "d1", other_volume])
    meta = {f"B001C00{i}": ClipMeta(codec="H.264", fps="25", frames=frames, duration=frames / 25)
            for i, frames in ((1, 250), (2, 251), (3, 2252))}
    record(catalog, oid, meta, {})
    lines = _lines(catalog, oid)
    assert [lines[n].duration for n in sorted(lines)] == ["00:00:10:00", "00:00:10:01", "00:01:30:02"]
    db = open_catalog(catalog)
    try:
        t = offload.build(db, oid).clip_table
    finally:
        db.close()
    assert t is not None and t.running_time == "00:01:50:03"  # 2,753 frames at 25


def test_offload_pdf_prints_the_clip_table_and_warns_near_the_top(a001: ClipCard, catalog: Path,
                                                                  tmp_path: Path) -> None:
    db = open_catalog(catalog)
    try:
        r = offload.build(db, a001.offload_id)
    finally:
        db.close()
    pdf = tmp_path / "a001.pdf"
    output.write(r, pdf=pdf)
    pages = pdf_pages(pdf)
    first = _flat(pages[0])
    # the clip warnings come with the verdict, before the card's details, and leave the verdict as it is
    assert "✓ VERIFIED ON 2 VOLUMES" in first and "NOT SAFE" not in first
    warn = first.index("CLIP WARNINGS (2)")
    assert first.index("VERIFIED ON 2 VOLUMES") < warn < first.index("Production and card")
    assert "the copies are verified" in first and f"A001C002_231014_R2EC: POSSIBLY DAMAGED: {DAMAGE}" in first
    assert "A001C003: frames 86411, 86500-86502 missing" in first
    text = "\n".join(pages)
    assert "Clips (7) 7 clips · running time 00:01:27 · ✗ 2 flagged · metadata not read for 1." in _flat(text)
    assert re.search(r"A001C001_231014_R2EC\s+14:03:12:05\s+14:03:22:04\s+00:00:10:00\s+ProRes 422 HQ\s+"
                     r"1920×1080\s+23\.976\s+2 ch · 48 kHz", text)
    assert re.search(r"231014_T001\s+14:03:10:00\s+14:04:15:09\s+00:01:05\s+PCM 24-bit\s+—\s+25\s+2 ch · 48", text)
    assert "kHz/24-bit" in text  # the audio cell wraps
    assert re.search(r"A001C003\s+01:00:00:00\s+01:00:05:00\s+00:00:04:21\s+DPX 10-bit\s+2048×1080\s+24", text)
    flat = _flat(text)
    assert "✗ POSSIBLY DAMAGED:" in flat and "✗ frames 86411, 86500-86502 missing" in flat
    assert "metadata not read (no open library reads R3D)" in flat
    r3d = next(line for line in text.splitlines() if "A001_C004_1014XY_001" in line)
    assert "DAMAGED" not in r3d and "R3D" in r3d
    assert re.search(r"Total\s+7 clips, 2 flagged\s+running time\s+00:01:27", text)
    for label in ("SOUND", "NO PICTURE", "NOT DECODED", "MISSING"):
        assert label in flat  # each clip without a thumbnail has a labelled frame
    # the three thumbnails are in the PDF, each as the JPEG it was made from
    found = thumbnails_on_pages(pdf, a001.thumbnails)
    assert sorted(n for names in found for n in names) == sorted(a001.thumbnails)


def test_no_clips_read_no_clip_table(tmp_path: Path, other_volume: Path, make_card: CardBuilder,
                                     run_offload: OffloadRunner, catalog: Path) -> None:
    """An offload whose clips were never read (an older catalog, clip reading off): one quiet phrase, no
    table, no warnings block, no clips CSV."""
    shot: Day = shoot_day(tmp_path, other_volume, make_card, run_offload)
    db = open_catalog(catalog)
    try:
        r = offload.build(db, shot.a001)
    finally:
        db.close()
    assert r.clip_table is None
    page = html.render(r)
    assert page.count("clip metadata not read") == 1
    assert "Clips (" not in page and "CLIP WARNINGS" not in page and "Thumbnail" not in page
    out = output.write(r, pdf=tmp_path / "a.pdf", csv=tmp_path / "a.csv")
    assert not any(p.name.endswith(".clips.csv") for p in out)
    assert "Clips 3 (clip metadata not read)" in _flat("\n".join(pdf_pages(tmp_path / "a.pdf")))


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_csv_has_the_clips_their_totals_and_warnings(a001: ClipCard, catalog: Path, tmp_path: Path) -> None:
    db = open_catalog(catalog)
    try:
        r = offload.build(db, a001.offload_id, with_files=True)
    finally:
        db.close()
    assert list(tables(r)) == ["files", "summary", "destinations", "problems", "clips"]
    output.write(r, csv=tmp_path / "a001.csv")
    rows = {c["clip"]: c for c in _csv(tmp_path / "a001.clips.csv")}
    assert len(rows) == 7
    c1 = rows["A001C001_231014_R2EC"]
    assert (c1["tc_in"], c1["tc_out"], c1["duration"], c1["fps"], c1["width"], c1["height"], c1["frames"]) == \
        ("14:03:12:05", "14:03:22:04", "00:00:10:00", "23.976", "1920", "1080", "240")
    assert float(c1["duration_s"]) == pytest.approx(10.01) and c1["flagged"] == "no"
    assert c1["thumbnail"].endswith("A001C001_231014_R2EC.jpg") and Path(c1["thumbnail"]).is_file()
    seq = rows["A001C003"]
    assert (seq["first_frame"], seq["last_frame"], seq["missing_frames"], seq["flagged"]) == \
        ("86400", "86520", "4", "yes")
    assert seq["warnings"] == "frames 86411, 86500-86502 missing"
    assert rows["A001_C004_1014XY_001"]["state"] == "not read" and rows["A001_C004_1014XY_001"]["flagged"] == "no"
    assert (rows["231014_T001"]["sample_rate"], rows["231014_T001"]["bit_depth"]) == ("48000", "24")
    summary = {x["field"]: x["value"] for x in _csv(tmp_path / "a001.summary.csv")}
    assert (summary["clips_read"], summary["clips_in_table"], summary["running_time"], summary["clips_flagged"]) == \
        ("yes", "7", "00:01:27", "2")
    problems = [(p["code"], p["path"], p["message"]) for p in _csv(tmp_path / "a001.problems.csv")
                if p["code"] == "clip_flagged"]
    assert problems == [("clip_flagged", "A001C002_231014_R2EC", f"POSSIBLY DAMAGED: {DAMAGE}"),
                        ("clip_flagged", "A001C003", "frames 86411, 86500-86502 missing")]


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_the_report_every_offload_files_has_its_clips(a001: ClipCard, catalog: Path, paper: str) -> None:
    """What an offload writes when it ends (after its clips are read): the PDF with the clip table, on the
    paper asked for, and the clips CSV beside the others."""
    db = open_catalog(catalog)
    try:
        written = output.write_offload_report(db, a001.offload_id, 2, paper=paper)
    finally:
        db.close()
    pdf = next(p for p in written if p.suffix == ".pdf")
    width, height = (round(float(x)) for x in PdfReader(pdf).pages[0].mediabox.upper_right)
    assert (width, height) == {"a4": (595, 842), "letter": (612, 792)}[paper]
    text = _flat("\n".join(pdf_pages(pdf)))
    assert "Clips (7)" in text and "CLIP WARNINGS (2)" in text
    assert "Files (" not in text  # the per-file table stays in the CSV
    clips_csv = next(p for p in written if p.name.endswith(".clips.csv"))
    assert len(_csv(clips_csv)) == 7 and len(written) == 6
    found = thumbnails_on_pages(pdf, a001.thumbnails)
    assert sorted(n for names in found for n in names) == sorted(a001.thumbnails)
