"""The Recorder on both backends: its batched writes leave, in a catalog on PostgreSQL as in an SQLite file,
exactly the rows that one statement per file and destination leaves in an SQLite file (the reference of
tests/store/test_recorder.py). Rows are compared by what names them (path, destination index), not by id:
PostgreSQL's sequences skip the values an upsert took, SQLite's rowids do not."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from datawrangler.core.cards import fingerprint
from datawrangler.core.errors import Code
from datawrangler.core.events import CopyResult, CopyState, FileResult, FileStatus, VerifyMode
from datawrangler.core.medium.fs import read_back
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import ScanResult, SourceFile
from datawrangler.store import history, resume
from datawrangler.store.catalog import Catalog
from datawrangler.store.db import CatalogError, open_catalog
from datawrangler.store.history import Filters
from datawrangler.store.location import open_location
from datawrangler.store.offloads import OffloadMeta, OffloadRecord, begin_offload
from datawrangler.store.reads_verify import imported_rolls
from datawrangler.store.recorder import Recorder
from datawrangler.store.reverify import reverify
from tests.store.test_recorder import NOW, _reference, _result, _results

N = 120


def _begin(location: str | os.PathLike[str], tmp: Path) -> tuple[OffloadRecord, ScanResult]:
    """A real offload record (store.offloads.begin_offload) in the catalog at location, for a card of N files."""
    for d in ("card", "d1", "d2"):
        (tmp / d).mkdir(parents=True, exist_ok=True)
    files = [SourceFile(f"CLIPS/F{i:04d}.mov", 1000 + i, 1_697_000_000_000_000_000 + i) for i in range(N)]
    scan = ScanResult(str(tmp / "card"), files, [], [], sum(f.size for f in files))
    plan = OffloadPlan.create(tmp / "card", [tmp / "d1", tmp / "d2"])
    db = open_location(location)
    try:
        return begin_offload(db, plan, scan, fingerprint(scan), OffloadMeta(reel="A001")), scan
    finally:
        db.close()


def _dump(db: Catalog) -> dict[str, list[tuple]]:
    """Every row the Recorder writes or changes, as plain values keyed by path and destination index."""
    joins = "JOIN files f ON f.id = c.file_id JOIN destinations d ON d.id = c.destination_id"
    queries = {
        "files": "SELECT rel_path, size, mtime_ns, digests, status, code, message, source_reverified FROM files"
                 " ORDER BY rel_path",
        "copies": f"SELECT f.rel_path, d.idx, c.state, c.digests, c.code, c.message, c.already_present, c.attempts,"
                  f" c.verified_at, c.cache_bypassed FROM copies c {joins} ORDER BY f.rel_path, d.idx",
        "verifications": "SELECT f.rel_path, d.idx, v.at, v.method, v.cache_bypassed, v.digests, v.result, v.code,"
                         f" v.message FROM verifications v JOIN copies c ON c.id = v.copy_id {joins}"
                         " ORDER BY f.rel_path, d.idx, v.id",
        "offloads": "SELECT state, message, ended_at, files_verified, files_failed, files_skipped FROM offloads",
        "destinations": "SELECT idx, state, files_ok, files_failed, code, message FROM destinations ORDER BY idx",
        "events": "SELECT kind, code, message, data FROM events WHERE kind != 'started' ORDER BY id",
    }
    return {name: [tuple(r) for r in db.run(sql)] for name, sql in queries.items()}


def _dump_at(location: str | os.PathLike[str]) -> dict[str, list[tuple]]:
    db = open_location(location)
    try:
        return _dump(db)
    finally:
        db.close()


@pytest.mark.parametrize("batch_files", [1, 7, 2000])
def test_recorded_rows_equal_the_reference_on_each_backend(catalog_location: str, tmp_path: Path,
                                                          batch_files: int) -> None:
    record, scan = _begin(catalog_location, tmp_path / "new")
    ref = tmp_path / "ref" / "catalog.sqlite"
    ref.parent.mkdir()
    ref_record, _ = _begin(ref, tmp_path / "ref")
    results = _results(scan)
    carried = [("carried", f.rel_path, "verified earlier: not copied again") for f in scan.files[-10:]]
    rec = Recorder(catalog_location, record, VerifyMode.FULL, batch_files=batch_files, clock=lambda: NOW)
    rec.start()
    for r in results:
        rec.on_file(r)
    for c in carried:
        rec.carried(c[1], c[2])
    rec.finish(_result(scan))
    _reference(ref, ref_record, [*results, *carried], _result(scan), None)
    got, want = _dump_at(catalog_location), _dump_at(ref)
    for table in want:
        assert got[table] == want[table], table
    assert rec.files_recorded == len(results)
    assert len(got["verifications"]) == sum(len(r.copies) for r in results)
    assert {row[4] for row in got["files"]} == {"verified", "failed", "copied"}  # carried ones verified too


def test_close_with_a_state_records_it_on_each_backend(catalog_location: str, tmp_path: Path) -> None:
    record, scan = _begin(catalog_location, tmp_path / "new")
    ref = tmp_path / "ref" / "catalog.sqlite"
    ref.parent.mkdir()
    ref_record, _ = _begin(ref, tmp_path / "ref")
    results = _results(scan)
    rec = Recorder(catalog_location, record, VerifyMode.FULL, batch_files=25, clock=lambda: NOW)
    rec.start()
    for r in results:
        rec.on_file(r)
    rec.close("interrupted", "The offload stopped: boom.")
    items: list[object] = [*results]
    _reference(ref, ref_record, items, None, ("interrupted", "The offload stopped: boom."))
    got = _dump_at(catalog_location)
    assert got == _dump_at(ref)
    assert got["offloads"][0][:2] == ("interrupted", "The offload stopped: boom.")


def test_a_catalog_that_fails_raises_at_finish_and_keeps_nothing_of_the_batch(catalog_location: str,
                                                                               tmp_path: Path) -> None:
    record, scan = _begin(catalog_location, tmp_path)
    bad = OffloadRecord(record.offload_id, record.uuid, ())  # no destination ids: every copy fails to map
    rec = Recorder(catalog_location, bad, VerifyMode.FULL, batch_files=1, batch_seconds=0.01)
    rec.start()
    for r in _results(scan):
        rec.on_file(r)
    with pytest.raises(CatalogError, match="could not record the offload") as caught:
        rec.finish(_result(scan))
    assert "postgresql://" not in str(caught.value) or ":" + "***" not in str(caught.value)
    got = _dump_at(catalog_location)
    assert got["copies"] == [] and got["verifications"] == []
    assert {row[4] for row in got["files"]} == {"pending"}  # the failed batch left nothing behind


def test_staging_tables_are_emptied_between_batches_on_each_backend(catalog_location: str, tmp_path: Path) -> None:
    """Two batches on one writer connection: the second's upsert must not see the first's staged rows again
    (it would add their verifications twice)."""
    record, scan = _begin(catalog_location, tmp_path)
    ok = [r for r in _results(scan) if r.status is FileStatus.VERIFIED][:20]
    rec = Recorder(catalog_location, record, VerifyMode.FULL, batch_files=10, clock=lambda: NOW)
    rec.start()
    for upto in (10, 20):  # the second ten only once the first are committed: two batches
        for r in ok[upto - 10:upto]:
            rec.on_file(r)
        deadline = time.monotonic() + 10.0
        while rec.files_recorded < upto and time.monotonic() < deadline:
            time.sleep(0.01)
    rec.close()
    got = _dump_at(catalog_location)
    assert rec.batches == 2
    assert len(got["verifications"]) == sum(len(r.copies) for r in ok)


def test_a_sqlite_url_and_a_path_name_the_same_file(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.sqlite"
    record, scan = _begin(catalog, tmp_path)
    first = _results(scan)[0]
    for location in (f"sqlite:///{catalog}", catalog):
        rec = Recorder(location, record, VerifyMode.FULL, clock=lambda: NOW)
        assert rec.path == catalog and rec.shown == str(catalog)
        rec.start()
        rec.on_file(first)
        rec.close()
    db = open_catalog(catalog)
    try:
        assert db.value("SELECT COUNT(*) FROM verifications") == 2 * len(first.copies)
        assert db.value("SELECT status FROM files WHERE rel_path = ?", (first.rel_path,)) == "verified"
    finally:
        db.close()


# -- what reads the recorded rows back: history, resume, reverify, reads_verify, on both backends

def _offload_on_disk(location: str, tmp: Path) -> tuple[OffloadPlan, OffloadRecord, list[FileResult]]:
    """Four real files copied to two roll folders and recorded by the Recorder: F0, F2, F3 verified on both,
    F1 verified on the first and failed on the second."""
    card = tmp / "card"
    card.mkdir(parents=True)
    for d in ("d1", "d2"):
        (tmp / d).mkdir()
    files = []
    for i in range(4):
        path = card / f"CLIPS/F{i}.mov"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(bytes([i]) * (4096 + i))
        st = path.stat()
        files.append(SourceFile(f"CLIPS/F{i}.mov", st.st_size, st.st_mtime_ns))
    scan = ScanResult(str(card), files, [], [], sum(f.size for f in files))
    plan = OffloadPlan.create(card, [tmp / "d1", tmp / "d2"])
    buf = bytearray(1 << 16)
    results = []
    for i, f in enumerate(files):
        dig = read_back(str(card / f.rel_path), ["xxh64"], buf).digests
        for roll in plan.destinations:
            Path(roll, "CLIPS").mkdir(parents=True, exist_ok=True)
            shutil.copy2(card / f.rel_path, Path(roll) / f.rel_path)
        second = (CopyResult(1, CopyState.FAILED, Code.VERIFY_MISMATCH, "read back differs", attempts=3) if i == 1
                  else CopyResult(1, CopyState.VERIFIED, digests=dig, cache_bypassed=True, verified_at=NOW))
        copies = (CopyResult(0, CopyState.VERIFIED, digests=dig, cache_bypassed=True, verified_at=NOW), second)
        results.append(FileResult(f.rel_path, f.size, f.mtime_ns,
                                  FileStatus.FAILED if i == 1 else FileStatus.VERIFIED, dig, copies))
    db = open_location(location)
    try:
        record = begin_offload(db, plan, scan, fingerprint(scan), OffloadMeta(reel="A001", project="Night Shoot"))
    finally:
        db.close()
    rec = Recorder(location, record, VerifyMode.FULL, clock=lambda: NOW)
    rec.start()
    for r in results:
        rec.on_file(r)
    rec.finish(_result(scan))
    return plan, record, results


def test_history_finds_offloads_and_cards_case_blind_on_each_backend(catalog_location: str, tmp_path: Path) -> None:
    plan, record, _ = _offload_on_disk(catalog_location, tmp_path)
    db = open_location(catalog_location)
    try:
        oid = record.offload_id
        for f in (Filters(reel="a00"), Filters(text="night"), Filters(project="NIGHT"), Filters(volume="D2/CARD"),
                  Filters(state="completed with errors")):
            found = history.offloads(db, f)
            assert [o["id"] for o in found] == [oid], f
            assert [d["path"] for d in found[0]["destinations"]] == list(plan.destinations)
        for f in (Filters(reel="B"), Filters(volume="d3"), Filters(since="2999-01-01")):
            assert history.offloads(db, f) == [], f
        one = history.offload(db, oid)
        assert one is not None and one["reel"] == "A001" and one["files_total"] == 4
        card_id = one["card_id"]
        fp = db.value("SELECT fingerprint FROM cards WHERE id = :id", {"id": card_id})
        assert [history.find_card(db, t) for t in (f"card:{card_id}", fp[:8].upper(), "A001", "Z999")] == [
            card_id, card_id, card_id, None]
        card = history.card(db, card_id)
        assert card is not None and [o["id"] for o in card["offloads"]] == [oid]
    finally:
        db.close()


def test_resume_reads_what_was_recorded_on_each_backend(catalog_location: str, tmp_path: Path) -> None:
    plan, record, results = _offload_on_disk(catalog_location, tmp_path)
    db = open_location(catalog_location)
    try:
        oid = record.offload_id
        want = {(r.rel_path, r.size, r.mtime_ns): ({0} if r.status is FileStatus.FAILED else {0, 1})
                for r in results}
        assert resume.verified_pairs(db, plan.destinations, [oid]) == want
        assert resume.verified_pairs(db, plan.destinations, [oid + 1000]) == {}
        assert resume.verified_pairs(db, plan.destinations[1:], [oid]) == {
            k: {0} for k, v in want.items() if v == {0, 1}}
        held = resume.load(db, oid)
        assert (held.offload_id, held.state, held.plan.destinations) == (oid, "completed with errors",
                                                                          plan.destinations)
        assert held.pairs(db) == want
        got_plan = resume.plan_of(db, oid)
        assert got_plan is not None and got_plan.destinations == plan.destinations
        assert resume.plan_of(db, oid + 1000) is None
        assert resume.handoff_missing(db, oid) == sorted(plan.destinations)  # no ASC MHL written in either
        with pytest.raises(CatalogError, match="no offload"):
            resume.load(db, oid + 1000)
    finally:
        db.close()


def test_reverify_records_what_it_reads_on_each_backend(catalog_location: str, tmp_path: Path) -> None:
    plan, _, _ = _offload_on_disk(catalog_location, tmp_path)
    d1, d2 = (Path(p) for p in plan.destinations)
    (d2 / "CLIPS/F2.mov").write_bytes(b"x" * 4098)  # same size, other bytes
    (d1 / "CLIPS/F3.mov").unlink()
    db = open_location(catalog_location)
    try:
        heard: list[tuple[str, str]] = []
        report = reverify(db, str(tmp_path), on_file=lambda p, r: heard.append((os.path.basename(p), r)))
        assert (report.checked, report.verified) == (7, 5)  # F1's failed copy on d2 is not one to re-read
        assert report.changed == [str(d2 / "CLIPS/F2.mov")] and report.missing == [str(d1 / "CLIPS/F3.mov")]
        assert len(heard) == 7
        states = {(r[0], r[1]): r[2] for r in db.run(
            "SELECT d.idx, f.rel_path, c.state FROM copies c JOIN files f ON f.id = c.file_id"
            " JOIN destinations d ON d.id = c.destination_id")}
        assert states[(1, "CLIPS/F2.mov")] == "changed" and states[(0, "CLIPS/F3.mov")] == "missing"
        assert states[(0, "CLIPS/F0.mov")] == "verified" and states[(1, "CLIPS/F1.mov")] == "failed"
        assert db.value("SELECT COUNT(*) FROM verifications WHERE method = 'reverify'") == 7
        assert db.value("SELECT COUNT(*) FROM events WHERE kind = 'reverify'") == 1
    finally:
        db.close()


def test_imported_rolls_on_each_backend(catalog_location: str, tmp_path: Path) -> None:
    plan, record, _ = _offload_on_disk(catalog_location, tmp_path)
    db = open_location(catalog_location)
    try:
        assert imported_rolls(db) == set()
        with db.atomic():
            db.run("UPDATE destinations SET state = 'imported' WHERE offload_id = :oid AND idx = 1",
                   {"oid": record.offload_id})
        assert imported_rolls(db) == {plan.destinations[1]}
    finally:
        db.close()


def test_a_spooled_batch_the_server_had_committed_is_not_verified_twice(catalog_location: str,
                                                                       tmp_path: Path) -> None:
    """The connection cut after COMMIT: the batch was written, its answer lost, so the Recorder spooled it too.
    Delivering the spool (recorder_batch.replay) then meets rows it already wrote: files and copies are upserts,
    and a verification already there to the same second is not added again. Every other row is as after one
    write."""
    from datawrangler.store.recorder_batch import replay

    record, scan = _begin(catalog_location, tmp_path / "new")
    results = _results(scan)
    rec = Recorder(catalog_location, record, VerifyMode.FULL, batch_files=50, clock=lambda: NOW)
    rec.start()
    for r in results:
        rec.on_file(r)
    rec.finish(_result(scan))
    once = _dump_at(catalog_location)
    timed = sum(1 for r in results for c in r.copies if c.verified_at)
    assert 0 < timed < len(once["verifications"])  # some copies carry no read time (failed, size only)
    db = open_location(catalog_location)
    try:
        assert replay(db, record, [list(results[:60]), list(results[60:])], clock=lambda: NOW) == len(results)
    finally:
        db.close()
    again = _dump_at(catalog_location)
    for table in ("files", "copies", "offloads", "destinations"):
        assert again[table] == once[table], table
    # the timed ones are not doubled; one without a read time cannot be told from a later one and is kept
    assert len(again["verifications"]) == len(once["verifications"]) * 2 - timed
    assert set(again["verifications"]) == set(once["verifications"])
