"""store.tables describes schema version 4 exactly: on SQLite it makes what store.schema's migrations make, and
PostgreSQL takes it with the types the catalog's values need."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, insert, select

from datawrangler.store import schema, server, tables
from datawrangler.store.db import open_catalog
from tests.store.schema_shape import inspected_shape, sqlite_shape


def _from_metadata(path: Path) -> Path:
    engine = create_engine(f"sqlite:///{path}")
    try:
        tables.metadata.create_all(engine)
    finally:
        engine.dispose()
    return path


def test_metadata_makes_on_sqlite_what_store_schema_makes(tmp_path: Path) -> None:
    """Tables, columns (name, declared type and its affinity, NOT NULL, default, primary key, in order),
    indexes (name, columns, unique) and foreign keys, as SQLite reports them."""
    migrated = tmp_path / "migrated.sqlite"
    open_catalog(migrated).close()
    made = sqlite_shape(_from_metadata(tmp_path / "made.sqlite"))
    expected = sqlite_shape(migrated)
    assert set(made) == set(expected) == set(tables.metadata.tables)
    for table in expected:
        assert made[table]["columns"] == expected[table]["columns"], table
        assert made[table]["indexes"] == expected[table]["indexes"], table
        assert made[table]["foreign_keys"] == expected[table]["foreign_keys"], table
    assert set(schema.CORE_TABLES) <= set(made)


def test_the_comparison_sees_a_difference(tmp_path: Path) -> None:
    """The shape compared above is fine enough to tell a dropped default, a lost NOT NULL or index apart."""
    migrated = tmp_path / "migrated.sqlite"
    open_catalog(migrated).close()
    expected = sqlite_shape(migrated)
    changed = tmp_path / "changed.sqlite"
    engine = create_engine(f"sqlite:///{changed}")
    try:
        tables.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX idx_copies_destination_id")
            conn.exec_driver_sql("CREATE INDEX idx_copies_destination_id ON copies (destination_id, state)")
    finally:
        engine.dispose()
    made = sqlite_shape(changed)
    assert made["copies"]["indexes"] != expected["copies"]["indexes"]
    assert made["files"] == expected["files"]


def test_a_primary_key_is_the_rowid_on_sqlite(tmp_path: Path) -> None:
    """Declared INTEGER (not BIGINT): SQLite makes only an 'INTEGER PRIMARY KEY' the rowid, which numbers new
    rows by itself and costs no separate index."""
    made = sqlite_shape(_from_metadata(tmp_path / "made.sqlite"))
    for table, shape in made.items():
        keys = [c for c in shape["columns"] if c[5]]
        assert [(c[1], c[5]) for c in keys] == [("INTEGER", 1)], table


def test_postgresql_takes_the_metadata(pg_url: str) -> None:
    """Created on a real server and read back: 64-bit integers, double precision times, text; the same
    nullability, defaults, indexes and foreign keys as the metadata says."""
    engine = server.engine(server.parse(pg_url))
    try:
        tables.metadata.create_all(engine)
        shape = inspected_shape(engine)
    finally:
        engine.dispose()
    assert set(shape) == set(tables.metadata.tables)
    for table, meta in tables.metadata.tables.items():
        got = shape[table]
        assert [c[0] for c in got["columns"]] == [c.name for c in meta.columns], table
        # text in the "C" collation (schema 6): code point order and ASCII case, as SQLite compares text
        assert {c[1] for c in got["columns"]} <= {"BIGINT", 'TEXT COLLATE "C"', "DOUBLE PRECISION"}, table
        assert [c[2] for c in got["columns"]] == [c.nullable for c in meta.columns], table
        assert got["primary_key"] == tuple(c.name for c in meta.primary_key.columns), table
        assert got["indexes"] == {i.name: (tuple(c.name for c in i.columns), i.unique) for i in meta.indexes}, table
        assert got["foreign_keys"] == sorted(
            ((fk.parent.name,), fk.column.table.name, (fk.column.name,)) for fk in meta.foreign_keys), table
        defaults = {c[0]: c[3] for c in got["columns"] if c[3] is not None}
        assert defaults == ({"resumes": "0"} if table == "offloads" else {}), table
    types = {c[0]: c[1] for c in shape["files"]["columns"]}
    assert (types["id"], types["size"], types["mtime_ns"]) == ("BIGINT", "BIGINT", "BIGINT")
    assert {c[0]: c[1] for c in shape["offloads"]["columns"]}["started_at"] == "DOUBLE PRECISION"


def test_postgresql_keeps_the_catalogs_values_whole(pg_url: str) -> None:
    """Nanosecond mtimes and byte counts beyond 32 bits, timestamps to the microsecond: a 32-bit INTEGER or a
    4-byte REAL (PostgreSQL's meaning of those names) would fail or round them."""
    engine = server.engine(server.parse(pg_url))
    mtime_ns, size, started = 1_697_280_000_123_456_789, 6_000_000_000_123, 1_733_312_345.123456
    try:
        tables.metadata.create_all(engine)
        with engine.begin() as conn:
            key = conn.execute(insert(tables.offloads).values(
                uuid="u-1", source="/media/A001", plan="{}", state="verified", started_at=started)
            ).inserted_primary_key
            assert key is not None
            offload = key[0]
            conn.execute(insert(tables.files).values(offload_id=offload, rel_path="A001C001.mov", size=size,
                                                     mtime_ns=mtime_ns, status="verified"))
        with engine.connect() as conn:
            assert conn.execute(select(tables.files.c.size, tables.files.c.mtime_ns)).one() == (size, mtime_ns)
            row = conn.execute(select(tables.offloads.c.started_at, tables.offloads.c.resumes)).one()
            assert row == (started, 0)
    finally:
        engine.dispose()
