"""The Recorder: the engine's results go into the catalog from one writer thread, in batches.

`on_file` (called by the engine on its collector thread) only enqueues; the writer commits a batch every
`batch_files` results or `batch_seconds`, whichever comes first, so the per-file cost on the engine's
side is one queue put. `finish(result)` flushes and records the end state; if the process dies first,
what was committed stays (a copy is recorded verified only after the engine said so) and the offload
shows as interrupted.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlite_utils import Database

from datawrangler.core.events import CopyState, FileResult, OffloadResult, VerifyMode
from datawrangler.store import db as dbmod
from datawrangler.store import offloads
from datawrangler.store.offloads import OffloadRecord

_UPSERT_FILE = (
    "INSERT INTO files (offload_id, rel_path, size, mtime_ns, digests, status, code, message, source_reverified)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (offload_id, rel_path) DO UPDATE SET size = excluded.size,"
    " mtime_ns = excluded.mtime_ns, digests = excluded.digests, status = excluded.status, code = excluded.code,"
    " message = excluded.message, source_reverified = excluded.source_reverified")
_UPSERT_COPY = (
    "INSERT INTO copies (file_id, destination_id, state, digests, code, message, already_present, attempts,"
    " verified_at, cache_bypassed) VALUES ((SELECT id FROM files WHERE offload_id = ? AND rel_path = ?),"
    " ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (file_id, destination_id) DO UPDATE SET state = excluded.state,"
    " digests = excluded.digests, code = excluded.code, message = excluded.message,"
    " already_present = excluded.already_present, attempts = excluded.attempts,"
    " verified_at = excluded.verified_at, cache_bypassed = excluded.cache_bypassed")
_ADD_VERIFICATION = (
    "INSERT INTO verifications (copy_id, at, method, cache_bypassed, digests, result, code, message)"
    " VALUES ((SELECT c.id FROM copies c JOIN files f ON f.id = c.file_id"
    " WHERE f.offload_id = ? AND f.rel_path = ? AND c.destination_id = ?), ?, ?, ?, ?, ?, ?, ?)")
_CARRIED = ("UPDATE files SET status = 'verified', message = ? WHERE offload_id = ? AND rel_path = ?"
            " AND status = 'pending'")


def _flag(v: bool | None) -> int | None:
    return None if v is None else int(v)


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
        self._queue: queue.Queue[tuple | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="dw-catalog", daemon=True)
        self._error: BaseException | None = None
        self.files_recorded = 0
        self.write_seconds = 0.0  # time spent inside catalog transactions (for the benchmark)

    # -- engine side (any thread)

    def start(self) -> None:
        self._thread.start()

    def on_file(self, result: FileResult) -> None:
        self._queue.put(("file", result))

    def carried(self, rel_path: str, note: str) -> None:
        """A file every destination already held verified (resume, incremental): not copied again."""
        self._queue.put(("carried", rel_path, note))

    def finish(self, result: OffloadResult) -> None:
        """Flush every result, record the end state, stop the writer. Raises CatalogError on failure."""
        self._queue.put(("finish", result))
        self._stop()

    def close(self, state: str | None = None, message: str = "") -> None:
        """Flush and stop without a result; with `state`, record it (e.g. 'interrupted' after a bug)."""
        if state:
            self._queue.put(("stop", state, message))
        self._stop()

    def _stop(self) -> None:
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join()
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
            self._drain()
            return
        try:
            batch: list[tuple] = []
            deadline = 0.0
            while True:
                timeout = max(0.0, deadline - time.monotonic()) if batch else None
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    item = ("flush",)
                if item is None:
                    self._write(db, batch)
                    return
                if item[0] != "flush":
                    if not batch:
                        deadline = time.monotonic() + self.batch_seconds
                    batch.append(item)
                if item[0] in ("flush", "finish", "stop") or len(batch) >= self.batch_files:
                    self._write(db, batch)
                    batch = []
        except BaseException as exc:
            self._error = exc
            self._drain()
        finally:
            db.close()

    def _drain(self) -> None:
        while self._queue.get() is not None:
            pass

    def _write(self, db: Database, batch: list[tuple]) -> None:
        if not batch:
            return
        t0 = time.perf_counter()
        oid = self.record.offload_id
        files: list[tuple] = []
        copies: list[tuple] = []
        checks: list[tuple] = []
        carried: list[tuple] = []
        end: tuple | None = None
        for item in batch:
            if item[0] == "file":
                self._rows(item[1], files, copies, checks)
            elif item[0] == "carried":
                carried.append((item[2], oid, item[1]))
            else:
                end = item
        with db.atomic():
            conn = db.conn
            if files:
                conn.executemany(_UPSERT_FILE, files)
                conn.executemany(_UPSERT_COPY, copies)
                conn.executemany(_ADD_VERIFICATION, checks)
            if carried:
                conn.executemany(_CARRIED, carried)
            if end is not None and end[0] == "finish":
                offloads.finish_offload(db, self.record, end[1])
            elif end is not None:
                conn.execute("UPDATE offloads SET state = ?, message = ?, ended_at = ? WHERE id = ?",
                             (end[1], end[2], self.clock(), oid))
                offloads.event(db, oid, end[1], end[2])
        self.files_recorded += len(files)
        self.write_seconds += time.perf_counter() - t0

    def _rows(self, f: FileResult, files: list[tuple], copies: list[tuple], checks: list[tuple]) -> None:
        oid = self.record.offload_id
        dest_ids = self.record.destination_ids
        files.append((oid, f.rel_path, f.size, f.mtime_ns, json.dumps(dict(f.digests)) if f.digests else None,
                      f.status.value, f.code.value if f.code else None, f.message or None,
                      int(f.source_reverified)))
        now = self.clock()
        for c in f.copies:
            did = dest_ids[c.destination]
            digests = json.dumps(dict(c.digests)) if c.digests else None
            code = c.code.value if c.code else None
            copies.append((oid, f.rel_path, did, c.state.value, digests, code, c.message or None,
                           int(c.already_present), c.attempts, c.verified_at, _flag(c.cache_bypassed)))
            if c.state is CopyState.COPIED:
                method = "size-only"
            elif c.already_present:
                method = "already-present"
            else:
                method = "offload-readback"
            checks.append((oid, f.rel_path, did, c.verified_at or now, method, _flag(c.cache_bypassed), digests,
                           c.state.value, code, c.message or None))
