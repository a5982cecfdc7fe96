"""Schema versions, migrations with a backup, refusals that never touch the file, crash safety."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from datawrangler.store import migrations, schema
from datawrangler.store.db import CatalogError, backup_path, open_catalog
from datawrangler.store.migrations import stamp
from tests.store.revisions import add_revision
from tests.store.schema_shape import sqlite_shape

REPO = Path(__file__).resolve().parents[2]


def test_a_new_catalog_has_every_table_in_wal_mode(tmp_path: Path) -> None:
    db = open_catalog(tmp_path / "catalog.sqlite")
    try:
        assert db.conn.execute("PRAGMA user_version").fetchone()[0] == migrations.head_version()
        assert migrations.head_version() == schema.schema_version()
        assert stamp.revisions(db.conn) == (migrations.head(),)
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert set(schema.CORE_TABLES) <= set(db.table_names())
        cols = {c.name for c in db["copies"].columns}
        assert {"state", "digests", "cache_bypassed", "verified_at"} <= cols
        assert {"method", "result", "cache_bypassed", "at"} <= {c.name for c in db["verifications"].columns}
        assert {"shooting_day", "location"} <= {c.name for c in db["offloads"].columns}
    finally:
        db.close()
    assert not backup_path(tmp_path / "catalog.sqlite", 0).exists()  # a new catalog needs no backup


def test_reopening_a_current_catalog_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    open_catalog(path).close()
    db = open_catalog(path)
    db.close()
    assert not list(tmp_path.glob("*.bak-v*"))


def test_migration_to_a_new_version_backs_up_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A later schema change is an Alembic revision: the catalog is backed up, migrated by Alembic, stamped
    with the new head, and PRAGMA user_version follows (an older DataWrangler refuses it by that)."""
    path = tmp_path / "catalog.sqlite"
    current, old_head = schema.schema_version(), migrations.head()
    db = open_catalog(path)  # a current catalog with some history in it
    with db.atomic():
        db.conn.execute("INSERT INTO events (at, kind, message) VALUES (1.0, 'note', 'from before')")
    db.close()
    add_revision(tmp_path, monkeypatch, """
        with op.batch_alter_table("offloads") as batch:
            batch.add_column(sa.Column("not_yet", sa.Integer()))
    """)
    new_head = migrations.head()
    assert new_head != old_head
    db = open_catalog(path)
    try:
        assert db.conn.execute("PRAGMA user_version").fetchone()[0] == current + 1 == schema.schema_version()
        assert db.conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(new_head,)]
        assert "not_yet" in {c.name for c in db["offloads"].columns}
        assert db.conn.execute("SELECT message FROM events").fetchone()[0] == "from before"
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()
    bak = backup_path(path, current)
    con = sqlite3.connect(bak)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == current
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(old_head,)]
        assert "not_yet" not in {r[1] for r in con.execute("PRAGMA table_info(offloads)")}
        assert con.execute("SELECT message FROM events").fetchone()[0] == "from before"
    finally:
        con.close()
    open_catalog(path).close()  # migrated once: the next open has nothing to do
    assert [p.name for p in tmp_path.glob("catalog.sqlite.bak-v*")] == [bak.name]


def _v1_catalog(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalog as version 1 wrote it (its migration only), with a card and an offload in it."""
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
        db = open_catalog(path)
    try:
        assert db.conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert "shooting_day" not in {c.name for c in db["offloads"].columns}
        with db.atomic():
            db.conn.execute("INSERT INTO cards (id, fingerprint, reel) VALUES (1, 'fp1', 'A001')")
            db.conn.execute("INSERT INTO offloads (id, uuid, card_id, reel, source, plan, state, started_at, "
                            "files_total) VALUES (7, 'u-7', 1, 'A001', '/media/A001', '{}', 'verified', 1.5, 3)")
    finally:
        db.close()


def test_a_version_1_catalog_gets_shooting_day_and_location(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "catalog.sqlite"
    _v1_catalog(path, monkeypatch)
    db = open_catalog(path)
    try:
        assert db.conn.execute("PRAGMA user_version").fetchone()[0] == schema.schema_version()
        row = db.conn.execute("SELECT id, uuid, card_id, reel, source, state, started_at, files_total, "
                              "shooting_day, location FROM offloads").fetchall()
        assert row == [(7, "u-7", 1, "A001", "/media/A001", "verified", 1.5, 3, None, None)]
        assert db.conn.execute("SELECT fingerprint, reel FROM cards").fetchall() == [("fp1", "A001")]
        assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # migrated to version 4 by store.schema, stamped with Alembic's baseline, then Alembic's later revisions
        assert db.conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrations.head(),)]
    finally:
        db.close()
    con = sqlite3.connect(backup_path(path, 1))
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 1
        assert "shooting_day" not in {r[1] for r in con.execute("PRAGMA table_info(offloads)")}
        assert con.execute("SELECT uuid FROM offloads").fetchall() == [("u-7",)]
        assert "alembic_version" not in {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    finally:
        con.close()


def test_a_version_2_catalog_gets_the_clip_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 3 adds clips and clip_files; the offloads of version 2 keep every row and have no clips."""
    path = tmp_path / "catalog.sqlite"
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:2])
        db = open_catalog(path)
        with db.atomic():
            db.conn.execute("INSERT INTO offloads (id, uuid, source, plan, state, started_at) "
                            "VALUES (3, 'u-3', '/media/B002', '{}', 'verified', 2.0)")
        assert "clips" not in db.table_names()
        db.close()
    db = open_catalog(path)
    try:
        assert db.conn.execute("PRAGMA user_version").fetchone()[0] == schema.schema_version()
        assert {"clips", "clip_files"} <= set(db.table_names())
        assert {"tc_in", "tc_out", "gaps", "thumbnails", "read_from"} <= {c.name for c in db["clips"].columns}
        assert db.conn.execute("SELECT uuid FROM offloads").fetchall() == [("u-3",)]
        assert db.conn.execute("SELECT COUNT(*) FROM clips").fetchone()[0] == 0
    finally:
        db.close()
    assert backup_path(path, 2).exists()


def test_a_version_3_catalog_gets_the_cascade_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 4 links a stage-2 offload to the stage-1 offload and copy it was made from; the offloads of
    version 3 keep every row and are stage 1 of no cascade (NULL)."""
    path = tmp_path / "catalog.sqlite"
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:3])
        db = open_catalog(path)
        with db.atomic():
            db.conn.execute("INSERT INTO offloads (id, uuid, source, plan, state, started_at) "
                            "VALUES (4, 'u-4', '/media/C003', '{}', 'verified', 2.0)")
        assert "cascade_of" not in {c.name for c in db["offloads"].columns}
        db.close()
    db = open_catalog(path)
    try:
        assert db.conn.execute("PRAGMA user_version").fetchone()[0] == migrations.head_version()
        assert db.conn.execute("SELECT uuid, stage, cascade_of, made_from, stage2, released_at FROM offloads"
                               ).fetchall() == [("u-4", None, None, None, None, None)]
    finally:
        db.close()
    assert backup_path(path, 3).exists()


def test_a_failing_migration_leaves_the_old_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "catalog.sqlite"
    open_catalog(path).close()
    current, old_head = schema.schema_version(), migrations.head()
    add_revision(tmp_path, monkeypatch, """
        op.add_column("offloads", sa.Column("half_done", sa.Integer()))
        raise RuntimeError("migration bug")
    """)
    with pytest.raises(RuntimeError, match="migration bug"):
        open_catalog(path)
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == current
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(old_head,)]
        assert "half_done" not in {r[1] for r in con.execute("PRAGMA table_info(offloads)")}
    finally:
        con.close()


def test_a_catalog_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    open_catalog(path).close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 99")
    con.close()
    before = path.read_bytes()
    with pytest.raises(CatalogError, match=r"newer DataWrangler.*Update DataWrangler"):
        open_catalog(path)
    assert path.read_bytes() == before


def test_a_catalog_one_version_newer_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    open_catalog(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {schema.schema_version() + 1}")
    con.close()
    before = path.read_bytes()
    newer, ours = schema.schema_version() + 1, schema.schema_version()
    with pytest.raises(CatalogError, match=rf"schema version {newer}; this version reads up to {ours}"):
        open_catalog(path)
    assert path.read_bytes() == before


def test_a_damaged_file_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    before = path.read_bytes()
    with pytest.raises(CatalogError, match=r"damaged or is not a DataWrangler catalog.*left untouched"):
        open_catalog(path)
    assert path.read_bytes() == before


def test_a_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE recipes (name TEXT)")
    con.commit()
    con.close()
    with pytest.raises(CatalogError, match="not a DataWrangler catalog"):
        open_catalog(path)
    con = sqlite3.connect(path)
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["recipes"]
    con.close()


def test_a_catalog_killed_mid_transaction_passes_integrity_check(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    script = textwrap.dedent(f"""
        import os, signal
        from datawrangler.store.db import open_catalog
        db = open_catalog({str(path)!r})
        with db.atomic():
            db.conn.execute("INSERT INTO events (at, kind) VALUES (1.0, 'committed')")
        with db.atomic():
            for i in range(200_000):
                db.conn.execute("INSERT INTO events (at, kind, message) VALUES (?, 'doomed', ?)", (i, 'x' * 200))
                if i == 150_000:
                    os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env={"PYTHONPATH": str(REPO)}, check=False)
    assert proc.returncode == -9
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT kind, COUNT(*) FROM events GROUP BY kind").fetchall() == [("committed", 1)]
    finally:
        con.close()
    open_catalog(path).close()  # and it opens as a catalog again


def test_a_catalog_stamped_with_an_unknown_revision_is_refused_untouched(tmp_path: Path) -> None:
    """A newer DataWrangler's Alembic revision that this code does not know, at a schema version it does
    know: refused by the revision, the file left as it was."""
    path = tmp_path / "catalog.sqlite"
    open_catalog(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = 'v9_from_the_future'")
    con.commit()
    con.close()
    before = path.read_bytes()
    knows = re.escape(f"knows up to {migrations.head()!r}, schema version {migrations.head_version()})")
    with pytest.raises(CatalogError, match=r"newer DataWrangler \(schema revision 'v9_from_the_future'; this "
                                           rf"version {knows}.*Update DataWrangler.*left untouched"):
        open_catalog(path)
    assert path.read_bytes() == before


def test_a_migrated_catalog_is_opened_again_without_loading_alembic(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Once an older catalog has been migrated (store.schema's steps, the baseline stamp, Alembic's later
    revisions), it is current: every later open reads its version and stamp and loads neither Alembic nor
    SQLAlchemy (a fresh interpreter, as a command-line run starts). A new catalog's case is
    tests/store/test_new_catalog.py's."""
    path = tmp_path / "catalog.sqlite"
    _v1_catalog(path, monkeypatch)
    open_catalog(path).close()  # migrated, in this process (which loads Alembic)
    script = textwrap.dedent(f"""
        import sys
        from datawrangler.store.db import open_catalog
        open_catalog({str(path)!r}).close()
        open_catalog({str(path)!r}).close()
        print(sorted(m for m in ("alembic", "sqlalchemy") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    con = sqlite3.connect(path)
    try:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrations.head(),)]
        assert con.execute("PRAGMA user_version").fetchone()[0] == migrations.head_version()
    finally:
        con.close()
    assert [p.name for p in tmp_path.glob("catalog.sqlite.bak-v*")] == [backup_path(path, 1).name]


def _v4_catalog_without_a_stamp(path: Path) -> None:
    """A catalog that the DataWrangler before Alembic brought to version 4: schema 4's tables, PRAGMA
    user_version 4, no alembic_version table; an event in it."""
    from alembic import command

    from datawrangler.store.migrations import run

    open_catalog(path).close()
    with run.sqlite_transaction(path) as conn:  # Alembic's baseline is schema 4 as store.schema's steps make it
        command.downgrade(run.config(conn), migrations.BASELINE)
        conn.exec_driver_sql(f"PRAGMA user_version = {migrations.BASELINE_VERSION}")
    con = sqlite3.connect(path)
    try:
        assert stamp.revisions(con) == (migrations.BASELINE,)
        con.execute("DROP TABLE alembic_version")
        con.execute("INSERT INTO events (at, kind, message) VALUES (1.0, 'note', 'from before')")
        con.commit()
        assert con.execute("PRAGMA user_version").fetchone()[0] == migrations.BASELINE_VERSION
    finally:
        con.close()


def test_a_version_4_catalog_without_a_stamp_is_stamped_and_migrated_to_the_head(tmp_path: Path) -> None:
    """The baseline stamp is added to what schema 4 already has (its tables are not made again), then
    Alembic's later revisions run: the catalog ends as a new one is made, at the head, with its rows."""
    path = tmp_path / "catalog.sqlite"
    _v4_catalog_without_a_stamp(path)
    db = open_catalog(path)
    try:
        assert db.conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrations.head(),)]
        assert db.conn.execute("PRAGMA user_version").fetchone()[0] == migrations.head_version()
        assert db.conn.execute("SELECT message FROM events").fetchall() == [("from before",)]
        assert db.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.close()
    new = tmp_path / "new.sqlite"
    open_catalog(new).close()
    assert sqlite_shape(path) == sqlite_shape(new)


def test_a_version_4_catalog_without_a_stamp_is_backed_up_before_it_is_migrated(tmp_path: Path) -> None:
    """Once a revision follows the baseline, the stamp is no longer all such a catalog lacks: its schema
    changes, so it is backed up first, as every catalog whose schema changes is."""
    path = tmp_path / "catalog.sqlite"
    _v4_catalog_without_a_stamp(path)
    open_catalog(path).close()
    bak = backup_path(path, migrations.BASELINE_VERSION)
    assert bak.exists()
    con = sqlite3.connect(bak)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == migrations.BASELINE_VERSION
        assert "alembic_version" not in {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        assert con.execute("SELECT message FROM events").fetchall() == [("from before",)]
    finally:
        con.close()
