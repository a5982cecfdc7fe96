"""The ROWS store modules on both backends (SQLite file and PostgreSQL server): a drive recorded twice is one
row, and only this host's dead offloads are marked interrupted."""

from __future__ import annotations

import socket

from datawrangler.store.cards import record_card
from datawrangler.store.catalog import Catalog
from datawrangler.store.liveness import mark_interrupted
from datawrangler.store.volumes import VolumeIdentity, record_volume


def _vol(host: str, label: str) -> VolumeIdentity:
    return VolumeIdentity("uuid:1234-ABCD", "id:SER1", "1234-ABCD", label, "/dev/sdz1", "exfat", 10**12,
                          f"/media/{label}", host)


def test_a_drive_recorded_by_two_stations_is_one_row_refreshed(catalog_db: Catalog) -> None:
    with catalog_db.atomic():
        first = record_volume(catalog_db, _vol("station-a", "SHUTTLE"), "destination", now=100.0)
    with catalog_db.atomic():
        second = record_volume(catalog_db, _vol("station-b", "SHUTTLE2"), "card", now=200.0)
    assert first == second
    row = catalog_db.row("SELECT COUNT(*), MIN(kind), MIN(label), MIN(host), MIN(first_seen), MIN(last_seen) "
                         "FROM volumes")
    assert row is not None and tuple(row) == (1, "destination", "SHUTTLE2", "station-b", 100.0, 200.0)


def _offload(db: Catalog, host: str, pid: int) -> int:
    return db.new_id("INSERT INTO offloads (uuid, source, plan, started_at, state, host, pid, start_token) "
                     "VALUES (:uuid, '/media/A001', '{}', :at, 'running', :host, :pid, :token) RETURNING id",
                     {"uuid": f"u-{host}", "at": 1.0, "host": host, "pid": pid, "token": "gone"})


def test_only_this_hosts_dead_offloads_are_marked_interrupted(catalog_db: Catalog) -> None:
    dead_pid = 2**22 + 12345  # above the default pid_max: no such process
    with catalog_db.atomic():
        ours = _offload(catalog_db, socket.gethostname(), dead_pid)
        theirs = _offload(catalog_db, "another-station", dead_pid)
    assert mark_interrupted(catalog_db) == [ours]
    states = dict(catalog_db.run("SELECT id, state FROM offloads").fetchall())
    assert states == {ours: "interrupted", theirs: "running"}
    assert catalog_db.value("SELECT COUNT(*) FROM events WHERE offload_id = :o AND kind = 'interrupted'",
                            {"o": ours}) == 1
    assert mark_interrupted(catalog_db) == []


def test_a_card_recorded_twice_is_one_row_its_own_lineage_and_its_vendor_filled_once(catalog_db: Catalog) -> None:
    args = {"reel": "A001", "label": "A001_C", "file_count": 3, "total_bytes": 300, "volume_id": None}
    with catalog_db.atomic():
        first = record_card(catalog_db, "fp-1", vendor=None, lineage=None, **args)
        again = record_card(catalog_db, "fp-1", vendor="arri", lineage=None, **args)
        later = record_card(catalog_db, "fp-1", vendor="red", lineage=None, **args)
        reused = record_card(catalog_db, "fp-2", vendor="sony", lineage=first, **args)
    assert first == again == later and reused != first
    rows = catalog_db.run("SELECT id, vendor, lineage FROM cards ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [(first, "arri", first), (reused, "sony", first)]
