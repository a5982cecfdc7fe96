"""The Alembic revision of an SQLite catalog, read and written with the catalog's own sqlite3 connection.

Every open reads it (one query) and every new catalog is stamped with the baseline: loading Alembic and
SQLAlchemy for that would cost more than the open itself, so this writes exactly what Alembic's own stamp
writes (its table, DDL and row; tests/store/test_migrations.py compares them) and Alembic reads it back.
"""

from __future__ import annotations

import sqlite3

from datawrangler.store import migrations


def revisions(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The revisions the catalog is stamped with: none before version 4, nor in a version-4 catalog that a
    DataWrangler without Alembic made."""
    try:
        return tuple(r[0] for r in conn.execute(f"SELECT version_num FROM {migrations.VERSION_TABLE}"))
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return ()
        raise


def stamp_baseline(conn: sqlite3.Connection, revision: str = migrations.BASELINE) -> None:
    """Record the baseline revision, inside the caller's transaction (the one that brought the catalog to
    version 4); or `revision`, the newest, on a catalog created at once at the newest schema (store.db)."""
    conn.execute(f"CREATE TABLE {migrations.VERSION_TABLE} (\n\tversion_num VARCHAR(32) NOT NULL, \n\t"
                 "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)")
    conn.execute(f"INSERT INTO {migrations.VERSION_TABLE} (version_num) VALUES (?)", (revision,))
