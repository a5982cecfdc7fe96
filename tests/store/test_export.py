"""`datawrangler catalog export`: a self-contained SQLite catalog of real offloads, one file, that any
DataWrangler opens like its own catalog; never written over an existing file, nothing left behind when it
cannot be made."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datawrangler.store import history
from datawrangler.store.db import open_catalog
from datawrangler.store.export import ExportError, export
from datawrangler.store.merge import MergeError, merge
from datawrangler.store.merge_result import export_lines
from tests.store.test_merge import identities, offload


@pytest.fixture
def station(make_card: Callable[..., Path], tmp_path: Path) -> Path:
    catalog = tmp_path / "home" / "catalog.sqlite"
    catalog.parent.mkdir()
    offload(make_card(), tmp_path / "shuttle", catalog, "Day01/A001")
    offload(make_card({"A002C001.mov": 30_000}, name="A002R2EC"), tmp_path / "shuttle", catalog, "Day01/A002")
    return catalog


def _offloads(catalog: Path) -> list[tuple[Any, ...]]:
    db = open_catalog(catalog)
    try:
        rows = history.offloads(db, history.Filters())
        return sorted((r["uuid"], r["reel"], r["state"], r["files_total"], len(r["destinations"])) for r in rows)
    finally:
        db.close()


def test_the_export_is_one_file_that_opens_as_the_same_catalog(station: Path, tmp_path: Path) -> None:
    drive = tmp_path / "post-drive"
    drive.mkdir()
    result = export(station, drive / "for-post.sqlite")
    assert result.added["offloads"] == 2 and result.added["files"] == 5
    assert export_lines(result)[0].startswith(f"Wrote {drive / 'for-post.sqlite'}: 2 offloads, 5 files, 5 copies")
    assert sorted(p.name for p in drive.iterdir()) == ["for-post.sqlite"]  # no -wal, -shm, backups, partial
    conn = sqlite3.connect(drive / "for-post.sqlite")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert identities(drive / "for-post.sqlite") == identities(station)
    assert _offloads(drive / "for-post.sqlite") == _offloads(station) and len(_offloads(station)) == 2
    # post merges it into their own catalog, and again without change
    lab = tmp_path / "lab.sqlite"
    assert merge(lab, drive / "for-post.sqlite").added["offloads"] == 2
    assert merge(lab, drive / "for-post.sqlite").nothing_new


def test_an_existing_file_is_never_replaced(station: Path, tmp_path: Path) -> None:
    dest = tmp_path / "for-post.sqlite"
    dest.write_bytes(b"the editor's notes")
    with pytest.raises(ExportError, match="already exists"):
        export(station, dest)
    assert dest.read_bytes() == b"the editor's notes"
    with pytest.raises(ExportError, match="does not exist"):
        export(station, tmp_path / "unplugged" / "for-post.sqlite")
    with pytest.raises(ExportError, match="already exists"):
        export(station, station)  # the catalog itself


def test_a_failed_export_leaves_nothing(tmp_path: Path) -> None:
    not_catalog = tmp_path / "notes.sqlite"
    conn = sqlite3.connect(not_catalog)
    conn.execute("CREATE TABLE notes (line TEXT)")
    conn.close()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(MergeError, match="not a DataWrangler catalog"):
        export(not_catalog, out / "for-post.sqlite")
    assert list(out.iterdir()) == []
