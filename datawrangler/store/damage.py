"""Is the catalog file damaged, and what to say when it is.

`inspect(catalog)` reads the file without writing to it (a read-only SQLite connection) and says what is wrong
in words: a header that is not SQLite's, a file shorter than its header says (truncated), pages SQLite's
`PRAGMA quick_check` finds damaged, a catalog emptied to 0 bytes. It costs one pass over the file: for a
100,000-file catalog (44 MB) the first open takes 0.15-0.25 s with the file in the page cache and about 1 s from
a cold disk (2-core VM; 2-7 ms without the check), so `db.open_catalog` runs it on the first open of a catalog
in each process only: the window's start, each command, each offload worker.

SQLite reads the file first; only when it does not read it whole are the header's bytes read (to say what is
wrong), through a descriptor this process keeps open for its life: on POSIX, closing any descriptor of a file drops
every lock this process holds on it, SQLite's locks of its open connections included (`_head`).

`message(...)` is what every front end shows: what happened, that the file was left as it was, the last good
backup with its date, and the exact command that restores it.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import threading
from pathlib import Path

from datawrangler.config import app_paths
from datawrangler.core.words import human_bytes, when
from datawrangler.store import backups
from datawrangler.store.backups import MAGIC, Backup


def inspect(catalog: Path, timeout: float = 30.0) -> str | None:
    """What is wrong with the catalog file, in words; None when SQLite reads it whole, when there is none yet,
    or when it cannot be read for another reason (locked, no permission: opening it says so)."""
    try:
        size = catalog.stat().st_size
    except OSError:
        return None
    wal = _size(Path(f"{catalog}-wal"))
    if size == 0:
        if wal:
            return None  # SQLite starts such a catalog from its write-ahead log; the quick check follows later
        # a crash before the first commit leaves an empty file too; with backups beside it, it held more
        return "it is empty (0 bytes): it was truncated" if backups.list_backups(catalog) else None
    if size < 100:
        return _short(size)
    whole, said = _quick_check(catalog, timeout)
    if whole:
        return None
    try:
        head = _head(catalog)
    except OSError:
        return None
    if len(head) < 100:
        return _short(size)
    if not head.startswith(MAGIC):
        return "its header is damaged: the file does not begin as an SQLite database does"
    if said is None:
        return None
    return (None if wal else _truncated(head, size)) or said


def _short(size: int) -> str:
    return f"it is truncated to {human_bytes(size)} ({size} bytes), shorter than an SQLite header"


def _quick_check(catalog: Path, timeout: float) -> tuple[bool, str | None]:
    """(whether SQLite reads the file whole, what SQLite finds wrong in words: None when it cannot tell, the file
    locked beyond the timeout or not opened). Through a read-only connection: nothing is written."""
    try:
        conn = sqlite3.connect(f"{catalog.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
    except sqlite3.Error:
        return False, None
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "unable to open" in str(exc):
            return False, None
        return False, _unreadable(exc)
    except sqlite3.DatabaseError as exc:
        return False, _unreadable(exc)
    finally:
        conn.close()
    if rows == ["ok"]:
        return True, None
    found = "; ".join(r.replace("*** in database main ***", "").strip().replace("\n", ", ") for r in rows)
    return False, f"pages of it are damaged (SQLite's quick check: {found})"


# The descriptors `_head` read through, by (device, inode) of their file: open for the life of the process.
_held: dict[tuple[int, int], int] = {}
_held_lock = threading.Lock()


def _head(catalog: Path) -> bytes:
    """The file's first 100 bytes (fewer when it is shorter). Raises OSError.

    On POSIX, closing any descriptor of a file drops every lock this process holds on it: SQLite's locks of this
    process's own connections (one opened before store.db, an engine, a backup, a transaction under way). Another
    process could then write under such a connection, or take the exclusive lock of a last close and remove the
    -wal and -shm files. So the descriptor is never closed: one per file, kept and read again with pread. Only a
    file that SQLite does not read whole gets here (damaged, or locked beyond the timeout), so the descriptor of
    a healthy catalog never holds its disk. On Windows closing a handle releases only that handle's locks, and
    an open handle would keep the file from being moved aside (a restore): it is closed at once."""
    if os.name == "nt":
        with open(catalog, "rb") as f:
            return f.read(100)
    st = catalog.stat()
    with _held_lock:
        fd = _held.get((st.st_dev, st.st_ino))  # the descriptor keeps its inode from being reused by another file
        if fd is None:
            fd = os.open(catalog, os.O_RDONLY)
            opened = os.fstat(fd)
            _held[(opened.st_dev, opened.st_ino)] = fd  # one it replaces (renamed back in between) stays open too
    return os.pread(fd, 100, 0)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _truncated(head: bytes, size: int) -> str | None:
    """From the header: the page size (bytes 16-17, 1 = 65536) and the page count (28-31, valid when the change
    counter at 24 equals the 'version valid for' at 92)."""
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    if pages == 0 or head[24:28] != head[92:96] or page < 512 or page & (page - 1):
        return None  # no valid size in the header (SQLite then says what is wrong with it)
    expected = page * pages
    if size >= expected:
        return None
    return (f"it is truncated: {human_bytes(size)} ({size} bytes) of the {human_bytes(expected)} ({expected} "
            "bytes) its header names are there")


def _unreadable(exc: sqlite3.Error) -> str:
    if "not a database" in str(exc):
        return f"its header is damaged (SQLite: {exc})"
    if "malformed" in str(exc):
        return f"pages of it are damaged (SQLite: {exc})"
    return f"SQLite cannot read it (SQLite: {exc})"


def catalog_option(catalog: Path) -> str:
    """' --catalog PATH' when the catalog is not the default one (so the command given works as printed)."""
    if os.path.abspath(app_paths().catalog_file) == os.path.abspath(catalog):
        return ""
    text = str(catalog)
    return f' --catalog "{text}"' if " " in text else f" --catalog {text}"


def message(catalog: Path, what: str, backup: Backup | None, now: float | None = None) -> str:
    """The message of a damaged catalog: what happened, the last good backup, and how to restore it."""
    opt = catalog_option(catalog)
    head = (f"The catalog {catalog} is damaged or is not a DataWrangler catalog: {what}. It was left untouched, "
            "and no new catalog was made in its place.")
    if backup is not None:
        return head + (
            f" The last good backup is {backup.path.name}, taken {when(backup.taken_at)} "
            f"({backups.age(backup.taken_at, now)}). To restore a backup: 'datawrangler catalog restore{opt}' puts "
            "that one in place and moves the damaged file aside (it is kept, not deleted); 'datawrangler catalog "
            f"backups{opt}' lists the others. Offloads recorded after it are not in it (their copies on the drives "
            "are not affected): 'datawrangler import DRIVE' adds each drive's ASC MHL histories back.")
    return head + (
        f" No good backup of it was found beside it ({catalog.name}.bak-*). If you have a copy of it elsewhere, "
        f"restore a backup with 'datawrangler catalog restore{opt} PATH'. Otherwise move the damaged file away "
        "(rename it) and DataWrangler starts a new, empty catalog; 'datawrangler import DRIVE' then adds each "
        "drive's ASC MHL histories to it.")


def _reason(exc: BaseException) -> tuple[str, bool]:
    """(the cause in words, whether it is a full disk)."""
    full = (getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC))
    if full:
        return "the disk that holds it is full", True
    return (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc), False


def _free(catalog: Path) -> str:
    try:
        return human_bytes(shutil.disk_usage(catalog.parent).free) + " free"
    except OSError:
        return "free space unknown"


def backup_failed(catalog: Path, version: int, target: int, exc: BaseException) -> str:
    """A migration is needed and its backup, taken first, could not be written: nothing was changed."""
    reason, full = _reason(exc)
    todo = (f"Free space on that disk ({_free(catalog)}; the backup needs about "
            f"{human_bytes(_size(catalog) + _size(Path(f'{catalog}-wal')))}), then start DataWrangler again"
            if full else "Check that the catalog's folder is writable, then start DataWrangler again")
    return (f"The catalog {catalog} must be migrated from schema version {version} to {target}, and a backup of it "
            f"is taken first, but the backup could not be written ({reason}). Nothing was changed: the catalog is "
            f"still version {version}, untouched. {todo}: the backup and the migration run then.")


def migration_failed(catalog: Path, version: int, target: int, exc: BaseException, backup: Path | None) -> str:
    """The migration stopped (a full disk, an I/O error) and was rolled back."""
    reason, full = _reason(exc)
    taken = ""
    if backup is not None and backup.exists():
        taken = f" The backup taken just before it is {backup.name} ({when(backup.stat().st_mtime)})."
    todo = (f"Free space on that disk ({_free(catalog)}), then start DataWrangler again: the migration runs again"
            if full else "Start DataWrangler again; if the migration fails the same way, report it with this message")
    return (f"The catalog {catalog} could not be migrated from schema version {version} to {target} ({reason}). "
            f"The migration was undone: the catalog is still version {version}, with everything it held.{taken} "
            f"{todo}.")
