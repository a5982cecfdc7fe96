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
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from sqlite_utils import Database

from datawrangler.core.events import FileResult, OffloadResult, VerifyMode
from datawrangler.store import db as dbmod
from datawrangler.store import offloads
from datawrangler.store.offloads import OffloadRecord

# one batch, staged on the writer's own connection (TEMP: in memory, never in the catalog file).
# Enum members (StrEnum) and bools bind as their text and 0/1, exactly what .value and int() gave.
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS dw_rec_files (seq INTEGER PRIMARY KEY, rel_path TEXT, size INTEGER,"
    " mtime_ns INTEGER, digests TEXT, status TEXT, code TEXT, message TEXT, source_reverified INTEGER)",
    "CREATE TEMP TABLE IF NOT EXISTS dw_rec_copies (seq INTEGER PRIMARY KEY, rel_path TEXT,"
    " destination_id INTEGER, state TEXT, digests TEXT, code TEXT, message TEXT, already_present INTEGER,"
    " attempts INTEGER, verified_at REAL, cache_bypassed INTEGER)",
)
_STAGE_FILE = ("INSERT INTO temp.dw_rec_files (rel_path, size, mtime_ns, digests, status, code, message,"
               " source_reverified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_STAGE_COPY = ("INSERT INTO temp.dw_rec_copies (rel_path, destination_id, state, digests, code, message,"
               " already_present, attempts, verified_at, cache_bypassed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
# in arrival order (seq), so a path given twice ends as it did last, as one statement per row would
_UPSERT_FILES = (
    "INSERT INTO files (offload_id, rel_path, size, mtime_ns, digests, status, code, message, source_reverified)"
    " SELECT :oid, rel_path, size, mtime_ns, digests, status, code, NULLIF(message, ''), source_reverified"
    " FROM temp.dw_rec_files WHERE true ORDER BY seq"
    " ON CONFLICT (offload_id, rel_path) DO UPDATE SET size = excluded.size,"
    " mtime_ns = excluded.mtime_ns, digests = excluded.digests, status = excluded.status, code = excluded.code,"
    " message = excluded.message, source_reverified = excluded.source_reverified")
# LEFT JOIN: a copy whose file is missing fails on files.id NOT NULL, as the per-row subquery did
_UPSERT_COPIES = (
    "INSERT INTO copies (file_id, destination_id, state, digests, code, message, already_present, attempts,"
    " verified_at, cache_bypassed)"
    " SELECT f.id, t.destination_id, t.state, t.digests, t.code, NULLIF(t.message, ''), t.already_present,"
    " t.attempts, t.verified_at, t.cache_bypassed"
    " FROM temp.dw_rec_copies t LEFT JOIN files f ON f.offload_id = :oid AND f.rel_path = t.rel_path"
    " WHERE true ORDER BY t.seq"
    " ON CONFLICT (file_id, destination_id) DO UPDATE SET state = excluded.state,"
    " digests = excluded.digests, code = excluded.code, message = excluded.message,"
    " already_present = excluded.already_present, attempts = excluded.attempts,"
    " verified_at = excluded.verified_at, cache_bypassed = excluded.cache_bypassed")
_ADD_VERIFICATIONS = (
    "INSERT INTO verifications (copy_id, at, method, cache_bypassed, digests, result, code, message)"
    " SELECT c.id, CASE WHEN t.verified_at THEN t.verified_at ELSE :now END,"
    " CASE WHEN t.state = 'copied' THEN 'size-only' WHEN t.already_present THEN 'already-present'"
    " ELSE 'offload-readback' END, t.cache_bypassed, t.digests, t.state, t.code, NULLIF(t.message, '')"
    " FROM temp.dw_rec_copies t LEFT JOIN files f ON f.offload_id = :oid AND f.rel_path = t.rel_path"
    " LEFT JOIN copies c ON c.file_id = f.id AND c.destination_id = t.destination_id ORDER BY t.seq")
_CARRIED = ("UPDATE files SET status = 'verified', message = ? WHERE offload_id = ? AND rel_path = ?"
            " AND status = 'pending'")
_CLEAR = ("DELETE FROM temp.dw_rec_files", "DELETE FROM temp.dw_rec_copies")


def _digests_json(d: object) -> str | None:
    return json.dumps(dict(d)) if d else None  # type: ignore[call-overload]


class _Stop:
    """The end of the queue."""


_STOP = _Stop()


class Recorder:
    """Records one offload's results. Use: start(), on_file() per result, then finish(result) or close()."""

    def __init__(self, catalog: str | Path, record: OffloadRecord, verify_mode: VerifyMode, *,
                 batch_files: int = 2000, batch_seconds: float = 0.5,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(catalog)
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
            raise dbmod.CatalogError(
                f"The catalog {self.path} could not record the offload ({err}). The copies on the destinations "
                "are not affected: free space on the catalog's disk, then run 'datawrangler resume "
                f"{self.record.offload_id}' to record them.") from err

    # -- writer thread

    def _run(self) -> None:
        try:
            db = dbmod.connect(self.path)
        except BaseException as exc:
            self._error = exc
            self._discard()
            return
        stop = False
        try:
            db.conn.execute("PRAGMA temp_store = MEMORY")
            for sql in _STAGE:
                db.conn.execute(sql)
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
                self._write(db, batch)
                if stop:
                    return
        except BaseException as exc:
            self._error = exc
            if not stop:  # else the end was taken already, with the batch that failed
                self._discard()
        finally:
            db.close()

    def _discard(self) -> None:
        """After a failure: keep emptying the queue (holding no result) until the engine's side stops."""
        pending = self._pending
        while True:
            self._wake.wait(self.batch_seconds)
            self._wake.clear()
            for _ in range(len(pending)):
                if pending.popleft() is _STOP:
                    return

    def _write(self, db: Database, batch: list[object]) -> None:
        if not batch:
            return
        t0 = time.perf_counter()
        oid = self.record.offload_id
        dest_ids = self.record.destination_ids
        files: list[tuple] = []
        copies: list[tuple] = []
        carried: list[tuple] = []
        end: tuple | None = None
        for item in batch:
            if isinstance(item, FileResult):
                d = item.digests
                dj = _digests_json(d)
                files.append((item.rel_path, item.size, item.mtime_ns, dj, item.status, item.code, item.message,
                              int(item.source_reverified)))
                for c in item.copies:
                    cd = c.digests
                    copies.append((item.rel_path, dest_ids[c.destination], c.state,
                                   dj if cd is d or cd == d else _digests_json(cd), c.code, c.message,
                                   c.already_present, c.attempts, c.verified_at, c.cache_bypassed))
            elif isinstance(item, tuple) and item[0] == "carried":
                carried.append((item[2], oid, item[1]))
            elif isinstance(item, tuple):
                end = item
        conn = db.conn
        with db.atomic():
            if files:
                conn.executemany(_STAGE_FILE, files)
                conn.executemany(_STAGE_COPY, copies)
                conn.execute(_UPSERT_FILES, {"oid": oid})
                conn.execute(_UPSERT_COPIES, {"oid": oid})
                conn.execute(_ADD_VERIFICATIONS, {"oid": oid, "now": self.clock()})
                for sql in _CLEAR:
                    conn.execute(sql)
            if carried:
                conn.executemany(_CARRIED, carried)
            if end is not None and end[0] == "finish":
                offloads.finish_offload(db, self.record, end[1])
            elif end is not None:
                conn.execute("UPDATE offloads SET state = ?, message = ?, ended_at = ? WHERE id = ?",
                             (end[1], end[2], self.clock(), oid))
                offloads.event(db, oid, end[1], end[2])
        self.files_recorded += len(files)
        self.batches += 1
        self.write_seconds += time.perf_counter() - t0
