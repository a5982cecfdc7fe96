"""The reports of a cascading copy, from a real catalog made by real offloads (app.run_offload, then
app.cascade.run_stage2): stage 1 on one drive releases the card, stage 2 copies its verified copy to a second
volume. The reports are regenerated with `datawrangler report` as a DIT would, and read back (PDF text, CSV)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import threading
from pathlib import Path

from pypdf import PdfReader

from datawrangler.app.cascade import run_stage2
from datawrangler.app.offload import Observer, OffloadOutcome, run_offload
from datawrangler.app.request import OffloadRequest
from datawrangler.cli import report_cmd
from tests.conftest import CardBuilder, write_file

BAD = "A001R2EC/A001C002_231014_R2EC.mov"


def _report(catalog: Path, out: Path, *argv: str) -> tuple[str, dict[str, str], Path]:
    """`datawrangler report ... --pdf --csv --copies 2`: the PDF's text (whitespace folded), the summary
    (field -> value, for an offload report) and the CSV's path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    parser = argparse.ArgumentParser(prog="datawrangler")
    parser.add_argument("--catalog")
    report_cmd.register(parser.add_subparsers(dest="command"))
    pdf, main = out.with_suffix(".pdf"), out.with_suffix(".csv")
    args = parser.parse_args(["--catalog", str(catalog), "report", *argv, "--pdf", str(pdf), "--csv", str(main),
                              "--html", str(out.with_suffix(".html")), "--copies", "2"])
    assert int(args.func(args)) == 0
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())  # content order
    side = main.with_name(f"{main.stem}.summary.csv")  # the main table is the per-file one when it was built
    summary = {r["field"]: r["value"] for r in _rows(side)} if side.exists() else {}
    return text, summary, main


def _has(text: str, phrase: str) -> bool:
    """The phrase is in the PDF's text, whitespace aside (table cells wrap long paths anywhere)."""
    return "".join(phrase.split()) in "".join(text.split())


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _stage1(card: Path, raid: Path, shuttle: Path, catalog: Path) -> OffloadOutcome:
    request = OffloadRequest(str(card), (str(raid),), "Day01/A001", copies_required=2, report=False, clips=None,
                             stage2=(str(shuttle),))
    first = run_offload(request, catalog=catalog)
    assert first.released and not first.safe and len(first.stage2) == 1
    return first


def test_stage_one_report_says_released_until_stage_two_ends_then_lists_it(
        make_card: CardBuilder, tmp_path: Path, other_volume: Path) -> None:
    card, raid, catalog = make_card(), tmp_path / "raid", tmp_path / "catalog.db"
    raid.mkdir()
    first = _stage1(card, raid, other_volume, catalog)
    [second_id] = first.stage2
    shuttle_roll = str(other_volume / "Day01" / "A001")

    text, summary, main = _report(catalog, tmp_path / "before" / "stage1", "offload", str(first.offload_id))
    assert "RELEASED (the card may leave the reader)" in text and "NOT YET SAFE TO FORMAT" in text
    assert f"offload {first.offload_id} · stage 1 of a cascading copy" in text
    html = (tmp_path / "before" / "stage1.html").read_text(encoding="utf-8")  # the same words in the HTML
    assert "RELEASED" in html and "NOT YET SAFE TO FORMAT" in html and f"stage2 run {second_id}" in html
    assert _has(text, f"offload {second_id} to {shuttle_roll} (queued, 0 of 4 files verified)")
    assert "VERIFIED ON" not in text
    assert summary["verdict"] == "RELEASED · NOT YET SAFE TO FORMAT" and summary["safe_to_format"] == "no"
    assert summary["released"] == "yes" and summary["stage2_waiting"] == str(second_id)
    assert f"'datawrangler stage2 run {second_id}'" in text
    [row] = _rows(main.with_name("stage1.stage2.csv"))
    assert (row["offload"], row["state"], row["destinations"], row["files_verified"]) == (
        str(second_id), "queued", shuttle_roll, "0")

    second = run_stage2(second_id, catalog=catalog, report=False)
    assert second.safe

    text, summary, main = _report(catalog, tmp_path / "after" / "stage1", "offload", str(first.offload_id))
    assert "RELEASED (the card" not in text and "NOT YET SAFE" not in text
    assert "VERIFIED ON 2 VOLUMES" in text
    assert "Stage 2 (copies made from this offload's verified copies)" in text
    assert _has(text, f"{second_id} {shuttle_roll} {raid / 'Day01' / 'A001'} verified 4 of 4")
    assert summary["verdict"] == "VERIFIED ON 2 VOLUMES" and summary["stage2_waiting"] == ""
    [row] = _rows(main.with_name("stage1.stage2.csv"))
    assert (row["state"], row["files"], row["files_verified"], row["files_failed"]) == ("verified", "4", "4", "0")


def test_stage_two_report_says_what_it_was_made_from(make_card: CardBuilder, tmp_path: Path,
                                                     other_volume: Path) -> None:
    card, raid, catalog = make_card(), tmp_path / "raid", tmp_path / "catalog.db"
    raid.mkdir()
    first = _stage1(card, raid, other_volume, catalog)
    second = run_stage2(first.stage2[0], catalog=catalog, report=False)
    stage1_roll = raid / "Day01" / "A001"

    text, summary, _ = _report(catalog, tmp_path / "out" / "stage2", "offload", str(second.offload_id))
    volume = summary["made_from_volume"]  # its label, else its mount point
    on = f"the drive mounted at {volume}" if volume.startswith("/") else volume
    assert _has(text, f"Stage 2 of offload {first.offload_id}: copied from the verified stage-1 copy at {stage1_roll}"
                f" on {on}, each file checked against the card's hashes.")
    assert _has(text, f"Copied from {stage1_roll}")
    assert f"offload {second.offload_id} · stage 2 of offload {first.offload_id}" in text
    assert summary["stage"] == "2" and summary["stage1_offload"] == str(first.offload_id)
    assert summary["made_from"] == str(stage1_roll) and summary["made_from_volume"]
    assert "VERIFIED ON 2 VOLUMES" in text


def test_stage_two_report_lists_files_that_no_longer_match_the_card(make_card: CardBuilder, tmp_path: Path,
                                                                   other_volume: Path) -> None:
    card, raid, catalog = make_card(), tmp_path / "raid", tmp_path / "catalog.db"
    raid.mkdir()
    first = _stage1(card, raid, other_volume, catalog)
    bad = raid / "Day01" / "A001" / BAD
    data = bytearray(bad.read_bytes())
    data[1000] ^= 0xFF  # the fast drive's copy changed after stage 1 verified it (same size and time)
    st = bad.stat()
    bad.write_bytes(bytes(data))
    os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns))
    second = run_stage2(first.stage2[0], catalog=catalog, report=False)
    assert not second.safe

    text, summary, main = _report(catalog, tmp_path / "out" / "stage2", "offload", str(second.offload_id))
    assert "Failures (1)" in text and _has(text, "stage_source_mismatch") and _has(text, "Copy it again from the card")
    assert "NOT SAFE TO FORMAT" in text
    failures = [r for r in _rows(main.with_name("stage2.problems.csv")) if r["kind"] == "failure"]
    assert [(r["path"], r["code"]) for r in failures] == [(BAD, "stage_source_mismatch")]

    # stage 1's report, regenerated: stage 2 ended with a failure, so no RELEASED box, the card not safe
    text, summary, main = _report(catalog, tmp_path / "out" / "stage1", "offload", str(first.offload_id))
    assert "NOT YET SAFE" not in text and "NOT SAFE TO FORMAT" in text and summary["safe_to_format"] == "no"
    assert _has(text, f"Stage 2 offload {second.offload_id} ended completed with errors (1 of 4 files failed)")
    assert _has(text, "1 file on the stage-1 copy no longer matches the card: copy it again from the card, and do "
                "not format the card.")
    assert _has(text, "verified: 4 ok; 1 found changed since (no longer matches the card; not counted)")
    [row] = _rows(main.with_name("stage1.stage2.csv"))
    assert (row["state"], row["files_verified"], row["files_failed"], row["files_stage1_mismatch"]) == (
        "completed with errors", "3", "1", "1")
    [d1] = _rows(main.with_name("stage1.destinations.csv"))
    assert (d1["copies_verified"], d1["copies_changed_since"]) == ("3", "1")


def test_redundancy_report_says_what_each_drive_copy_was_made_from(make_card: CardBuilder, tmp_path: Path,
                                                                   other_volume: Path) -> None:
    card, raid, catalog = make_card(), tmp_path / "raid", tmp_path / "catalog.db"
    raid.mkdir()
    first = _stage1(card, raid, other_volume, catalog)
    text, _, main = _report(catalog, tmp_path / "before" / "red", "redundancy")
    [row] = _rows(main)  # short until stage 2 ends, and says why
    assert (row["safe_to_format"], row["stage2_not_ended"]) == ("no", f"{first.stage2[0]}:queued")
    assert _has(text, f"A001: stage 2 has not ended (offload {first.stage2[0]} queued): its copies count when it is "
                "verified.")
    second = run_stage2(first.stage2[0], catalog=catalog, report=False)

    text, _, main = _report(catalog, tmp_path / "out" / "red", "redundancy")
    [row] = _rows(main)
    assert (row["safe_to_format"], row["stage2_not_ended"]) == ("yes", "")
    stage1_roll = raid / "Day01" / "A001"
    made = {r["made_from"] for r in _rows(main.with_name("red.drives.csv"))}
    assert f"the card (offload {first.offload_id})" in made
    [copied] = [m for m in made if m.startswith("stage-1 copy")]
    assert copied.startswith(f"stage-1 copy {stage1_roll} on ")
    assert copied.endswith(f"(stage 2 offload {second.offload_id} of offload {first.offload_id})")
    assert f"the card (offload {first.offload_id})" in text
    assert _has(text, f"{copied} safe to format")


def test_day_report_has_one_row_per_card_with_its_stage_two(make_card: CardBuilder, tmp_path: Path,
                                                            other_volume: Path) -> None:
    card, raid, catalog = make_card(), tmp_path / "raid", tmp_path / "catalog.db"
    raid.mkdir()
    first = _stage1(card, raid, other_volume, catalog)
    day = dt.date.today().isoformat()

    text, _, main = _report(catalog, tmp_path / "before" / "day", "day", day)
    [row] = _rows(main)  # the card once, by the offload that read it (not its queued stage 2)
    assert (row["offload"], row["safe_to_format"], row["released"]) == (str(first.offload_id), "no", "yes")
    assert row["stage2"] == f"stage 2: offload {first.stage2[0]} queued"
    assert _has(text, f"NO {first.offload_id} verified, card released; stage 2: offload {first.stage2[0]} queued")
    assert _has(text, f"A001: released (stage 1 verified), not yet safe to format: stage 2: offload {first.stage2[0]}"
                " queued.")

    second = run_stage2(first.stage2[0], catalog=catalog, report=False)
    text, _, main = _report(catalog, tmp_path / "after" / "day", "day", day)
    [row] = _rows(main)
    assert (row["offload"], row["safe_to_format"]) == (str(first.offload_id), "yes")
    assert row["stage2"] == f"stage 2: offload {second.offload_id} verified"
    drives = _rows(main.with_name("day.drives.csv"))  # the stage-1 drive and the stage-2 drive
    assert len(drives) == 2 and all(d["copies_verified"] == "4" for d in drives)


def test_stage_one_report_while_stage_two_runs_says_released_and_names_it_running(
        make_card: CardBuilder, tmp_path: Path, other_volume: Path) -> None:
    card, raid, catalog = make_card(), tmp_path / "raid", tmp_path / "catalog.db"
    raid.mkdir()
    first = _stage1(card, raid, other_volume, catalog)
    started, go = threading.Event(), threading.Event()

    def hold(_: object) -> None:  # stage 2 has started (its row says running) and copies nothing yet
        started.set()
        assert go.wait(30)

    outcome: list[OffloadOutcome] = []
    worker = threading.Thread(target=lambda: outcome.append(
        run_stage2(first.stage2[0], catalog=catalog, observer=Observer(started=hold), report=False)))
    worker.start()
    try:
        assert started.wait(30)
        text, summary, _ = _report(catalog, tmp_path / "during" / "stage1", "offload", str(first.offload_id))
    finally:
        go.set()
        worker.join(60)
    assert "RELEASED (the card may leave the reader)" in text and "NOT YET SAFE TO FORMAT" in text
    assert _has(text, f"offload {first.stage2[0]} to {other_volume / 'Day01' / 'A001'} (running, 0 of 4 files "
                "verified)")
    assert summary["stage2_waiting"] == str(first.stage2[0])
    assert outcome and outcome[0].safe  # and it ended verified once let go


def test_stage_two_report_warns_of_a_copy_on_the_drive_it_was_made_from(make_card: CardBuilder,
                                                                        tmp_path: Path) -> None:
    card, raid, shuttle, catalog = make_card(), tmp_path / "raid", tmp_path / "shuttle", tmp_path / "catalog.db"
    raid.mkdir()
    shuttle.mkdir()  # a folder beside the stage-1 copy: the same physical drive
    first = _stage1(card, raid, shuttle, catalog)
    second = run_stage2(first.stage2[0], catalog=catalog, report=False)
    assert not second.safe

    text, _, main = _report(catalog, tmp_path / "out" / "stage2", "offload", str(second.offload_id))
    assert _has(text, f"D1 is on the same drive as the stage-1 copy it was made from ({raid / 'Day01' / 'A001'}): "
                "it adds no copy on a drive of its own.")
    warnings = [r for r in _rows(main.with_name("stage2.problems.csv")) if r["code"] == "same_drive_as_source"]
    assert [w["where"] for w in warnings] == ["D1"]


def test_the_report_stage_one_files_as_it_ends_says_released(make_card: CardBuilder, tmp_path: Path,
                                                             other_volume: Path) -> None:
    """The report every offload files when it ends (report=True), not one regenerated later: written as stage 1
    ends verified, when stage 2 may not be queued yet."""
    card, raid, catalog = make_card(), tmp_path / "raid", tmp_path / "catalog.db"
    raid.mkdir()
    request = OffloadRequest(str(card), (str(raid),), "Day01/A001", copies_required=2, clips=None,
                             stage2=(str(other_volume),))
    first = run_offload(request, catalog=catalog)
    [pdf] = [Path(p) for p in first.reports_written if p.endswith(".pdf")]
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    assert "RELEASED (the card may leave the reader)" in text and "NOT YET SAFE TO FORMAT" in text
    assert "did not end verified" not in text
    assert _has(text, "Do not format the card until stage 2 has verified its copies: ")
    assert _has(text, f"{other_volume / 'Day01' / 'A001'}")


def test_stage_one_that_did_not_end_verified_is_not_released(make_card: CardBuilder, tmp_path: Path,
                                                             other_volume: Path) -> None:
    card, raid, catalog = make_card(), tmp_path / "raid", tmp_path / "catalog.db"
    write_file(raid / "Day01" / "A001" / BAD, 99, seed=4242)  # a different file already there: never overwritten
    request = OffloadRequest(str(card), (str(raid),), "Day01/A001", copies_required=2, report=False, clips=None,
                             stage2=(str(other_volume),))
    first = run_offload(request, catalog=catalog)
    assert not first.released and first.stage2 == ()

    text, summary, _ = _report(catalog, tmp_path / "out" / "stage1", "offload", str(first.offload_id))
    assert "RELEASED" not in text and "NOT SAFE TO FORMAT" in text
    assert _has(text, f"Stage 2 was asked for ({other_volume / 'Day01' / 'A001'}) and was not queued: stage 1 did not"
                f" end verified. Resume or repeat stage 1 ('datawrangler resume {first.offload_id}').")
    assert (summary["released"], summary["stage2_asked"]) == ("no", str(other_volume / "Day01" / "A001"))
