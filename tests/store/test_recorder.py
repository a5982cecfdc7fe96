"""The Recorder's batched writes (TEMP tables + one INSERT ... SELECT per table) leave exactly the rows that
one statement per file and destination leaves; commits come by count and by time; a failing catalog does not
block the engine's side."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from datawrangler.core.cards import fingerprint
from datawrangler.core.errors import Code
from datawrangler.core.events import (
    CopyResult,
    CopyState,
    DestinationResult,
    FileResult,
    FileStatus,
    OffloadResult,
    OffloadState,
    SkippedEntry,
    VerifyMode,
)
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import ScanResult, SourceFile
from datawrangler.store.db import CatalogError, open_catalog
from datawrangler.store.offloads import OffloadMeta, OffloadRecord, begin_offload, event, finish_offload
from datawrangler.store.recorder import Recorder

NOW = 1_700_000_000.25


def _setup(tmp: Path, n: int) -> tuple[Path, OffloadRecord, ScanResult]:
    (tmp / "card").mkdir(parents=True)
    for d in ("d1", "d2"):
        (tmp / d).mkdir()
    files = [SourceFile(f"CLIPS/F{i:04d}.mov", 1000 + i, 1_697_000_000_000_000_000 + i) for i in range(n)]
    scan = ScanResult(str(tmp / "card"), files, [], [], sum(f.size for f in files))
    plan = OffloadPlan.create(tmp / "card", [tmp / "d1", tmp / "d2"])
    catalog = tmp / "catalog.sqlite"
    db = open_catalog(catalog)
    try:
        record = begin_offload(db, plan, scan, fingerprint(scan), OffloadMeta(reel="A001"))
    finally:
        db.close()
    return catalog, record, scan


def _results(scan: ScanResult) -> list[FileResult]:
    """Every shape the engine gives: verified, already present, cache not bypassed, failed on one
    destination, failed to read, size mode, copy digests that differ from the card's, and a path twice."""
    out = []
    for i, f in enumerate(scan.files[:-10]):
        dig = {"xxh64": f"{i:016x}", "md5": f"{i:032x}"} if i % 7 else {"xxh64": f"{i:016x}"}
        at = NOW - 100 + i
        kind = i % 8
        if kind == 0:
            copies = (CopyResult(0, CopyState.VERIFIED, digests=dig, cache_bypassed=True, verified_at=at),
                      CopyResult(1, CopyState.VERIFIED, digests=dict(dig), cache_bypassed=True, verified_at=at))
            out.append(FileResult(f.rel_path, f.size, f.mtime_ns, FileStatus.VERIFIED, dig, copies,
                                  source_reverified=True))
        elif kind == 1:
            copies = (CopyResult(0, CopyState.VERIFIED, digests=dig, already_present=True, verified_at=at),
                      CopyResult(1, CopyState.VERIFIED, digests=dig, cache_bypassed=None, attempts=2,
                                 verified_at=at))
            out.append(FileResult(f.rel_path, f.size, f.mtime_ns, FileStatus.VERIFIED, dig, copies))
        elif kind == 2:
            copies = (CopyResult(0, CopyState.VERIFIED, digests=dig, cache_bypassed=False, verified_at=at),
                      CopyResult(1, CopyState.FAILED, Code.VERIFY_MISMATCH, "read back differs",
                                 digests={"xxh64": "ffffffffffffffff"}, cache_bypassed=True, attempts=3))
            out.append(FileResult(f.rel_path, f.size, f.mtime_ns, FileStatus.FAILED, dig, copies,
                                  Code.VERIFY_MISMATCH, "destination 2: read back differs"))
        elif kind == 3:
            out.append(FileResult(f.rel_path, f.size, f.mtime_ns, FileStatus.FAILED, {}, (),
                                  Code.SOURCE_READ_ERROR, "Input/output error at byte 0"))
        elif kind == 4:
            copies = (CopyResult(0, CopyState.COPIED), CopyResult(1, CopyState.COPIED, verified_at=0.0))
            out.append(FileResult(f.rel_path, f.size, f.mtime_ns, FileStatus.COPIED, dig, copies))
        elif kind == 5:
            copies = (CopyResult(1, CopyState.VERIFIED, digests=dig, verified_at=at),
                      CopyResult(0, CopyState.VERIFIED, digests=dig, verified_at=at))
            out.append(FileResult(f.rel_path, f.size, f.mtime_ns, FileStatus.VERIFIED, dig, copies,
                                  message="", source_reverified=False))
        elif kind == 6:  # given twice: a failure, then the same path verified
            out.append(FileResult(f.rel_path, f.size, f.mtime_ns, FileStatus.FAILED, dig,
                                  (CopyResult(0, CopyState.FAILED, Code.DEST_WRITE_ERROR, "no space"),),
                                  Code.DEST_WRITE_ERROR, "no space"))
            copies = (CopyResult(0, CopyState.VERIFIED, digests=dig, verified_at=at),
                      CopyResult(1, CopyState.VERIFIED, digests=dig, verified_at=at))
            out.append(FileResult(f.rel_path, f.size, f.mtime_ns, FileStatus.VERIFIED, dig, copies))
        else:
            copies = (CopyResult(0, CopyState.VERIFIED, digests=dig, verified_at=at),)
            out.append(FileResult(f.rel_path, f.size + 1, f.mtime_ns + 1, FileStatus.VERIFIED, dig, copies))
    return out


def _result(scan: ScanResult) -> OffloadResult:
    return OffloadResult(
        OffloadState.COMPLETED_WITH_ERRORS, len(scan.files), 10, 1, 2, 1, scan.total_bytes, NOW - 200, NOW,
        VerifyMode.FULL, ("xxh64",), (DestinationResult("/a", "verified", 9, 0),
                                      DestinationResult("/b", "completed with errors", 8, 1, Code.VERIFY_MISMATCH,
                                                        "1 file failed")),
        (), (SkippedEntry("CLIPS/link", Code.SYMLINK, "a symbolic link"),), "2 files failed")


def _reference(catalog: Path, record: OffloadRecord, items: list[object], end: OffloadResult | None,
               stop: tuple[str, str] | None) -> None:
    """What the recorder wrote before batching: one statement per file, per copy, per verification."""
    db = open_catalog(catalog)
    conn = db.conn
    oid = record.offload_id
    with db.atomic():
        for item in items:
            if not isinstance(item, FileResult):
                continue
            f = item
            conn.execute(
                "INSERT INTO files (offload_id, rel_path, size, mtime_ns, digests, status, code, message,"
                " source_reverified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (offload_id, rel_path) DO UPDATE"
                " SET size = excluded.size, mtime_ns = excluded.mtime_ns, digests = excluded.digests,"
                " status = excluded.status, code = excluded.code, message = excluded.message,"
                " source_reverified = excluded.source_reverified",
                (oid, f.rel_path, f.size, f.mtime_ns, json.dumps(dict(f.digests)) if f.digests else None,
                 f.status.value, f.code.value if f.code else None, f.message or None, int(f.source_reverified)))
        for item in items:
            if not isinstance(item, FileResult):
                continue
            for c in item.copies:
                did = record.destination_ids[c.destination]
                digests = json.dumps(dict(c.digests)) if c.digests else None
                conn.execute(
                    "INSERT INTO copies (file_id, destination_id, state, digests, code, message, already_present,"
                    " attempts, verified_at, cache_bypassed) VALUES ((SELECT id FROM files WHERE offload_id = ?"
                    " AND rel_path = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (file_id, destination_id) DO UPDATE"
                    " SET state = excluded.state, digests = excluded.digests, code = excluded.code,"
                    " message = excluded.message, already_present = excluded.already_present,"
                    " attempts = excluded.attempts, verified_at = excluded.verified_at,"
                    " cache_bypassed = excluded.cache_bypassed",
                    (oid, item.rel_path, did, c.state.value, digests, c.code.value if c.code else None,
                     c.message or None, int(c.already_present), c.attempts, c.verified_at,
                     None if c.cache_bypassed is None else int(c.cache_bypassed)))
        for item in items:
            if not isinstance(item, FileResult):
                continue
            for c in item.copies:
                did = record.destination_ids[c.destination]
                method = ("size-only" if c.state is CopyState.COPIED else
                          "already-present" if c.already_present else "offload-readback")
                conn.execute(
                    "INSERT INTO verifications (copy_id, at, method, cache_bypassed, digests, result, code, message)"
                    " VALUES ((SELECT c.id FROM copies c JOIN files f ON f.id = c.file_id WHERE f.offload_id = ?"
                    " AND f.rel_path = ? AND c.destination_id = ?), ?, ?, ?, ?, ?, ?, ?)",
                    (oid, item.rel_path, did, c.verified_at or NOW, method,
                     None if c.cache_bypassed is None else int(c.cache_bypassed),
                     json.dumps(dict(c.digests)) if c.digests else None, c.state.value,
                     c.code.value if c.code else None, c.message or None))
        for item in items:
            if isinstance(item, tuple):
                conn.execute("UPDATE files SET status = 'verified', message = ? WHERE offload_id = ? AND rel_path = ?"
                             " AND status = 'pending'", (item[2], oid, item[1]))
        if end is not None:
            finish_offload(db, record, end)
        if stop is not None:
            conn.execute("UPDATE offloads SET state = ?, message = ?, ended_at = ? WHERE id = ?",
                         (stop[0], stop[1], NOW, oid))
            event(db, oid, stop[0], stop[1])
    db.close()


def _dump(catalog: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(catalog)
    try:
        return {
            "files": con.execute("SELECT id, offload_id, rel_path, size, typeof(size), mtime_ns, digests, status, code,"
                                 " message, source_reverified, typeof(source_reverified) FROM files ORDER BY id"
                                 ).fetchall(),
            "copies": con.execute("SELECT id, file_id, destination_id, state, digests, code, message, already_present,"
                                  " typeof(already_present), attempts, verified_at, typeof(verified_at),"
                                  " cache_bypassed, typeof(cache_bypassed) FROM copies ORDER BY id").fetchall(),
            "verifications": con.execute("SELECT id, copy_id, at, method, cache_bypassed, typeof(cache_bypassed),"
                                         " digests, result, code, message FROM verifications ORDER BY id").fetchall(),
            "offloads": con.execute("SELECT state, message, ended_at, files_verified, files_failed, files_skipped"
                                    " FROM offloads").fetchall(),
            "destinations": con.execute("SELECT id, state, files_ok, files_failed, code, message FROM destinations"
                                        " ORDER BY id").fetchall(),
            "events": con.execute("SELECT offload_id, kind, code, message, data FROM events"
                                  " WHERE kind != 'started' ORDER BY id").fetchall(),  # started names the folders
        }
    finally:
        con.close()


@pytest.mark.parametrize("batch_files", [1, 7, 2000])
def test_batched_rows_equal_one_statement_per_row(tmp_path: Path, batch_files: int) -> None:
    catalog, record, scan = _setup(tmp_path / "new", 120)
    ref_catalog, ref_record, _ = _setup(tmp_path / "ref", 120)
    assert record == OffloadRecord(record.offload_id, record.uuid, ref_record.destination_ids)
    results = _results(scan)
    carried = [("carried", f.rel_path, "verified earlier: not copied again") for f in scan.files[-10:]]
    rec = Recorder(catalog, record, VerifyMode.FULL, batch_files=batch_files, clock=lambda: NOW)
    rec.start()
    for r in results:
        rec.on_file(r)
    for c in carried:
        rec.carried(c[1], c[2])
    rec.finish(_result(scan))
    _reference(ref_catalog, ref_record, [*results, *carried], _result(scan), None)
    got, want = _dump(catalog), _dump(ref_catalog)
    for table in want:
        assert got[table] == want[table], table
    assert rec.files_recorded == len(results)
    assert len(got["verifications"]) == sum(len(r.copies) for r in results)


def test_close_with_a_state_records_it(tmp_path: Path) -> None:
    catalog, record, scan = _setup(tmp_path / "new", 30)
    ref_catalog, ref_record, _ = _setup(tmp_path / "ref", 30)
    results = _results(scan)
    rec = Recorder(catalog, record, VerifyMode.FULL, clock=lambda: NOW)
    rec.start()
    for r in results:
        rec.on_file(r)
    rec.close("interrupted", "The offload stopped: boom.")
    _reference(ref_catalog, ref_record, results, None, ("interrupted", "The offload stopped: boom."))
    assert _dump(catalog) == _dump(ref_catalog)


def _committed(catalog: Path) -> int:
    con = sqlite3.connect(catalog)
    try:
        return con.execute("SELECT COUNT(*) FROM copies").fetchone()[0]
    finally:
        con.close()


def _wait_for(catalog: Path, count: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _committed(catalog) >= count:
            return True
        time.sleep(0.01)
    return False


def test_commits_by_count_without_waiting_for_the_timer(tmp_path: Path) -> None:
    catalog, record, scan = _setup(tmp_path, 50)
    rec = Recorder(catalog, record, VerifyMode.FULL, batch_files=10, batch_seconds=60.0)
    rec.start()
    try:
        ok = [r for r in _results(scan) if r.status is FileStatus.VERIFIED][:10]
        for r in ok:
            rec.on_file(r)
        assert _wait_for(catalog, sum(len(r.copies) for r in ok), 5.0)
    finally:
        rec.close()


def test_commits_by_time_when_few_results_come(tmp_path: Path) -> None:
    catalog, record, scan = _setup(tmp_path, 20)
    rec = Recorder(catalog, record, VerifyMode.FULL, batch_files=2000, batch_seconds=0.05)
    rec.start()
    try:
        first = _results(scan)[0]
        rec.on_file(first)
        assert _wait_for(catalog, 2, 5.0)  # one file, committed well before 2000 arrive
    finally:
        rec.close()
    assert rec.batches >= 1


def test_a_catalog_that_fails_raises_at_finish_and_never_blocks_the_engine(tmp_path: Path) -> None:
    catalog, record, scan = _setup(tmp_path, 20)
    bad = OffloadRecord(record.offload_id, record.uuid, ())  # no destination ids: every copy fails to map
    rec = Recorder(catalog, bad, VerifyMode.FULL, batch_files=1, batch_seconds=0.01)
    rec.start()
    results = _results(scan)
    t0 = time.monotonic()
    for _ in range(50):
        for r in results:
            rec.on_file(r)
    assert time.monotonic() - t0 < 5.0
    with pytest.raises(CatalogError, match="could not record the offload"):
        rec.finish(_result(scan))
    assert _committed(catalog) == 0
    assert not rec._pending  # nothing kept once stopped
