"""The Recorder: the engine's results go into the catalog from one writer thread, in batches.

`on_file` (called by the engine on its collector thread) appends the engine's own immutable FileResult to
a deque: no lock, no wake-up of the writer, no per-file object made for the catalog. The writer wakes
every `batch_seconds`, or as soon as `batch_files` results wait, and commits everything waiting in one
transaction: plain tuples go into TEMP tables with executemany (the loop runs in C), then one
INSERT ... SELECT each fills files, copies and verifications. `finish(result)` flushes and records the end
state; if the process dies first, what was committed stays (a copy is recorded verified only after the
engine said so) and the offload shows as interrupted.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

from datawrangler.core.events import FileResult, OffloadResult, VerifyMode
from datawrangler.store import db as dbmod
from datawrangler.store import offloads
from datawrangler.store import spool as spool_mod
from datawrangler.store.catalog import Catalog
from datawrangler.store.errors import ServerUnavailable
from datawrangler.store.offloads import OffloadRecord

# one batch, staged on the writer's own connection (TEMP: in memory, never in the catalog file).
# Enum members (StrEnum) and bools bind as their text and 0/1, exactly what .value and int() gave.
# (seq is given: PostgreSQL has no implicit rowid; BIGINT and DOUBLE PRECISION hold on both what SQLite's
# INTEGER and REAL did)
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS dw_rec_files (seq BIGINT PRIMARY KEY, rel_path TEXT, size BIGINT,"
    " mtime_ns BIGINT, digests TEXT, status TEXT, code TEXT, message TEXT, source_reverified BIGINT)",
    "CREATE TEMP TABLE IF NOT EXISTS dw_rec_copies (seq BIGINT PRIMARY KEY, rel_path TEXT,"
    " destination_id BIGINT, state TEXT, digests TEXT, code TEXT, message TEXT, already_present BIGINT,"
    " attempts BIGINT, verified_at DOUBLE PRECISION, cache_bypassed BIGINT)",
)
_STAGE_FILE = ("INSERT INTO dw_rec_files (seq, rel_path, size, mtime_ns, digests, status, code, message,"
               " source_reverified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
_STAGE_COPY = ("INSERT INTO dw_rec_copies (seq, rel_path, destination_id, state, digests, code, message,"
               " already_present, attempts, verified_at, cache_bypassed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
# in arrival order (seq), so a path given twice ends as it did last, as one statement per row would
_UPSERT_FILES = (
    "INSERT INTO files (offload_id, rel_path, size, mtime_ns, digests, status, code, message, source_reverified)"
    " SELECT :oid, rel_path, size, mtime_ns, digests, status, code, NULLIF(message, ''), source_reverified"
    " FROM dw_rec_files WHERE true ORDER BY seq"
    " ON CONFLICT (offload_id, rel_path) DO UPDATE SET size = excluded.size,"
    " mtime_ns = excluded.mtime_ns, digests = excluded.digests, status = excluded.status, code = excluded.code,"
    " message = excluded.message, source_reverified = excluded.source_reverified")
# LEFT JOIN: a copy whose file is missing fails on files.id NOT NULL, as the per-row subquery did
_COPIES = (
    "INSERT INTO copies (file_id, destination_id, state, digests, code, message, already_present, attempts,"
    " verified_at, cache_bypassed)"
    " SELECT f.id, t.destination_id, t.state, t.digests, t.code, NULLIF(t.message, ''), t.already_present,"
    " t.attempts, t.verified_at, t.cache_bypassed"
    " FROM {source} LEFT JOIN files f ON f.offload_id = :oid AND f.rel_path = t.rel_path"
    " WHERE true ORDER BY {order}"
    " ON CONFLICT (file_id, destination_id) DO UPDATE SET state = excluded.state,"
    " digests = excluded.digests, code = excluded.code, message = excluded.message,"
    " already_present = excluded.already_present, attempts = excluded.attempts,"
    " verified_at = excluded.verified_at, cache_bypassed = excluded.cache_bypassed")
_UPSERT_COPIES = _COPIES.format(source="dw_rec_copies t", order="t.seq")
# a copy given twice in one batch (the engine retried it): PostgreSQL refuses an upsert that meets one row
# twice, so the copy is written once, where it came first, with what it was last (what one statement per
# row leaves on both); every staged row still gets its verification
_UPSERT_COPIES_ONCE = _COPIES.format(
    source="dw_rec_copies t JOIN (SELECT MIN(seq) AS first_seq, MAX(seq) AS last_seq FROM dw_rec_copies"
           " GROUP BY rel_path, destination_id) g ON t.seq = g.last_seq",
    order="g.first_seq")
_ADD_VERIFICATIONS = (
    "INSERT INTO verifications (copy_id, at, method, cache_bypassed, digests, result, code, message)"
    " SELECT c.id, CASE WHEN t.verified_at IS NOT NULL AND t.verified_at != 0 THEN t.verified_at ELSE :now END,"
    " CASE WHEN t.state = 'copied' THEN 'size-only' WHEN t.already_present != 0 THEN 'already-present'"
    " ELSE 'offload-readback' END, t.cache_bypassed, t.digests, t.state, t.code, NULLIF(t.message, '')"
    " FROM dw_rec_copies t LEFT JOIN files f ON f.offload_id = :oid AND f.rel_path = t.rel_path"
    " LEFT JOIN copies c ON c.file_id = f.id AND c.destination_id = t.destination_id ORDER BY t.seq")
_CARRIED = ("UPDATE files SET status = 'verified', message = ? WHERE offload_id = ? AND rel_path = ?"
            " AND status = 'pending'")
_CLEAR = ("DELETE FROM dw_rec_files", "DELETE FROM dw_rec_copies")


def _digests_json(d: object) -> str | None:
    return json.dumps(dict(d)) if d else None  # type: ignore[call-overload]


class _Stop:
    """The end of the queue."""


_STOP = _Stop()


def _where(location: str) -> tuple[Path | None, str]:
    """(the SQLite file, or None for a server; the catalog as messages show it, never with a password).
    A plain path loads nothing more; a URL is parsed as store.db.open_location parses it."""
    if not dbmod.is_server(location) and not location.strip().lower().startswith("sqlite:"):
        path = Path(location).expanduser()
        return path, str(path)
    from datawrangler.store import server

    where = server.parse(location)
    return where.path, where.shown()


class Recorder:
    """Records one offload's results. Use: start(), on_file() per result, then finish(result) or close()."""

    def __init__(self, catalog: str | os.PathLike[str], record: OffloadRecord, verify_mode: VerifyMode, *,
                 batch_files: int = 2000, batch_seconds: float = 0.5,
                 clock: Callable[[], float] = time.time, spool: Path | None = None) -> None:
        """`catalog`: its location (a file, or a server's URL). `spool`: the folder where the results wait when
        the server cannot take them (store.spool; None: a failure is an error, as for a file)."""
        self.location = os.fspath(catalog)
        self.path, self.shown = _where(self.location)
        self.spool_folder = spool
        self.spooled: Path | None = None  # the spool file, once results went there
        self._spool: spool_mod.Spool | None = None
        self.verify_mode = verify_mode
        self.record = record
        self.size_mode = verify_mode is VerifyMode.SIZE
        self.batch_files = batch_files
        self.batch_seconds = batch_seconds
        self.clock = clock
        # FileResult, or a tuple ("carried", rel_path, note) / ("finish", result) / ("stop", state, message),
        # or _STOP. deque.append and popleft are atomic: the engine's side takes no lock
        self._pending: deque[object] = deque()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dw-catalog", daemon=True)
        self._error: BaseException | None = None
        self.files_recorded = 0
        self.batches = 0
        self.write_seconds = 0.0  # time spent inside catalog transactions (for the benchmark)

    # -- engine side (any thread)

    def start(self) -> None:
        self._thread.start()

    def on_file(self, result: FileResult) -> None:
        pending = self._pending
        pending.append(result)
        if len(pending) == self.batch_files:  # once per batch: the writer drains all that waits
            self._wake.set()

    def carried(self, rel_path: str, note: str) -> None:
        """A file every destination already held verified (resume, incremental): not copied again."""
        self._pending.append(("carried", rel_path, note))
        if len(self._pending) == self.batch_files:
            self._wake.set()

    def finish(self, result: OffloadResult) -> None:
        """Flush every result, record the end state, stop the writer. Raises CatalogError on failure."""
        self._pending.append(("finish", result))
        self._stop()

    def close(self, state: str | None = None, message: str = "") -> None:
        """Flush and stop without a result; with `state`, record it (e.g. 'interrupted' after a bug)."""
        if state:
            self._pending.append(("stop", state, message))
        self._stop()

    def _stop(self) -> None:
        self._pending.append(_STOP)
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()
        self._pending.clear()
        if self._error is not None:
            err, self._error = self._error, None
            fix = ("free space on the catalog's disk" if self.path is not None
                   else "check that the catalog server runs and answers")
            raise dbmod.CatalogError(
                f"The catalog {self.shown} could not record the offload ({err}). The copies on the destinations "
                f"are not affected: {fix}, then run 'datawrangler resume {self.record.offload_id}' to record "
                "them.") from err

    # -- writer thread

    def _connect(self) -> Catalog:
        """The writer's own handle: for a file a plain connection (no migration, no backup: the offload's
        opening did those), for a server its own connection."""
        if self.path is not None:
            db: Catalog = dbmod.connect(self.path)
            db.run("PRAGMA temp_store = MEMORY")
        else:
            from datawrangler.store.server_catalog import connect_server

            db = connect_server(self.location)
        for sql in _STAGE:
            db.run(sql)
        return db

    def _run(self) -> None:
        db: Catalog | None = None
        try:
            db = self._connect()
        except ServerUnavailable as exc:
            if self.spool_folder is None:
                self._error = exc
                self._discard()
                return
        except BaseException as exc:
            self._error = exc
            self._discard()
            return
        stop = False
        try:
            pending = self._pending
            while True:
                if len(pending) < self.batch_files:
                    self._wake.wait(self.batch_seconds)
                    self._wake.clear()
                batch: list[object] = []
                take = pending.popleft
                for _ in range(len(pending)):
                    item = take()
                    if item is _STOP:
                        stop = True
                        break
                    batch.append(item)
                if db is not None and self._spool is None:
                    try:
                        self._write(db, batch)
                    except ServerUnavailable:
                        if self.spool_folder is None:
                            raise
                        self._to_spool(batch)
                else:
                    self._to_spool(batch)
                if stop:
                    return
        except BaseException as exc:
            self._error = exc
            if not stop:  # else the end was taken already, with the batch that failed
                self._discard()
        finally:
            if db is not None:
                db.close()
            if self._spool is not None:
                self._spool.close()

    def _to_spool(self, batch: list[object]) -> None:
        """The server did not take this batch: it waits in the spool, and every later one with it (in order)."""
        if not batch:
            return
        if self._spool is None:
            assert self.spool_folder is not None
            self._spool = spool_mod.Spool(self.spool_folder, self.record, self.verify_mode.value, self.shown)
            self.spooled = self._spool.path
        self._spool.add(batch, sum(1 for item in batch if isinstance(item, FileResult)))

    def _discard(self) -> None:
        """After a failure: keep emptying the queue (holding no result) until the engine's side stops."""
        pending = self._pending
        while True:
            self._wake.wait(self.batch_seconds)
            self._wake.clear()
            for _ in range(len(pending)):
                if pending.popleft() is _STOP:
                    return

    def _write(self, db: Catalog, batch: list[object]) -> None:
        if not batch:
            return
        t0 = time.perf_counter()
        write_batch(db, self.record, batch, self.clock)
        self.files_recorded += sum(1 for item in batch if isinstance(item, FileResult))
        self.batches += 1
        self.write_seconds += time.perf_counter() - t0


def replay(db: Catalog, record: OffloadRecord, batches: Iterable[list[object]],
           clock: Callable[[], float] = time.time) -> int:
    """A spool's batches (store.spool) written into the catalog as the Recorder would have written them, in one
    transaction; SpoolError when the catalog's offload of that id is not the spool's (another catalog).
    Returns the file results written."""
    from datawrangler.store.spool import SpoolError

    written = 0
    with db.atomic():
        uid = db.value("SELECT uuid FROM offloads WHERE id = ?", (record.offload_id,))
        if uid != record.uuid:
            raise SpoolError(f"The spooled results of offload {record.uuid} do not belong to this catalog (its "
                             f"offload {record.offload_id} is another). They were left in the spool: point "
                             "DataWrangler at the catalog they were made for, then deliver them.")
        for sql in _STAGE:
            db.run(sql)
        for batch in batches:
            write_batch(db, record, batch, clock)
            written += sum(1 for item in batch if isinstance(item, FileResult))
    return written


def write_batch(db: Catalog, record: OffloadRecord, batch: list[object], clock: Callable[[], float]) -> None:
    """One batch of results (FileResults, carried files, the end) in one transaction (a savepoint when nested):
    staged in the TEMP tables, then one statement each for files, copies and verifications."""
    oid = record.offload_id
    dest_ids = record.destination_ids
    files: list[tuple] = []
    at: dict[str, int] = {}  # rel_path: its place in files (a path given twice is written once, see below)
    copies: list[tuple] = []
    copy_keys: set[tuple[str, int]] = set()
    end: tuple | None = None
    carried: list[tuple] = []
    for item in batch:
        if isinstance(item, FileResult):
            d = item.digests
            dj = _digests_json(d)
            place = at.setdefault(item.rel_path, len(files))
            row = (place, item.rel_path, item.size, item.mtime_ns, dj, item.status, item.code, item.message,
                   int(item.source_reverified))
            if place == len(files):
                files.append(row)
            else:  # where it came first, with what it was last: as one upsert per result left it
                files[place] = row
            for c in item.copies:
                copy_keys.add((item.rel_path, c.destination))
                cd = c.digests
                copies.append((len(copies), item.rel_path, dest_ids[c.destination], c.state,
                               dj if cd is d or cd == d else _digests_json(cd), c.code, c.message,
                               int(c.already_present), c.attempts, c.verified_at,
                               None if c.cache_bypassed is None else int(c.cache_bypassed)))
        elif isinstance(item, tuple) and item[0] == "carried":
            carried.append((item[2], oid, item[1]))
        elif isinstance(item, tuple):
            end = item
    with db.atomic():
        if files:
            db.run_many(_STAGE_FILE, files)
            db.run_many(_STAGE_COPY, copies)
            db.run(_UPSERT_FILES, {"oid": oid})
            db.run(_UPSERT_COPIES if len(copy_keys) == len(copies) else _UPSERT_COPIES_ONCE, {"oid": oid})
            db.run(_ADD_VERIFICATIONS, {"oid": oid, "now": clock()})
            for sql in _CLEAR:
                db.run(sql)
        if carried:
            db.run_many(_CARRIED, carried)
        if end is not None and end[0] == "finish":
            offloads.finish_offload(db, record, end[1])
        elif end is not None:
            db.run("UPDATE offloads SET state = ?, message = ?, ended_at = ? WHERE id = ?",
                   (end[1], end[2], clock(), oid))
            offloads.event(db, oid, end[1], end[2])
