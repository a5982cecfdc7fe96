"""Open the catalog: WAL, the schema version check, a backup before any migration.

A catalog that a newer DataWrangler wrote, or a file that is not a catalog (or is damaged), is refused
with a message and never touched.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlite_utils import Database

from datawrangler.store import schema


class CatalogError(Exception):
    """The catalog cannot be used as it is; the message says what happened and what to do."""


class _Catalog(Database):
    """sqlite-utils' Database, but a transaction takes the write lock when it begins (BEGIN IMMEDIATE).

    A plain BEGIN reads first and asks for the write lock later; if another connection (a second offload,
    the recorder of another card) committed in between, SQLite fails at once with 'database is locked'
    instead of waiting for busy_timeout. Every catalog transaction writes, so taking the lock first costs
    nothing and makes concurrent offloads wait their turn."""

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Database]:
        if self.conn.in_transaction:  # nested: sqlite-utils' savepoints
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise


def connect(path: str | os.PathLike[str]) -> Database:
    """A connection with the catalog's pragmas. One per thread: sqlite3 connections are not shared."""
    conn = sqlite3.connect(os.fspath(path), timeout=30.0, check_same_thread=False)
    db = _Catalog(conn, execute_plugins=False)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a crash loses no committed transaction
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _not_a_catalog(path, exc) from exc
    if str(mode).lower() != "wal":
        conn.close()
        raise CatalogError(f"The catalog {path} cannot use write-ahead logging (journal mode {mode}); it may be "
                           "on a network drive or read-only. Keep the catalog on a local, writable disk "
                           "(DATAWRANGLER_HOME or --catalog).")
    return db


def _not_a_catalog(path: str | os.PathLike[str], exc: Exception) -> CatalogError:
    return CatalogError(f"The catalog {path} is damaged or is not a DataWrangler catalog ({exc}). It was left "
                        "untouched. Move it away to start a new catalog, or restore a backup "
                        "(catalog.sqlite.bak-v*) in its place.")


def backup_path(path: Path, version: int) -> Path:
    return path.with_name(f"{path.name}.bak-v{version}")


def backup(db: Database, target: Path) -> None:
    """A consistent copy of the whole catalog (sqlite3 backup API), written beside it."""
    tmp = target.with_name(target.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    dst = sqlite3.connect(os.fspath(tmp))
    try:
        db.conn.backup(dst)
    finally:
        dst.close()
    os.replace(tmp, target)


def open_catalog(path: str | os.PathLike[str]) -> Database:
    """Open (creating or migrating as needed) the catalog at path."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(f"Cannot create the folder for the catalog {path} ({exc.strerror}). Choose another "
                           "place with --catalog or DATAWRANGLER_HOME.") from exc
    if path.exists() and not path.is_file():
        raise CatalogError(f"The catalog path {path} is not a file. Give a file path with --catalog.")
    _refuse_newer(path)
    try:
        db = connect(path)
    except sqlite3.OperationalError as exc:
        raise CatalogError(f"Cannot open the catalog {path} ({exc}). Check its permissions, or choose another "
                           "place with --catalog or DATAWRANGLER_HOME.") from exc
    try:
        migrate(db, path)
    except BaseException:
        db.close()
        raise
    return db


def _refuse_newer(path: Path) -> None:
    """A newer version's catalog is refused before `connect` switches it to WAL (which rewrites its header):
    read-only, so the file is left exactly as it was."""
    if not path.is_file():
        return
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return  # connect() reports it
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError:
        return  # damaged or not a database: migrate() says so, and never writes to it
    finally:
        conn.close()
    if version > schema.schema_version():
        raise CatalogError(f"The catalog {path} was written by a newer DataWrangler (schema version {version}; "
                           f"this version reads up to {schema.schema_version()}). Update DataWrangler, or point "
                           "--catalog at another file. The catalog was left untouched.")


def migrate(db: Database, path: Path) -> None:
    """Bring the catalog to this version's schema. Two processes (or threads) opening a new or older catalog
    at once must not both migrate it: the check is made again under the write lock (BEGIN IMMEDIATE, which
    waits for the other's migration to commit), and the migrations run inside that one transaction."""
    target = schema.schema_version()
    version = _user_version(db, path)
    if version >= target:
        _migrate(db, path, version, target)
        return
    if version > 0:  # checked and backed up before the write lock: the backup API cannot copy from inside it
        try:
            ok = db.conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise _not_a_catalog(path, exc) from exc
        if ok != "ok":
            raise _not_a_catalog(path, ValueError(f"integrity check: {ok}"))
        backup(db, backup_path(path, version))
    try:
        db.conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        raise  # locked beyond the busy timeout: not a damaged file
    except sqlite3.DatabaseError as exc:
        raise _not_a_catalog(path, exc) from exc
    try:
        _migrate(db, path, _user_version(db, path), target)
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    if db.conn.in_transaction:
        db.conn.execute("COMMIT")


def _user_version(db: Database, path: Path) -> int:
    try:
        return int(db.conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise _not_a_catalog(path, exc) from exc


def _migrate(db: Database, path: Path, version: int, target: int) -> None:
    try:
        tables = set(db.table_names())
    except sqlite3.DatabaseError as exc:
        raise _not_a_catalog(path, exc) from exc
    if version > target:
        raise CatalogError(f"The catalog {path} was written by a newer DataWrangler (schema version {version}; "
                           f"this version reads up to {target}). Update DataWrangler, or point --catalog at "
                           "another file. The catalog was left untouched.")
    if version == target:
        missing = [t for t in schema.CORE_TABLES if t not in tables]
        if missing:
            raise _not_a_catalog(path, ValueError(f"tables missing: {', '.join(missing)}"))
        return
    if version == 0 and tables:
        raise _not_a_catalog(path, ValueError("it holds tables but no DataWrangler schema version"))
    for v in range(version, target):
        with db.atomic():
            schema.MIGRATIONS[v](db)
            db.conn.execute(f"PRAGMA user_version = {v + 1}")
