"""The two catalogs of a merge as SQLAlchemy engines: this one (written, in one transaction) and the other
(read only, in one snapshot, never changed), each an SQLite file or a PostgreSQL server.

The other catalog is refused, untouched, unless it is a DataWrangler catalog at the schema this code merges
(store.server.check_connection tells what it is); merging a catalog into itself is refused too. An SQLite file
is read through a read-only URI connection: not even its header or its WAL index is written. An older SQLite
catalog is merged from an upgraded private copy.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from datawrangler.store import server
from datawrangler.store.db import BUSY_TIMEOUT, CatalogError, open_catalog
from datawrangler.store.server import CatalogLocation, Status

CACHE_KB = 64 * 1024  # SQLite's page cache for a merge (the default is 2 MB)


class MergeError(CatalogError):
    """The merge cannot be made; the message says why and what to do. Nothing was changed."""


def location(where: str | os.PathLike[str] | CatalogLocation) -> CatalogLocation:
    return where if isinstance(where, CatalogLocation) else server.parse(where)


def refuse_same(this: CatalogLocation, other: CatalogLocation) -> None:
    """Merging a catalog into itself would add nothing and read what it writes: refused."""
    if this.path is not None and other.path is not None:
        same = this.path == other.path or (this.path.exists() and other.path.exists()
                                           and os.path.samefile(this.path, other.path))
    elif this.path is None and other.path is None:
        a, b = this.url, other.url
        same = (a.host or "", a.port or 5432, a.database) == (b.host or "", b.port or 5432, b.database)
    else:
        same = False
    if same:
        raise MergeError(f"{other.shown()} is this catalog itself: there is nothing to merge. Give the other "
                         "station's catalog (its file, or its server's URL).")


def this_engine(where: CatalogLocation) -> Engine:
    """This catalog, opened for writing: an SQLite file is first opened as every command opens it (created or
    migrated, a backup first), a server must pass the connection check."""
    if where.path is not None:
        open_catalog(where.path).close()
        return writable_engine(where.path)
    check = server.check_connection(where)
    if not check.ok:
        raise MergeError(f"{check.message} Nothing was merged.")
    return server.engine(where)


def writable_engine(path: Path) -> Engine:
    """This catalog's file, its transactions taking the write lock; opened as a URI, so that the other catalog
    can be attached to it read-only (merge_bulk)."""
    uri = path.absolute().as_uri()
    return sqlite_engine(lambda: sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT), "BEGIN IMMEDIATE")


@contextmanager
def other_engine(where: CatalogLocation) -> Iterator[tuple[Engine, Path | None]]:
    """The other catalog, read only, with the file's path when it is one; MergeError (it is left untouched)
    unless it is a catalog of this code's schema. An older SQLite catalog is copied to a private folder and the
    copy migrated (as opening it would), so the file the other station gave is never changed."""
    check = server.check_connection(where)
    if check.status is Status.NO_SCHEMA:
        raise MergeError(f"There is no catalog at {where.shown()}: nothing to merge. Give the other station's "
                         "catalog file (catalog.sqlite) or its server's URL.")
    if check.status is Status.SCHEMA_OLDER and where.path is not None:
        with tempfile.TemporaryDirectory(prefix="dw-merge-") as work:
            copy = _upgraded_copy(where.path, Path(work) / "catalog.sqlite")
            yield _file_engine(copy), copy
        return
    if not check.ok:
        raise MergeError(f"{check.message} Nothing was merged.")
    if where.path is not None:
        yield _file_engine(where.path), where.path
        return
    engine = server.engine(where).execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    try:
        yield engine, None
    finally:
        engine.dispose()


def _file_engine(path: Path) -> Engine:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return sqlite_engine(lambda: sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT), "BEGIN")


def _upgraded_copy(path: Path, copy: Path) -> Path:
    """A copy of an older catalog (SQLite's backup, from a read-only connection), migrated to this schema."""
    src = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
    try:
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise MergeError(f"The older catalog {path} could not be copied to be upgraded for the merge ({exc}). "
                         "It was not changed. Check the file and the temporary folder's free space, then try "
                         "again.") from exc
    finally:
        src.close()
    open_catalog(copy).close()
    return copy


def sqlite_engine(connect: Any, begin: str) -> Engine:
    """An engine on an SQLite catalog whose transactions begin with `begin`: BEGIN IMMEDIATE takes the write
    lock first (as store.db.Catalog does), a plain BEGIN on the reading side holds one snapshot for the whole
    read. Foreign keys are not checked by SQLite here: the merge maps every reference itself and stops at one
    that names no row (merge_ids.remap), and a check per inserted row costs a fifth of a big merge. A larger
    page cache keeps the indexes being appended to in memory."""
    engine = create_engine("sqlite://", creator=connect, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver's own BEGIN would be a deferred one, and late
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        dbapi_connection.execute(f"PRAGMA cache_size = -{CACHE_KB}")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine
