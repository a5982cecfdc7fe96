"""Schema 5 on a catalog in use: a version-4 catalog holding real offloads is backed up, then gets
volumes.media_kind, offloads.station and offloads.site (NULL: not recorded), keeps every row, and gives the
same safe-to-format answers; a 3-2-1 rule can prove no second kind or place from what it did not record."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command

from datawrangler.config import app_paths
from datawrangler.store import migrations
from datawrangler.store.db import backup_path, open_catalog
from datawrangler.store.migrations import run
from tests.conftest import CardBuilder
from tests.store.conftest import RunCli


def _to_version_4(path: Path) -> None:
    """What a DataWrangler of schema 4 left: revision v4, PRAGMA user_version 4, no version-5 columns."""
    with run.sqlite_transaction(path) as conn:
        command.downgrade(run.config(conn), "v4")
        conn.exec_driver_sql("PRAGMA user_version = 4")


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in con.execute(f"PRAGMA table_info({table})")}


def test_a_version_4_catalog_with_offloads_is_backed_up_and_migrated(
        dw: RunCli, make_card: CardBuilder, tmp_path: Path, other_volume: Path) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    assert dw("offload", str(card), str(tmp_path / "d1"), str(other_volume))[0] == 0
    path = app_paths().catalog_file
    _to_version_4(path)
    con = sqlite3.connect(path)
    try:
        assert "station" not in _columns(con, "offloads") and "media_kind" not in _columns(con, "volumes")
        before = con.execute("SELECT uuid, state, files_verified FROM offloads").fetchall()
        copies = con.execute("SELECT COUNT(*) FROM copies WHERE state = 'verified'").fetchone()[0]
    finally:
        con.close()
    assert before and copies == 8

    open_catalog(path).close()

    bak = backup_path(path, 4)
    assert bak.exists()
    old = sqlite3.connect(bak)
    try:
        assert old.execute("PRAGMA user_version").fetchone()[0] == 4
        assert old.execute("SELECT version_num FROM alembic_version").fetchall() == [("v4",)]
        assert old.execute("SELECT uuid, state, files_verified FROM offloads").fetchall() == before
    finally:
        old.close()
    new = sqlite3.connect(path)
    try:
        # through schema 5 (its columns, below) to the head
        assert new.execute("PRAGMA user_version").fetchone()[0] == migrations.head_version()
        assert new.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrations.head(),)]
        assert {"station", "site"} <= _columns(new, "offloads") and "media_kind" in _columns(new, "volumes")
        assert new.execute("SELECT uuid, state, files_verified FROM offloads").fetchall() == before
        assert new.execute("SELECT station, site FROM offloads").fetchall() == [(None, None)]
        assert new.execute("SELECT COUNT(*) FROM volumes WHERE media_kind IS NOT NULL").fetchone()[0] == 0
    finally:
        new.close()

    code, events = dw("status", "A001")  # the same answer as before the migration
    assert code == 0 and events[-1]["safe_to_format"] is True and events[-1]["min_copies"] == 2
    code, events = dw("status", "A001", "--rule", "3-2-1")
    st = events[-1]
    assert code == 1 and st["judgement"] == ("2 copies, 1 media kind, 1 site: needs a copy on another media kind "
                                             "at another site")
    assert all(d["stations"] == [] and d["media_kind"] is None for d in st["disks"])


def test_a_new_offload_records_the_station_and_site(
        dw: RunCli, make_card: CardBuilder, tmp_path: Path, other_volume: Path) -> None:
    """Without a `station` setting the host name is recorded; with no site, NULL (not said)."""
    import socket

    card = make_card()
    (tmp_path / "d1").mkdir()
    assert dw("offload", str(card), str(tmp_path / "d1"), str(other_volume))[0] == 0
    con = sqlite3.connect(app_paths().catalog_file)
    try:
        assert con.execute("SELECT station, site FROM offloads").fetchall() == [(socket.gethostname(), None)]
    finally:
        con.close()
