"""Cascading copy through the application layer: stage 1 from the card, the card released, stage 2 from a
verified stage-1 copy checked against the card's hashes, safe to format only once stage 2 is verified."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler import platform
from datawrangler.app.cascade import pending_stage2, run_stage2
from datawrangler.app.drives import drives_of
from datawrangler.app.offload import Observer, open_db, run_offload
from datawrangler.app.request import OffloadRequest, resume_request
from datawrangler.config import Settings
from datawrangler.core import cards
from datawrangler.core.errors import Code
from datawrangler.core.events import OffloadState, VerifyMode
from datawrangler.core.scan import scan_source
from datawrangler.handoff.writer import HandoffOptions
from datawrangler.store import cascade, resume
from datawrangler.store.cards import find_known
from datawrangler.store.db import CatalogError


def _request(card: Path, stage1: Path, stage2: list[Path], required: int = 1) -> OffloadRequest:
    return OffloadRequest(str(card), (str(stage1),), "Day01/A001", copies_required=required, report=False,
                          clips=None, stage2=tuple(map(str, stage2)))


def _folders(make_card: Callable, tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """A card, a 'RAID' and a 'shuttle' folder, and the catalog's path."""
    raid, shuttle = tmp_path / "raid", tmp_path / "shuttle"
    raid.mkdir()
    shuttle.mkdir()
    return make_card(), raid, shuttle, tmp_path / "catalog.db"


def test_stage_one_releases_the_card_and_stage_two_copies_the_verified_copy(make_card: Callable, tmp_path: Path,
                                                                           ) -> None:
    card, raid, shuttle, catalog = _folders(make_card, tmp_path)
    first = run_offload(_request(card, raid, [shuttle]), catalog=catalog)
    assert first.result.state is OffloadState.VERIFIED
    assert first.released and len(first.stage2) == 1
    assert not (shuttle / "Day01").exists()  # nothing is written on stage 2 before it runs
    [job] = pending_stage2(catalog)
    assert job.offload_id == first.stage2[0] and job.state == "queued" and job.cascade_of == first.offload_id
    assert job.source == str(raid / "Day01" / "A001") and job.destinations == (str(shuttle / "Day01" / "A001"),)

    second = run_stage2(job.offload_id, catalog=catalog)
    assert second.result.state is OffloadState.VERIFIED and second.stage == 2
    assert second.cascade_of == first.offload_id and second.card_id == first.card_id
    for f in card.rglob("*"):
        if f.is_file():
            rel = f.relative_to(card)
            assert (shuttle / "Day01" / "A001" / rel).read_bytes() == f.read_bytes()
    assert pending_stage2(catalog) == []
    db = open_db(catalog)
    try:  # the card's last offload is the one that read it, not its stage-2 copy
        scan = scan_source(card)
        known = find_known(db, cards.fingerprint(scan), "A001R2EC", scan.files)
        assert known is not None and known.exact and known.last_offload_id == first.offload_id
        row = db.conn.execute("SELECT stage, cascade_of, made_from, state FROM offloads WHERE id = ?",
                              (second.offload_id,)).fetchone()
        stage1_dest = db.conn.execute("SELECT id FROM destinations WHERE offload_id = ?",
                                      (first.offload_id,)).fetchone()[0]
        assert row == (2, first.offload_id, stage1_dest, "verified")
        assert cascade.released_at(db, first.offload_id) is not None
        # the stage-1 roll's ASC MHL history continues on the stage-2 roll: its first generation, then stage 2's
        chain = (shuttle / "Day01" / "A001" / "ascmhl" / "ascmhl_chain.xml").read_text()
        assert chain.count("<hashlist ") == 2
    finally:
        db.close()


def test_a_stage_one_copy_that_no_longer_matches_the_card_fails_in_stage_two(make_card: Callable,
                                                                             tmp_path: Path) -> None:
    card, raid, shuttle, catalog = _folders(make_card, tmp_path)
    first = run_offload(_request(card, raid, [shuttle]), catalog=catalog)
    bad = raid / "Day01" / "A001" / "A001R2EC" / "A001C002_231014_R2EC.mov"
    data = bytearray(bad.read_bytes())
    data[1000] ^= 0xFF  # bit rot on the fast drive after stage 1 verified it
    st = bad.stat()
    bad.write_bytes(bytes(data))
    os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns))
    second = run_stage2(first.stage2[0], catalog=catalog)
    assert second.result.state is OffloadState.COMPLETED_WITH_ERRORS
    [failed] = [f for f in second.result.failures if f.rel_path.endswith("C002_231014_R2EC.mov")]
    assert failed.code is Code.STAGE_SOURCE_MISMATCH and "Copy it again from the card" in failed.message
    assert not (shuttle / "Day01" / "A001" / "A001R2EC" / "A001C002_231014_R2EC.mov").exists()
    assert (shuttle / "Day01" / "A001" / "A001R2EC" / "A001C001_231014_R2EC.mov").exists()
    db = open_db(catalog)
    try:
        states = dict(db.conn.execute(
            "SELECT f.rel_path, c.state FROM copies c JOIN files f ON f.id = c.file_id WHERE f.offload_id = ?",
            (second.offload_id,)).fetchall())
        assert states["A001R2EC/A001C002_231014_R2EC.mov"] == "failed"
        assert states["A001R2EC/A001C001_231014_R2EC.mov"] == "verified"
        # the stage-1 copy found different no longer counts: with one copy required the card was safe after
        # stage 1, and is not any more
        stage1 = db.conn.execute(
            "SELECT c.state, c.code FROM copies c JOIN files f ON f.id = c.file_id WHERE f.offload_id = ? AND"
            " f.rel_path = 'A001R2EC/A001C002_231014_R2EC.mov'", (first.offload_id,)).fetchone()
        assert stage1 == ("changed", "stage_source_mismatch")
        assert first.safe and not second.safe
        assert any("A001C002_231014_R2EC.mov" in r and "Copy it again from the card" in r
                   for r in second.reasons), second.reasons
        assert len(second.reasons) == 1, second.reasons  # said once, not also as 'fewer copies'
    finally:
        db.close()


def test_a_stage_two_offload_resumes_through_run_offload(make_card: Callable, tmp_path: Path) -> None:
    card, raid, shuttle, catalog = _folders(make_card, tmp_path)
    first = run_offload(_request(card, raid, [shuttle]), catalog=catalog)
    out = run_offload(resume_request(first.stage2[0], str(raid), Settings()), catalog=catalog)
    assert out.stage == 2 and out.result.state is OffloadState.VERIFIED
    assert (shuttle / "Day01" / "A001" / "ascmhl" / "ascmhl_chain.xml").is_file()


@pytest.mark.root
def test_safe_to_format_only_once_stage_two_is_verified(make_card: Callable, tmp_path: Path,
                                                        raid_and_shuttle: tuple[Path, Path]) -> None:
    card = make_card()
    raid, shuttle = raid_and_shuttle
    catalog = tmp_path / "catalog.db"
    first = run_offload(_request(card, raid, [shuttle], required=2), catalog=catalog)
    assert first.released and not first.safe and first.copies == 1
    second = run_stage2(first.stage2[0], catalog=catalog, copies_required=2)
    assert second.safe and second.copies == 2


def test_a_stage_two_copy_runs_in_one_process_at_a_time(make_card: Callable, tmp_path: Path) -> None:
    """The window and `datawrangler stage2 run` asked for the same stage-2 copy: the second is refused,
    naming the first, and the copy (its catalog row) is neither lost nor marked interrupted under it."""
    card, raid, shuttle, catalog = _folders(make_card, tmp_path)
    first = run_offload(_request(card, raid, [shuttle]), catalog=catalog)
    started, go = threading.Event(), threading.Event()

    def hold(_: object) -> None:
        started.set()
        assert go.wait(30)

    outcome: list = []
    worker = threading.Thread(target=lambda: outcome.append(
        run_stage2(first.stage2[0], catalog=catalog, observer=Observer(started=hold), report=False)))
    worker.start()
    try:
        assert started.wait(30)
        with pytest.raises(CatalogError, match="is still running"):
            run_stage2(first.stage2[0], catalog=catalog)
        db = open_db(catalog)
        try:
            assert db.conn.execute("SELECT state FROM offloads WHERE id = ?", (first.stage2[0],)).fetchone() == (
                "running",)
        finally:
            db.close()
    finally:
        go.set()
        worker.join(60)
    assert outcome and outcome[0].result.state is OffloadState.VERIFIED


def test_stage_two_is_judged_and_written_as_its_stage_one_asked(make_card: Callable, tmp_path: Path) -> None:
    """Whoever runs the stage-2 copy later (the CLI's 'stage2 run' without a preset, a resume), its verdict
    counts the copies stage 1 required and it writes the handoff files stage 1 asked for; and its preflight
    warning names the stage-1 copy, not the card."""
    card, raid, shuttle, catalog = _folders(make_card, tmp_path)
    req = dataclasses.replace(_request(card, raid, [shuttle], required=3),
                              handoff=HandoffOptions(checksum_lists=("md5",)), algorithms=("xxh64", "md5"))
    first = run_offload(req, catalog=catalog)
    said: list[str] = []
    second = run_offload(resume_request(first.stage2[0], "", Settings()), catalog=catalog,
                         observer=Observer(notice=lambda n: said.append(n.message)))
    assert second.stage == 2 and second.copies_required == 3
    roll = shuttle / "Day01" / "A001"
    assert [p.name for p in roll.iterdir() if p.name.endswith(".md5")], list(roll.iterdir())
    assert any("same drive as the stage-1 copy it is made from" in m for m in said), said
    assert not any("same drive as the card" in m for m in said), said


def test_the_queued_stage_two_plan_reads_the_stage_one_copy_uncached_once(make_card: Callable, tmp_path: Path) -> None:
    card, raid, shuttle, catalog = _folders(make_card, tmp_path)
    first = run_offload(_request(card, raid, [shuttle]), catalog=catalog)
    db = open_db(catalog)
    try:
        plan = resume.plan_of(db, first.stage2[0])
    finally:
        db.close()
    assert plan is not None and plan.source_uncached and plan.verify_mode is VerifyMode.DESTINATIONS
    assert plan.source == str(raid / "Day01" / "A001")


@pytest.mark.root
def test_a_queued_stage_two_copy_holds_the_drive_it_writes_not_the_one_it_reads(
        make_card: Callable, tmp_path: Path, raid_and_shuttle: tuple[Path, Path]) -> None:
    """Before it runs, its roll folders do not exist yet: its drives are still those folders' drives (two
    stage-2 copies to one shuttle wait for each other), and never the stage-1 drive the next card writes."""
    card = make_card()
    raid, shuttle = raid_and_shuttle
    catalog = tmp_path / "catalog.db"
    first = run_offload(_request(card, raid, [shuttle], required=2), catalog=catalog)
    assert not (shuttle / "Day01").exists()
    held = drives_of(resume_request(first.stage2[0], "", Settings()), catalog)
    assert held == {platform.physical_volume(str(shuttle))}
    assert platform.physical_volume(str(raid)) not in held
