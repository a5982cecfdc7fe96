"""`datawrangler catalog export DEST`: a self-contained SQLite catalog for post to take with the drives.

The export is a new catalog of this code's schema into which the whole catalog (a file or a server) is merged
(store.merge: the same matching, the same one transaction), so post opens it like any catalog and can merge it
into theirs. It is one file: written in rollback-journal mode (no -wal or -shm beside it), in a temporary
folder beside its place (which also takes the backup that opening a catalog makes), and given its name only
when complete, never over an existing file.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from datawrangler import platform
from datawrangler.store.db import BUSY_TIMEOUT, CatalogError, open_catalog
from datawrangler.store.merge import Where, merge_engines
from datawrangler.store.merge_open import location, other_engine, writable_engine
from datawrangler.store.merge_result import MergeResult


class ExportError(CatalogError):
    """The export cannot be written; the message says why and what to do. No file was left behind."""


def export(catalog: Where, dest: str | os.PathLike[str],
           on_step: Callable[[str], None] | None = None) -> MergeResult:
    """Write the catalog (a path or URL) to the new SQLite file `dest`; what was written, as a MergeResult
    (its `added` counts every row). ExportError when dest exists or cannot be written, MergeError when the
    catalog cannot be read; either way nothing is left at dest."""
    source = location(catalog)
    target = Path(dest).expanduser().absolute()
    if os.path.lexists(target):
        raise ExportError(f"{target} already exists: an export never replaces a file. Choose a new file name, or "
                          "move that file away first.")
    if not target.parent.is_dir():
        raise ExportError(f"The folder {target.parent} does not exist. Create it (or plug in the drive), then "
                          "export again.")
    work = target.with_name(f".{target.name}.{os.getpid()}.partial")  # a folder: what opening a catalog
    partial = work / "catalog.sqlite"  # makes beside it (its backups) stays in there
    with other_engine(source) as (src, src_file):
        try:
            _new_catalog(work, partial)
            dst = writable_engine(partial)
            try:
                result = merge_engines(dst, src, str(target), source.shown(), on_step, attach=src_file)
            finally:
                dst.dispose()
            _one_file(partial)
            _take_name(partial, target)
        finally:
            src.dispose()
            shutil.rmtree(work, ignore_errors=True)
    return result


def _new_catalog(work: Path, path: Path) -> None:
    """A new, empty catalog of the current schema (stamped), made as every catalog is (store.db.open_catalog),
    in a folder of its own: the daily backup that opening takes lands there, not beside the export."""
    shutil.rmtree(work, ignore_errors=True)  # a leftover of an export of this process id that was killed
    try:
        work.mkdir()
        open_catalog(path).close()
    except OSError as exc:
        raise ExportError(f"Cannot write the export in {work.parent} ({exc.strerror}). Check that the drive is "
                          "writable and has room, then export again.") from exc


def _one_file(path: Path) -> None:
    """Everything in the main file, and no journal beside it."""
    conn = sqlite3.connect(os.fspath(path), timeout=BUSY_TIMEOUT)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    finally:
        conn.close()
    if str(mode).lower() != "delete":
        raise ExportError(f"The export {path} could not be made a single file (journal mode {mode}). Export to a "
                          "local folder, then copy the file.")


def _take_name(partial: Path, target: Path) -> None:
    """Rename, never over a file that appeared meanwhile: renameat2(NOREPLACE), else a hard link, else (a
    drive without either, exFAT on an older kernel) a check just before a plain rename."""
    try:
        if platform.rename_exclusive(os.fspath(partial), os.fspath(target)):
            return
        try:
            os.link(partial, target)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
                raise
            if os.path.lexists(target):
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fspath(target)) from exc
            os.rename(partial, target)
            return
        os.unlink(partial)
    except FileExistsError as exc:
        raise ExportError(f"{target} appeared while the export was written: it was left alone. Choose a new "
                          "file name and export again.") from exc
    except OSError as exc:
        raise ExportError(f"The export could not be named {target} ({exc.strerror}). Check the drive, then "
                          "export again.") from exc
