"""Running the catalog's Alembic migrations: configured in code (no alembic.ini), on a connection the caller
holds inside its own transaction, so the caller's checks, the migrations and the new revision commit as one.

Imported only when a catalog must be created on a server or migrated: opening a current catalog never loads
Alembic (store.db reads the revision with one query).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import NullPool

from datawrangler.store import migrations

BUSY_TIMEOUT_MS = 30_000


def config(connection: Connection | None = None, script_location: Path | None = None) -> Config:
    """Alembic's configuration for the catalog: the script folder inside the package, the connection to use."""
    cfg = Config()
    location = os.fspath(script_location or migrations.SCRIPT_LOCATION)
    cfg.set_main_option("script_location", location.replace("%", "%%"))  # ConfigParser interpolates '%'
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    return cfg


def script_directory(script_location: Path | None = None) -> ScriptDirectory:
    return ScriptDirectory.from_config(config(script_location=script_location))


def current(connection: Connection) -> tuple[str, ...]:
    """The revisions the database is stamped with (none: not a catalog managed by Alembic yet)."""
    return tuple(MigrationContext.configure(connection).get_current_heads())


def upgrade(connection: Connection, target: str = "head", script_location: Path | None = None) -> None:
    """Run the revisions up to `target` on the connection, inside the transaction the caller began."""
    command.upgrade(config(connection, script_location), target)


def stamp(connection: Connection, revision: str) -> None:
    """Record `revision` without running anything (a catalog that store.schema brought to that version)."""
    command.stamp(config(connection), revision)


def sqlite_engine(path: str | os.PathLike[str]) -> Engine:
    """An engine on an SQLite catalog file for migrating it: each transaction takes the write lock when it
    begins (BEGIN IMMEDIATE, as store.db.Catalog does), waits for another's lock for the busy timeout, and
    foreign keys are off while a revision copies tables (SQLite's own procedure for altering a table; the
    caller checks them with PRAGMA foreign_key_check before committing)."""
    engine = create_engine(f"sqlite:///{os.fspath(path)}", poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver's own BEGIN would be a deferred one
        dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        dbapi_connection.execute("PRAGMA foreign_keys = OFF")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextmanager
def sqlite_transaction(path: str | os.PathLike[str]) -> Iterator[Connection]:
    """A connection to the catalog file holding its write lock; committed when the block ends, rolled back
    when it raises."""
    engine = sqlite_engine(path)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()
