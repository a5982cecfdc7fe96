"""Open the catalog: WAL, the schema version check, a backup before any migration, the daily backup.

A catalog that a newer DataWrangler wrote, or a file that is not a catalog (or is damaged), is refused
with a message and never touched; a damaged one is never replaced by a new, empty catalog. The first open of
a catalog in each process reads it whole once (`damage.inspect`: SQLite's quick check, 0.15-0.25 s for a
100,000-file catalog in the page cache, about 1 s from a cold disk), so the window, each command and each
offload worker find damage at their start, and the message names the last good backup (`store.backups`).

The schema: `store.schema`'s migrations bring a catalog to version 4, which is stamped with Alembic's baseline
revision (`store.migrations`) in the same transaction; a later version is an Alembic revision, run (with the
same backup first) only when a catalog lacks it. Opening a current catalog reads the stamp with one query and
never loads Alembic or SQLAlchemy.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from datawrangler.store import backups, damage, migrations, schema
from datawrangler.store.catalog import Catalog, Params, Rows
from datawrangler.store.errors import CatalogError, ServerUnavailable
from datawrangler.store.migrations import stamp

log = logging.getLogger(__name__)

# Catalog files (path, device, inode) read whole by this process: later opens skip the quick check. A file put
# in its place (a restored backup) has another inode, so it is checked again.
_checked: set[tuple[str, int, int]] = set()
# After a daily backup failed (a full disk), when to try again, per catalog: not on every open.
_daily_retry: dict[str, float] = {}
DAILY_RETRY = 3600
# copy_rows: rows per INSERT, and bound parameters at most (SQLite before 3.32 took 999 a statement)
_ROWS_PER_STATEMENT = 200
_PARAMS_PER_STATEMENT = 999
BUSY_TIMEOUT = 30.0  # seconds a connection waits for another's lock before 'database is locked'


# What the catalog's backend raises when it cannot be read or written at all (a full disk, an I/O error, a lock
# held beyond the busy timeout): the layers above store catch it by this name, never by the driver's.
BACKEND_ERRORS: tuple[type[Exception], ...] = (sqlite3.OperationalError, ServerUnavailable)


class CatalogDamaged(CatalogError):
    """The catalog file is damaged (or is not a catalog). `what` says how, `backup` is the last good backup
    (None when there is none): a front end can offer to restore it (`backups.restore`)."""

    def __init__(self, catalog: Path, what: str, backup: backups.Backup | None) -> None:
        super().__init__(damage.message(catalog, what, backup))
        self.catalog = catalog
        self.what = what
        self.backup = backup


def damaged(path: str | os.PathLike[str], what: str) -> CatalogDamaged:
    """The error for a damaged catalog, with its last good backup found (each backup checked, newest first)."""
    path = Path(path)
    return CatalogDamaged(path, what, backups.last_good(path))


class FileCatalog(Database, Catalog):
    """The catalog in an SQLite file (`store.catalog.Catalog` on the embedded backend): sqlite-utils' Database,
    whose transaction takes the write lock when it begins (BEGIN IMMEDIATE).

    A plain BEGIN reads first and asks for the write lock later; if another connection (a second offload,
    the recorder of another card) committed in between, SQLite fails at once with 'database is locked'
    instead of waiting for busy_timeout. Every catalog transaction writes, so taking the lock first costs
    nothing and makes concurrent offloads wait their turn."""

    dialect = "sqlite"

    def run(self, sql: str, params: Params | None = None) -> Rows:
        return self.conn.execute(sql, params if params is not None else ())

    def run_many(self, sql: str, rows: Iterable[Params]) -> None:
        self.conn.executemany(sql, rows)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Up to 200 rows a statement, 999 parameters at most (INSERT ... VALUES (...), (...), ...), not one
        statement a row.

        sqlite3's executemany gives up the GIL around each row's step and takes it back for the next row's
        binding: on the Recorder's writer thread, beside the engine's seven threads, each of those 60,000
        round trips of a 20,000-file offload waited for the GIL, and the writer's time grew from 0.35 s alone
        to 1.45 s within the offload. One statement for many rows binds them all at once and gives up the GIL
        once: 0.6 s within the offload (benchmarks/bench_catalog.py)."""
        per = max(1, min(_ROWS_PER_STATEMENT, _PARAMS_PER_STATEMENT // max(1, len(columns))))
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        one = "(" + ", ".join("?" for _ in columns) + ")"
        full = head + ", ".join([one] * per)
        execute = self.conn.execute
        it = iter(rows)
        while chunk := list(itertools.islice(it, per)):
            execute(full if len(chunk) == per else head + ", ".join([one] * len(chunk)),
                    [v for row in chunk for v in row])

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def shown(self) -> str:
        return self.conn.execute("PRAGMA database_list").fetchone()[2] or ":memory:"

    def has_table(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                 (name,)).fetchone() is not None

    @contextlib.contextmanager
    def atomic(self) -> Iterator[FileCatalog]:
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


def connect(path: str | os.PathLike[str]) -> FileCatalog:
    """A connection with the catalog's pragmas. One per thread: sqlite3 connections are not shared."""
    conn = sqlite3.connect(os.fspath(path), timeout=BUSY_TIMEOUT, check_same_thread=False)
    db = FileCatalog(conn, execute_plugins=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        mode = _wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a crash loses no committed transaction
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise not_a_catalog(path, exc) from exc
    if str(mode).lower() != "wal":
        conn.close()
        raise CatalogError(f"The catalog {path} cannot use write-ahead logging (journal mode {mode}); it may be "
                           "on a network drive or read-only. Keep the catalog on a local, writable disk "
                           "(DATAWRANGLER_HOME or --catalog).")
    return db


def _wal(conn: sqlite3.Connection) -> str:
    """Switch to write-ahead logging (a no-op once the file is in WAL mode). The switch of a new file needs an
    exclusive lock, and SQLite answers "database is locked" at once, without its busy handler, while another
    connection is creating the same catalog (several of the window's workers start at once): that is waited
    out here, for as long as any lock would be."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def not_a_catalog(path: str | os.PathLike[str], exc: Exception) -> CatalogError:
    """CatalogDamaged for what the file holds; a lock held too long or an I/O error is not the file's damage:
    a front end must never offer to replace a catalog that another DataWrangler is busy with."""
    if isinstance(exc, sqlite3.OperationalError):
        return CatalogError(f"The catalog {path} could not be read ({exc}). It was not changed. If another "
                            "DataWrangler is using it, wait for it to finish or close it; otherwise check its disk "
                            "and permissions, then try again.")
    what = f"SQLite: {exc}" if isinstance(exc, sqlite3.Error) else str(exc)
    return damaged(path, what)


def backup_path(path: Path, version: int) -> Path:
    """Where the backup taken before migrating a catalog of `version` goes (store.backups names them)."""
    return backups.before_migration_path(path, version)


def open_catalog(path: str | os.PathLike[str]) -> FileCatalog:
    """Open (creating or migrating as needed) the catalog at path."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(f"Cannot create the folder for the catalog {path} ({exc.strerror}). Choose another "
                           "place with --catalog or DATAWRANGLER_HOME.") from exc
    if path.exists() and not path.is_file():
        raise CatalogError(f"The catalog path {path} is not a file. Give a file path with --catalog.")
    existed = path.exists()
    check_once(path)
    _refuse_newer(path)
    try:
        db = connect(path)
    except sqlite3.OperationalError as exc:
        raise CatalogError(f"Cannot open the catalog {path} ({exc}). Check its permissions, or choose another "
                           "place with --catalog or DATAWRANGLER_HOME.") from exc
    try:
        migrate(db, path)
        if not existed:  # made by this process: never inspected by it later, while its connections are open
            _mark_checked(path)
        daily_backup(db, path)
    except BaseException:
        db.close()
        raise
    return db


_SERVER_URL = re.compile(r"^postgres(ql)?(\+psycopg)?://", re.IGNORECASE)


def is_server(location: str | os.PathLike[str]) -> bool:
    """Whether a catalog location names a server (postgresql://...) rather than a file; no import needed."""
    return bool(_SERVER_URL.match(os.fspath(location).strip()))


def _mark_checked(path: Path) -> None:
    """A catalog this process made needs no damage check from it: its next open skips the pass over the file. (The
    check never closes a descriptor of the file while this process may hold SQLite's locks on it: damage._head.
    When it did, another process believed itself the last one, removed the -wal and -shm files, and this
    process's next commits went into a deleted log: lost, tests/store/test_changes_backends.py.)"""
    with contextlib.suppress(OSError):
        st = path.stat()
        _checked.add((os.path.abspath(path), st.st_dev, st.st_ino))


def check_once(path: Path) -> None:
    """The first open of this catalog file in this process reads it whole (damage.inspect); raises
    CatalogDamaged, before anything writes to it, when it is damaged."""
    try:
        st = path.stat()
    except OSError:
        return  # none yet: a new catalog
    key = (os.path.abspath(path), st.st_dev, st.st_ino)
    if key in _checked:
        return
    what = damage.inspect(path, BUSY_TIMEOUT)
    if what is not None:
        raise damaged(path, what)
    _checked.add(key)


def daily_backup(db: Database, path: Path, now: float | None = None) -> Path | None:
    """Take the daily backup when one is due (store.backups.take_daily_if_due: a listing of the catalog's
    folder when none is). A backup that cannot be written never stops the catalog from opening: it is logged,
    and this process tries again an hour later (not on every open: each try copies the whole catalog). A copy
    that fails SQLite's integrity check is the catalog's own damage (the quick check at open does not compare
    indexes with their tables): CatalogDamaged."""
    now = time.time() if now is None else now
    key = os.path.abspath(path)
    if now < _daily_retry.get(key, 0.0):
        return None
    try:
        return backups.take_daily_if_due(db.conn, path, now)
    except backups.BackupFailed as exc:
        raise damaged(path, str(exc)) from exc
    except (sqlite3.Error, OSError) as exc:
        _daily_retry[key] = now + DAILY_RETRY
        log.warning("The daily backup of the catalog %s could not be written (%s). The catalog itself is in use "
                    "as before. Free space on its disk: the backup is tried again in an hour and at the next "
                    "start.", path, exc)
        return None


def _refuse_newer(path: Path) -> None:
    """A newer version's catalog is refused before `connect` switches it to WAL (which rewrites its header):
    read-only, so the file is left exactly as it was."""
    if not path.is_file():
        return
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
    except sqlite3.Error:
        return  # connect() reports it
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError:
        return  # damaged or not a database: migrate() says so, and never writes to it
    finally:
        conn.close()
    # the Alembic revision is checked by migrate(), before anything writes: reading it here would make this
    # connection parse the whole schema too, which costs more than the rest of this check
    refuse_unknown(path, version, ())


def refuse_unknown(path: Path, version: int, stamped: tuple[str, ...]) -> None:
    """A catalog of a schema version above this code's, or stamped with a revision this code does not know,
    was written by a newer DataWrangler: refused, untouched."""
    if version > schema.schema_version():
        raise _newer(path, version, schema.schema_version())
    unknown = [r for r in stamped if not migrations.known(r)]
    if unknown or len(stamped) > 1:
        raise CatalogError(migrations.too_new(str(path), ", ".join(unknown or stamped)))


def _newer(path: Path, version: int, target: int) -> Exception:
    return CatalogError(f"The catalog {path} was written by a newer DataWrangler (schema version "
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
    if version == 0 and not stamped:
        if _create_current(db, path, target):
            return
        version, stamped = _user_version(db, path), _stamped(db, path)  # another thread or process made it
        refuse_unknown(path, version, stamped)
        if version == target and stamped == _stamp_of(target):
            _migrate(db, path, version, target)
            return
    taken = None
    # checked and backed up before the write lock (the backup API cannot copy from inside it), unless the only
    # change is the stamp on a version-4 catalog that a DataWrangler without Alembic made (a new small table):
    # with revisions past the baseline, that catalog's tables change too, so it is backed up like any other
    if version > 0 and (version, stamped, target) != (migrations.BASELINE_VERSION, (), migrations.BASELINE_VERSION):
        try:
            ok = db.conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise not_a_catalog(path, exc) from exc
        if ok != "ok":
            raise not_a_catalog(path, ValueError(f"integrity check: {ok}"))
        taken = backup_path(path, version)
        try:
            backups.take(db.conn, taken)
        except backups.BackupFailed as exc:
            raise damaged(path, str(exc)) from exc
        except (sqlite3.Error, OSError) as exc:
            raise CatalogError(damage.backup_failed(path, version, target, exc)) from exc
        backups.prune(path)
    if target > migrations.BASELINE_VERSION:  # Alembic's revisions after the baseline too
        _migrate_with_alembic(path, version, target, taken)
        return
    with _write_locked(db, path, version, target, taken):
        _migrate(db, path, _user_version(db, path), target)


@contextlib.contextmanager
def _write_locked(db: Database, path: Path, version: int, target: int, taken: Path | None) -> Iterator[None]:
    """One transaction holding the write lock (BEGIN IMMEDIATE) around a schema change: committed at the end
    unless the body ended it; rolled back on any error, a full disk or an I/O error said as a migration that
    failed and was undone (a lock held beyond the busy timeout is raised as it is: not a damaged file)."""
    try:
        db.conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        raise
    except sqlite3.DatabaseError as exc:
        raise not_a_catalog(path, exc) from exc
    try:
        yield
        if db.conn.in_transaction:
            db.conn.execute("COMMIT")
    except BaseException as exc:
        if db.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.OperationalError) and "locked" not in str(exc):  # a full disk, an I/O error
            raise CatalogError(damage.migration_failed(path, version, target, exc, taken)) from exc
        raise


def _create_current(db: Database, path: Path, target: int) -> bool:
    """A new, empty file: the newest schema at once (store.current_ddl, generated from store.tables), stamped
    with the newest revision, in one transaction: neither SQLAlchemy nor Alembic is loaded, and no history is
    replayed. False (nothing done) when the generated DDL is not this code's newest schema (a shortened
    history in a test, a developer's schema change not yet regenerated) or when another process created the
    catalog first: the history's path then runs as before."""
    from datawrangler.store import current_ddl

    if (current_ddl.REVISION, current_ddl.VERSION, target) != (migrations.head(), migrations.head_version(),
                                                                 migrations.head_version()):
        return False
    with _write_locked(db, path, 0, target, None):
        if _user_version(db, path) != 0 or db.table_names():  # made meanwhile, or holding tables of its own
            db.conn.execute("ROLLBACK")
            return False
        for statement in current_ddl.STATEMENTS:
            db.conn.execute(statement)
        stamp.stamp_baseline(db.conn, current_ddl.REVISION)
        db.conn.execute(f"PRAGMA user_version = {current_ddl.VERSION}")
    return True


def _user_version(db: Database, path: Path) -> int:
    try:
        return int(db.conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise not_a_catalog(path, exc) from exc


def _stamped(db: Database, path: Path) -> tuple[str, ...]:
    try:
        return stamp.revisions(db.conn)
    except sqlite3.DatabaseError as exc:
        raise not_a_catalog(path, exc) from exc


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
        raise not_a_catalog(path, exc) from exc
    if version > target:
        raise _newer(path, version, target)
    if version == 0 and tables:
        raise not_a_catalog(path, ValueError("it holds tables but no DataWrangler schema version"))
    if version > 0:
        missing = [t for t in schema.CORE_TABLES if t not in tables]
        if missing:
            raise not_a_catalog(path, ValueError(f"tables missing: {', '.join(missing)}"))
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
                raise CatalogError(
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
            raise CatalogError(failed) from exc
        if isinstance(cause, sqlite3.DatabaseError):
            raise not_a_catalog(path, cause) from exc
        raise
