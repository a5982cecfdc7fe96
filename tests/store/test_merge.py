"""Merging the catalogs of two stations made by real offloads (app.run_offload on tiny cards): both ways, twice,
the redundancy it gives a card, the references between offloads (stage 2, incremental, a grown card's
lineage) carried over by identity, and the catalogs a merge refuses.

`identities` dumps a catalog with every local id replaced by the global identity of the row it names, so two
catalogs that hold the same records compare equal whatever their ids, and a reference remapped to the wrong
row shows as a difference. The helpers here serve the other test_merge files too.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from datawrangler.app.offload import run_offload
from datawrangler.app.request import OffloadRequest
from datawrangler.store import server
from datawrangler.store.db import open_catalog
from datawrangler.store.merge import MergeError, merge
from datawrangler.store.redundancy import card_redundancy

_DUMP = {
    "volumes": "SELECT key, disk, kind FROM volumes",
    "cards": "SELECT c.fingerprint, c.reel, l.fingerprint, v.key FROM cards c LEFT JOIN cards l ON l.id = c.lineage"
             " LEFT JOIN volumes v ON v.id = c.volume_id",
    "offloads": "SELECT o.uuid, c.fingerprint, o.state, o.host, o.stage, i.uuid, k.uuid, mo.uuid, md.idx, o.source"
                " FROM offloads o LEFT JOIN cards c ON c.id = o.card_id LEFT JOIN offloads i ON i.id = o.incremental_of"
                " LEFT JOIN offloads k ON k.id = o.cascade_of LEFT JOIN destinations md ON md.id = o.made_from"
                " LEFT JOIN offloads mo ON mo.id = md.offload_id",
    "destinations": "SELECT o.uuid, d.idx, d.path, v.key, d.state FROM destinations d JOIN offloads o ON"
                    " o.id = d.offload_id LEFT JOIN volumes v ON v.id = d.volume_id",
    "files": "SELECT o.uuid, f.rel_path, f.size, f.mtime_ns, f.digests, f.status FROM files f JOIN offloads o ON"
             " o.id = f.offload_id",
    "copies": "SELECT o.uuid, f.rel_path, d.idx, c.state, c.digests FROM copies c JOIN files f ON f.id = c.file_id"
              " JOIN offloads o ON o.id = f.offload_id JOIN destinations d ON d.id = c.destination_id",
    "verifications": "SELECT o.uuid, f.rel_path, d.idx, v.at, v.method, v.result FROM verifications v JOIN copies c"
                     " ON c.id = v.copy_id JOIN files f ON f.id = c.file_id JOIN offloads o ON o.id = f.offload_id"
                     " JOIN destinations d ON d.id = c.destination_id",
    "events": "SELECT o.uuid, e.at, e.kind, e.code, e.message FROM events e LEFT JOIN offloads o ON"
              " o.id = e.offload_id",
    "clips": "SELECT o.uuid, k.name, k.kind, k.state, d.idx FROM clips k JOIN offloads o ON o.id = k.offload_id"
             " LEFT JOIN destinations d ON d.id = k.read_from",
    "clip_files": "SELECT o.uuid, k.name, f.rel_path FROM clip_files cf JOIN clips k ON k.id = cf.clip_id JOIN files f"
                  " ON f.id = cf.file_id JOIN offloads o ON o.id = k.offload_id",
}


def identities(catalog: str | os.PathLike[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows with ids replaced by global identities, sorted: equal for equal records."""
    engine = create_engine(server.parse(catalog).url)  # a file, or a server with psycopg
    try:
        with engine.connect() as conn:
            return {name: sorted((tuple(r) for r in conn.execute(text(sql))), key=repr) for name, sql in _DUMP.items()}
    finally:
        engine.dispose()


def raw(catalog: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table exactly, ids and all (SQLite)."""
    conn = sqlite3.connect(catalog)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {n: conn.execute(f"SELECT * FROM {n} ORDER BY rowid").fetchall() for n in names}
    finally:
        conn.close()


def offload(card: Path, dest: Path, catalog: Path, roll: str, **kw: Any) -> Any:
    """A real offload of the card to one drive, as `datawrangler offload` runs it (no report, handoff or clips)."""
    dest.mkdir(parents=True, exist_ok=True)
    req = OffloadRequest(str(card), (str(dest),), roll, copies_required=1, report=False, clips=None, handoff=None,
                         **kw)
    done = run_offload(req, catalog=catalog)
    assert done.result.state.value == "verified", done.result.message
    return done


def set_host(catalog: Path, host: str) -> None:
    """The station's name on its offloads (every test offload runs on this one computer)."""
    conn = sqlite3.connect(catalog)
    with conn:
        conn.execute("UPDATE offloads SET host = ?, station = ?", (host, host))
    conn.close()


@pytest.fixture
def two_stations(make_card: Callable[..., Path], tmp_path: Path) -> tuple[Path, Path]:
    """Station A offloaded cards A001 and A002, station B card B001 (B's ids therefore differ from A's)."""
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    offload(make_card(name="A001R2EC"), tmp_path / "shuttle", a, "Day01/A001")
    offload(make_card({"B001C001.mov": 40_000, "B001C002.mov": 0}, name="B001R2EC"), tmp_path / "raid", b, "Day01/B001")
    offload(make_card({"A002C001.mov": 70_000}, name="A002R2EC"), tmp_path / "shuttle", a, "Day01/A002")
    set_host(a, "cart-a")
    set_host(b, "lab")
    return a, b


def test_two_stations_merged_both_ways_hold_the_same_records(two_stations: tuple[Path, Path]) -> None:
    a, b = two_stations
    before_a, before_b = identities(a), identities(b)
    into_a = merge(a, b)
    assert into_a.added["offloads"] == 1 and into_a.added["files"] == len(before_b["files"]) == 2
    assert into_a.added["copies"] == 2 and into_a.added["verifications"] == len(before_b["verifications"])
    assert into_a.added["events"] == len(before_b["events"]) > 0
    assert into_a.stations == ("lab",) and not into_a.conflicts and not into_a.downgraded
    into_b = merge(b, a)  # A now holds B's offload too: only A's own two come over
    assert into_b.added["offloads"] == 2 and into_b.stations == ("cart-a",)
    assert identities(a) == identities(b)
    merged = identities(a)
    for table, rows in before_a.items():
        assert set(rows) | set(before_b[table]) == set(merged[table]), table
    assert "Merged" in into_a.lines()[0] and "lab" in into_a.lines()[0]


def test_merging_twice_adds_nothing(two_stations: tuple[Path, Path]) -> None:
    a, b = two_stations
    merge(a, b)
    once = raw(a)
    again = merge(a, b)
    assert again.nothing_new and not any(again.added.values()) and not again.conflicts
    assert raw(a) == once
    assert again.lines() == [f"The catalog {b} holds nothing that {a} lacks: nothing was added."]
    back = merge(b, a)
    assert merge(b, a).nothing_new and back.added["offloads"] == 2


def test_the_other_catalog_is_never_written(two_stations: tuple[Path, Path]) -> None:
    a, b = two_stations
    db = open_catalog(b)  # WAL mode with its -shm beside it, as a station leaves it
    db.close()
    stamp = (b.read_bytes(), b.stat().st_mtime_ns)
    merge(a, b)
    assert (b.read_bytes(), b.stat().st_mtime_ns) == stamp


def test_a_card_counts_the_drive_the_other_station_copied_it_to(make_card: Callable[..., Path], tmp_path: Path,
                                                                raid_and_shuttle: tuple[Path, Path]) -> None:
    """The cart copied the card to its shuttle drive, the lab (the card carried over) to its RAID: each catalog
    holds one verified copy per file; merged, the card is safe to format with two drives."""
    raid, shuttle = raid_and_shuttle
    card = make_card()
    cart, lab = tmp_path / "cart.sqlite", tmp_path / "lab.sqlite"
    first = offload(card, shuttle, cart, "Day01/A001")
    offload(card, raid, lab, "Day01/A001")
    db = open_catalog(cart)
    try:
        alone = card_redundancy(db, first.card_id, 2)
        assert not alone.safe and alone.min_disks == 1
    finally:
        db.close()
    result = merge(cart, lab)
    assert result.added["cards"] == 0 and result.added["offloads"] == 1  # the same card, by its fingerprint
    db = open_catalog(cart)
    try:
        both = card_redundancy(db, first.card_id, 2)
        assert both.safe and both.min_disks == 2, both.reasons
        assert len(both.disks) == 2
    finally:
        db.close()


def test_stage_two_incremental_and_lineage_point_at_the_same_records(make_card: Callable[..., Path],
                                                                   tmp_path: Path) -> None:
    """Station A: a cascade (stage 1 to a RAID, stage 2 from it to a shuttle) and a grown card offloaded
    incrementally. Merged into station B, which has offloads of its own (so every id differs), each reference
    names the row it named in A."""
    from datawrangler.app.cascade import pending_stage2, run_stage2
    from tests.conftest import write_file

    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    offload(make_card({"B001C001.mov": 1000}, name="B001R2EC"), tmp_path / "lab", b, "Day01/B001")
    offload(make_card({"B002C001.mov": 2000}, name="B002R2EC"), tmp_path / "lab", b, "Day01/B002")
    card = make_card()
    offload(card, tmp_path / "raid", a, "Day01/A001", stage2=(str(tmp_path / "shuttle"),))
    (tmp_path / "shuttle").mkdir(exist_ok=True)
    [job] = pending_stage2(a)
    assert run_stage2(job.offload_id, catalog=a).result.state.value == "verified"
    write_file(card / "A001R2EC" / "A001C004_231014_R2EC.mov", 9000, seed=9)  # back in the camera: one more clip
    offload(card, tmp_path / "raid", a, "Day01/A001b", incremental=True)
    ref = identities(a)["offloads"]
    assert any(r[4] == 2 and r[6] and r[7] and r[8] == 0 for r in ref)  # stage 2: cascade_of and made_from
    assert any(r[5] for r in ref)  # the incremental offload names the one before it
    assert any(c[2] and c[2] != c[0] for c in identities(a)["cards"])  # the grown card's lineage
    merge(b, a)
    merged = identities(b)
    for table, rows in identities(a).items():
        assert set(rows) <= set(merged[table]), table
    conn = sqlite3.connect(b)
    try:
        ids = conn.execute("SELECT id FROM offloads").fetchall()
        assert len(ids) == 5
    finally:
        conn.close()


def test_a_file_that_is_no_catalog_is_refused(two_stations: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = two_stations
    before = raw(a)
    other = tmp_path / "notes.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (line TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(MergeError, match="not a DataWrangler catalog"):
        merge(a, other)
    with pytest.raises(MergeError, match="There is no catalog at"):
        merge(a, tmp_path / "missing.sqlite")
    with pytest.raises(MergeError, match="this catalog itself"):
        merge(a, a)
    assert raw(a) == before


def test_a_catalog_of_a_newer_datawrangler_is_refused_untouched(two_stations: tuple[Path, Path]) -> None:
    a, b = two_stations
    before = raw(a)
    conn = sqlite3.connect(b)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = 'v9_future'")
    conn.close()
    stamp = b.read_bytes()
    with pytest.raises(MergeError, match="newer DataWrangler"):
        merge(a, b)
    assert b.read_bytes() == stamp and raw(a) == before


def test_an_older_catalog_is_merged_from_an_upgraded_copy_and_left_as_it_was(
        two_stations: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A station still on a DataWrangler of schema 3 (before the cascading copy): its file is read through an
    upgraded private copy; the file itself keeps its version and bytes."""
    from datawrangler.store import schema

    a, _ = two_stations
    old = tmp_path / "old-station.sqlite"
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:3])
        db = open_catalog(old)
        with db.atomic():
            db.conn.execute("INSERT INTO cards (id, fingerprint, reel, lineage) VALUES (1, 'fp-old', 'C003', 1)")
            db.conn.execute("INSERT INTO offloads (id, uuid, card_id, reel, source, plan, state, started_at, host)"
                            " VALUES (1, 'u-old', 1, 'C003', '/media/C003', '{}', 'verified', 2.0, 'cart-b')")
            db.conn.execute("INSERT INTO files (id, offload_id, rel_path, size, mtime_ns, status) VALUES"
                            " (1, 1, 'C003C001.mov', 10, 1, 'verified')")
        db.close()
    stamp = old.read_bytes()
    result = merge(a, old)
    assert result.added["offloads"] == 1 and result.added["files"] == 1 and result.stations == ("cart-b",)
    assert old.read_bytes() == stamp
    conn = sqlite3.connect(old)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    finally:
        conn.close()
    assert ("u-old", "fp-old", "verified", "cart-b", None, None, None, None, None, "/media/C003") in \
        identities(a)["offloads"]


def test_rows_copied_inside_sqlite_equal_rows_merged_one_by_one(two_stations: tuple[Path, Path],
                                                               tmp_path: Path) -> None:
    """The SQLite-to-SQLite copy of new offloads (merge_bulk) and the row-by-row path every other pair of
    backends takes give the same catalog."""
    import shutil

    from datawrangler.store.merge import merge_engines
    from datawrangler.store.merge_open import location, other_engine, writable_engine

    a, b = two_stations
    a2 = tmp_path / "a2.sqlite"
    shutil.copy(a, a2)
    bulk = merge(a, b)
    with other_engine(location(b)) as (src, _path):
        dst = writable_engine(a2)
        try:
            rows = merge_engines(dst, src, str(a2), str(b))
        finally:
            dst.dispose()
            src.dispose()
    assert rows.added == bulk.added and rows.stations == bulk.stations
    assert identities(a2) == identities(a)
