"""The Recorder on both backends: its batched writes leave, in a catalog on PostgreSQL as in an SQLite file,
exactly the rows that one statement per file and destination leaves in an SQLite file (the reference of
tests/store/test_recorder.py). Rows are compared by what names them (path, destination index), not by id:
PostgreSQL's sequences skip the values an upsert took, SQLite's rowids do not."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from datawrangler.core.cards import fingerprint
from datawrangler.core.events import FileStatus, VerifyMode
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import ScanResult, SourceFile
from datawrangler.store.catalog import Catalog
from datawrangler.store.db import CatalogError, open_catalog, open_location
from datawrangler.store.offloads import OffloadMeta, OffloadRecord, begin_offload
from datawrangler.store.recorder import Recorder
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
    _reference(ref, ref_record, results, None, ("interrupted", "The offload stopped: boom."))
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
