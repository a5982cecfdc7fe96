"""Bringing an SQLite catalog file to this code's schema: store.schema's migrations to version 4, the stamp of
Alembic's baseline, and Alembic's later revisions; a backup first, one transaction under the write lock, and
a catalog of a newer DataWrangler refused untouched. store.db.open_catalog runs it on every open; a current
catalog costs three small reads (PRAGMA user_version, the stamp, the table names) and never loads Alembic.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from datawrangler.store import backups, damage, migrations, schema
from datawrangler.store import db as catalog_db  # its errors, read when this runs (store.db imports this)
from datawrangler.store.migrations import stamp


def refuse_unknown(path: Path, version: int, stamped: tuple[str, ...]) -> None:
    """A catalog of a schema version above this code's, or stamped with a revision this code does not know,
    was written by a newer DataWrangler: refused, untouched."""
    if version > schema.schema_version():
        raise _newer(path, version, schema.schema_version())
    unknown = [r for r in stamped if not migrations.known(r)]
    if unknown or len(stamped) > 1:
        raise catalog_db.CatalogError(migrations.too_new(str(path), ", ".join(unknown or stamped)))


def _newer(path: Path, version: int, target: int) -> Exception:
    return catalog_db.CatalogError(f"The catalog {path} was written by a newer DataWrangler (schema version "
                                   f"{version}; this version reads up to {target}). Update DataWrangler, or point "
                                   "--catalog at another file. The catalog was left untouched.")


def migrate(db: Database, path: Path) -> None:
    """Bring the catalog to this version's schema. Two processes (or threads) opening a new or older catalog
    at once must not both migrate it: the check is made again under the write lock (BEGIN IMMEDIATE, which
    waits for the other's migration to commit), and the migrations run inside that one transaction."""
    target = schema.schema_version()
    version = _user_version(db, path)
    stamped = _stamped(db, path)
    refuse_unknown(path, version, stamped)
    if version == target and stamped == _stamp_of(target):  # current: the path of (nearly) every open
        _migrate(db, path, version, target)
        return
    taken = None
    # checked and backed up before the write lock (the backup API cannot copy from inside it), unless the only
    # change is the stamp on a version-4 catalog that a DataWrangler without Alembic made (a new small table)
    if version > 0 and (version, stamped) != (migrations.BASELINE_VERSION, ()):
        try:
            ok = db.conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise catalog_db.not_a_catalog(path, exc) from exc
        if ok != "ok":
            raise catalog_db.not_a_catalog(path, ValueError(f"integrity check: {ok}"))
        taken = catalog_db.backup_path(path, version)
        try:
            backups.take(db.conn, taken)
        except backups.BackupFailed as exc:
            raise catalog_db.damaged(path, str(exc)) from exc
        except (sqlite3.Error, OSError) as exc:
            raise catalog_db.CatalogError(damage.backup_failed(path, version, target, exc)) from exc
        backups.prune(path)
    if target > migrations.BASELINE_VERSION:  # Alembic's revisions after the baseline too
        _migrate_with_alembic(path, version, target, taken)
        return
    try:
        db.conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        raise  # locked beyond the busy timeout: not a damaged file
    except sqlite3.DatabaseError as exc:
        raise catalog_db.not_a_catalog(path, exc) from exc
    try:
        _migrate(db, path, _user_version(db, path), target)
        if db.conn.in_transaction:
            db.conn.execute("COMMIT")
    except BaseException as exc:
        if db.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.OperationalError) and "locked" not in str(exc):  # a full disk, an I/O error
            raise catalog_db.CatalogError(damage.migration_failed(path, version, target, exc, taken)) from exc
        raise


def _user_version(db: Database, path: Path) -> int:
    try:
        return int(db.conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise catalog_db.not_a_catalog(path, exc) from exc


def _stamped(db: Database, path: Path) -> tuple[str, ...]:
    try:
        return stamp.revisions(db.conn)
    except sqlite3.DatabaseError as exc:
        raise catalog_db.not_a_catalog(path, exc) from exc


def _stamp_of(version: int) -> tuple[str, ...]:
    """The Alembic revision a catalog of this code's `version` carries: none below the baseline (what an older
    DataWrangler wrote: tests make one by shortening store.schema.MIGRATIONS), else the head."""
    return () if version < migrations.BASELINE_VERSION else (migrations.head(),)


def _migrate(db: Database, path: Path, version: int, target: int) -> None:
    """store.schema's migrations up to `target` (at most version 4), and the baseline stamp when the catalog
    is at version 4 without one. Inside the caller's transaction, but for a current catalog (which it checks)."""
    try:
        tables = set(db.table_names())
    except sqlite3.DatabaseError as exc:
        raise catalog_db.not_a_catalog(path, exc) from exc
    if version > target:
        raise _newer(path, version, target)
    if version == 0 and tables:
        raise catalog_db.not_a_catalog(path, ValueError("it holds tables but no DataWrangler schema version"))
    if version > 0:
        missing = [t for t in schema.CORE_TABLES if t not in tables]
        if missing:
            raise catalog_db.not_a_catalog(path, ValueError(f"tables missing: {', '.join(missing)}"))
    for v in range(version, min(target, len(schema.MIGRATIONS))):
        with db.atomic():
            schema.MIGRATIONS[v](db)
            db.conn.execute(f"PRAGMA user_version = {v + 1}")
    reached = max(version, min(target, len(schema.MIGRATIONS)))
    if reached == migrations.BASELINE_VERSION <= target and migrations.VERSION_TABLE not in tables:
        with db.atomic():
            stamp.stamp_baseline(db.conn)


def _migrate_with_alembic(path: Path, version: int, target: int, taken: Path | None) -> None:
    """store.schema's migrations, the baseline stamp and Alembic's later revisions in one transaction, on a
    connection of their own that holds the write lock (the backup was taken before): a failure anywhere leaves
    the catalog as it was. The version is read again under the lock: another process may have migrated it."""
    from sqlalchemy.exc import DBAPIError

    from datawrangler.store.migrations import run

    try:
        with run.sqlite_transaction(path) as conn:
            raw = conn.connection.dbapi_connection
            assert isinstance(raw, sqlite3.Connection)
            legacy = Database(raw, execute_plugins=False)
            _migrate(legacy, path, _user_version(legacy, path), target)
            stamped = run.current(conn)
            refuse_unknown(path, 0, stamped)
            if stamped != (migrations.head(),):
                run.upgrade(conn)
                conn.exec_driver_sql(f"PRAGMA user_version = {migrations.head_version()}")
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise catalog_db.CatalogError(
                    f"The catalog {path} could not be migrated from schema version {version} to {target}: the "
                    f"migration left {len(broken)} rows pointing at rows that do not exist (the first: "
                    f"{tuple(broken[0])}). The migration was undone: the catalog is as it was. This is a bug in "
                    "DataWrangler: please report it with this message.")
    except DBAPIError as exc:
        cause = exc.orig if isinstance(exc.orig, sqlite3.Error) else None
        if isinstance(cause, sqlite3.OperationalError):
            if "locked" in str(cause):
                raise cause from exc  # as the migrations without Alembic raise it: not a damaged file
            failed = damage.migration_failed(path, version, target, cause, taken)  # a full disk, an I/O error
            raise catalog_db.CatalogError(failed) from exc
        if isinstance(cause, sqlite3.DatabaseError):
            raise catalog_db.not_a_catalog(path, cause) from exc
        raise
