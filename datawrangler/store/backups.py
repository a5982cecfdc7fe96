"""Backups of the catalog: where they live, taking one, the daily schedule, how many are kept, which one is good,
and putting one back in place of a damaged catalog.

A backup is a whole SQLite file beside the catalog, named after it:

    catalog.sqlite.bak-v2                   taken before migrating a version-2 catalog (the name earlier
                                            versions gave their pre-migration backups, so those are found too)
    catalog.sqlite.bak-2024-05-01-101500    a daily one (the local time it was taken)

Beside the catalog rather than in a folder of their own: the name alone says which catalog a backup belongs to
when two catalogs share a folder (--catalog), and a damaged catalog's backups are where its owner looks.

Taking one: the sqlite3 backup API (a consistent snapshot while other processes write: WAL) into a temporary
name, `PRAGMA integrity_check` on the copy, fsync, then the rename. A file under a backup's name is whole and
was checked when it was taken, and a damaged catalog is never backed up (its copy fails the check): the damage
cannot push the good backups out. The copy is a plain (rollback-journal) file, so reading it later creates no
-wal/-shm beside it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from datawrangler import platform
from datawrangler.core.words import human_bytes, plural, when
from datawrangler.store import schema

log = logging.getLogger(__name__)

DAILY_EVERY = 24 * 3600  # a daily backup is taken on the first open after the newest backup is this old
KEEP_DAILY = 7  # the newest daily backups kept; older ones are removed when a new one is taken
KEEP_BEFORE_MIGRATION = 3  # the newest pre-migration backups kept
STALE_TEMP = 3600  # a backup's temporary file this old was left by a process that died while writing it

DAILY, BEFORE_MIGRATION = "daily", "before migration"
MAGIC = b"SQLite format 3\x00"
SIDE_FILES = ("-wal", "-shm", "-journal")  # SQLite's files beside a database: they belong to it

_DAILY_NAME = re.compile(r"\.bak-\d{4}-\d{2}-\d{2}-\d{6}")
_MIGRATION_NAME = re.compile(r"\.bak-v(\d+)")
_lock = threading.Lock()  # one daily backup at a time in this process (the window's workers open at once)


class BackupFailed(Exception):
    """A backup could not be taken, or a file is not a usable backup; the message says why."""


@dataclass(frozen=True)
class Backup:
    path: Path
    kind: str  # DAILY or BEFORE_MIGRATION
    taken_at: float  # the file's modification time: when its rename made it a backup
    size: int
    version: int | None  # the schema version its header holds; None when the header is not SQLite's

    def describe(self, now: float | None = None) -> str:
        """'catalog.sqlite.bak-v2 (before migration, schema version 2, taken 2024-05-01 10:15, 3 hours ago)'"""
        schema_words = f"schema version {self.version}, " if self.version is not None else ""
        return (f"{self.path.name} ({self.kind}, {schema_words}taken {when(self.taken_at)}, "
                f"{age(self.taken_at, now)}, {human_bytes(self.size)})")


def age(ts: float, now: float | None = None) -> str:
    """How long ago, in the largest unit that reads well: '40 minutes ago', '5 hours ago', '3 days ago'."""
    s = max(0.0, (time.time() if now is None else now) - ts)
    if s < 60:
        return "less than a minute ago"
    if s < 3600:
        return plural(int(s // 60), "minute") + " ago"
    if s < 48 * 3600:
        return plural(round(s / 3600), "hour") + " ago"
    return plural(round(s / 86400), "day") + " ago"


def before_migration_path(catalog: Path, version: int) -> Path:
    return catalog.with_name(f"{catalog.name}.bak-v{version}")


def daily_path(catalog: Path, at: float) -> Path:
    return catalog.with_name(f"{catalog.name}.bak-{dt.datetime.fromtimestamp(at):%Y-%m-%d-%H%M%S}")


def header_version(path: Path) -> int | None:
    """The schema version (`PRAGMA user_version`, bytes 60-63 of the header) without opening the database;
    None when the file does not begin as an SQLite database."""
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError:
        return None
    if len(head) < 100 or not head.startswith(MAGIC):
        return None
    return int.from_bytes(head[60:64], "big", signed=True)


def list_backups(catalog: Path) -> list[Backup]:
    """The catalog's backups, newest first. Temporary files of a backup being written are not backups."""
    found: list[Backup] = []
    prefix = catalog.name
    try:
        entries = list(os.scandir(catalog.parent))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        rest = entry.name[len(prefix):]
        kind = DAILY if _DAILY_NAME.fullmatch(rest) else BEFORE_MIGRATION if _MIGRATION_NAME.fullmatch(rest) else ""
        if not kind:
            continue
        try:
            st = entry.stat()
        except OSError:
            continue
        path = Path(entry.path)
        found.append(Backup(path, kind, st.st_mtime, st.st_size, header_version(path)))
    found.sort(key=lambda b: (b.taken_at, b.path.name), reverse=True)
    return found


def problem(path: Path) -> str | None:
    """What makes a file unusable as a catalog backup, in words; None when it is a whole DataWrangler catalog
    of a version this DataWrangler reads. Read-only (immutable: no -wal/-shm created beside it)."""
    version = header_version(path)
    if version is None:
        return "it does not begin as an SQLite database (missing, unreadable, or its header is damaged)"
    if version > schema.schema_version():
        return (f"it was written by a newer DataWrangler (schema version {version}; this version reads up to "
                f"{schema.schema_version()})")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        return f"it cannot be opened ({exc})"
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in schema.CORE_TABLES if t not in tables]
        if missing:
            return f"it is not a DataWrangler catalog (no table {', '.join(missing)})"
        rows = [r[0] for r in conn.execute("PRAGMA quick_check(3)")]
    except sqlite3.DatabaseError as exc:
        return f"it is damaged (SQLite: {exc})"
    finally:
        conn.close()
    if rows != ["ok"]:
        return "it is damaged (SQLite's quick check: " + "; ".join(r.replace("\n", " ") for r in rows) + ")"
    return None


def last_good(catalog: Path) -> Backup | None:
    """The newest backup that is whole (checked now, newest first, stopping at the first good one)."""
    return next((b for b in list_backups(catalog) if problem(b.path) is None), None)


def take(source: sqlite3.Connection, target: Path) -> Path:
    """Back up the database of `source` to `target`: copied to a temporary name, checked, synced, renamed.
    Raises BackupFailed when the source cannot be read whole or its copy fails the integrity check (the
    source is damaged), sqlite3.Error or OSError when it cannot be written (a full disk: SQLITE_FULL);
    nothing is left under either name then."""
    tmp = target.with_name(f"{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        dst = sqlite3.connect(os.fspath(tmp))
        try:
            dst.execute("PRAGMA journal_mode = OFF")  # a scratch file until it is checked: no journal needed
            try:
                source.backup(dst)
            except sqlite3.OperationalError:
                raise  # a full disk, an I/O error: not the source's damage
            except sqlite3.DatabaseError as exc:  # SQLITE_CORRUPT, SQLITE_NOTADB: a page of it is damaged
                raise BackupFailed(f"it cannot be read whole (SQLite: {exc})") from exc
            dst.execute("PRAGMA journal_mode = DELETE")  # a plain file: reading it creates no -wal beside it
            try:
                rows = [r[0] for r in dst.execute("PRAGMA integrity_check(3)")]
            except sqlite3.OperationalError:
                raise
            except sqlite3.DatabaseError as exc:
                rows = [f"SQLite: {exc}"]
        finally:
            dst.close()
        if rows != ["ok"]:
            raise BackupFailed("a copy of it fails SQLite's integrity check: " + "; ".join(rows))
        fd = os.open(tmp, os.O_RDONLY)
        try:
            platform.sync_file(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        platform.sync_dir(os.fspath(target.parent))
    except BaseException:
        for leftover in (tmp, *(tmp.with_name(tmp.name + s) for s in SIDE_FILES)):
            with contextlib.suppress(OSError):
                leftover.unlink()
        raise
    log.info("catalog backed up to %s", target)
    return target


def daily_due(catalog: Path, now: float | None = None) -> bool:
    """True when no backup of the catalog is younger than DAILY_EVERY (a directory listing: cheap)."""
    now = time.time() if now is None else now
    newest = list_backups(catalog)
    return not newest or now - newest[0].taken_at >= DAILY_EVERY


def take_daily_if_due(source: sqlite3.Connection, catalog: Path, now: float | None = None) -> Path | None:
    """The daily backup, when one is due and the catalog holds an offload (an empty catalog has nothing to
    keep); then the old ones beyond KEEP_DAILY / KEEP_BEFORE_MIGRATION are removed. The path taken, or None."""
    now = time.time() if now is None else now
    if not daily_due(catalog, now):
        return None
    with _lock:
        if not daily_due(catalog, now):  # another thread took it while this one waited
            return None
        if source.execute("SELECT 1 FROM offloads LIMIT 1").fetchone() is None:
            return None
        path = take(source, daily_path(catalog, now))
        prune(catalog, now)
        return path


def prune(catalog: Path, now: float | None = None) -> list[Path]:
    """Remove the daily backups beyond the newest KEEP_DAILY, the pre-migration ones beyond the newest
    KEEP_BEFORE_MIGRATION, and temporary files left by a process that died while writing a backup."""
    now = time.time() if now is None else now
    every = list_backups(catalog)
    old = [b.path for b in every if b.kind == DAILY][KEEP_DAILY:]
    old += [b.path for b in every if b.kind == BEFORE_MIGRATION][KEEP_BEFORE_MIGRATION:]
    name = glob.escape(catalog.name)
    for tmp in [*catalog.parent.glob(f"{name}.bak-*.tmp"), *catalog.parent.glob(f"{name}.restore-*.tmp")]:
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > STALE_TEMP:
                old.append(tmp)
    removed = []
    for path in old:
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed


def set_aside(catalog: Path, reason: str = "damaged", now: float | None = None) -> Path:
    """Move the catalog, with its -wal/-shm, to `<name>.<reason>-<date>` beside it: kept, never deleted (a
    stale -wal left under the catalog's name would be replayed into whatever is put there next)."""
    stamp = dt.datetime.fromtimestamp(time.time() if now is None else now).strftime("%Y-%m-%d-%H%M%S")
    aside = catalog.with_name(f"{catalog.name}.{reason}-{stamp}")
    n = 1
    while any(Path(f"{aside}{s}").exists() for s in ("", *SIDE_FILES)):
        n += 1
        aside = catalog.with_name(f"{catalog.name}.{reason}-{stamp}-{n}")
    for suffix in ("", *SIDE_FILES):
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{catalog}{suffix}", f"{aside}{suffix}")
    platform.sync_dir(os.fspath(catalog.parent))
    return aside


def restore(catalog: Path, backup: Path, reason: str = "damaged") -> Path | None:
    """Put a copy of `backup` in place of the catalog (the backup stays a backup). The catalog there is set
    aside first (see set_aside); its new name is returned (None when there was none). Raises BackupFailed
    when the backup is not usable, OSError when it cannot be copied (the catalog is then left where it was).

    Order: the copy is written and synced under a temporary name before anything is moved, so a crash
    leaves either the old catalog in place, or no catalog (set aside) with the backup still there."""
    why = problem(backup)
    if why is not None:
        raise BackupFailed(f"{backup} cannot be restored: {why}.")
    tmp = catalog.with_name(f"{catalog.name}.restore-{os.getpid()}.tmp")
    try:
        shutil.copyfile(backup, tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            platform.sync_file(fd)
        finally:
            os.close(fd)
        there = any(Path(f"{catalog}{s}").exists() for s in ("", *SIDE_FILES))
        aside = set_aside(catalog, reason) if there else None
        os.replace(tmp, catalog)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    platform.sync_dir(os.fspath(catalog.parent))
    log.info("catalog %s restored from %s (the one it replaced: %s)", catalog, backup, aside)
    return aside
