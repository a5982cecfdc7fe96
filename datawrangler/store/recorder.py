"""The Recorder: the engine's results go into the catalog from one writer thread, in batches.

`on_file` (called by the engine on its collector thread) appends the engine's own immutable FileResult to
a deque: no lock, no wake-up of the writer, no per-file object made for the catalog. The writer wakes
every `batch_seconds`, or as soon as `batch_files` results wait, and commits everything waiting in one
transaction: plain tuples go into TEMP tables with one batched insert (sqlite3's executemany, whose loop
runs in C, or the server driver's batches), then one INSERT ... SELECT each fills files, copies and
verifications: the same SQL text on an SQLite file and on a PostgreSQL server, a few round trips per batch
whatever its size. `finish(result)` flushes and records the end state; if the process dies first, what was
committed stays (a copy is recorded verified only after the engine said so) and the offload shows as
interrupted. On a server that stops answering, the batches wait in the spool (store.spool) when one is given.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from datawrangler.core.events import FileResult, OffloadResult, VerifyMode
from datawrangler.store import db as dbmod
from datawrangler.store import spool as spool_mod
from datawrangler.store.catalog import Catalog
from datawrangler.store.errors import ServerUnavailable
from datawrangler.store.offloads import OffloadRecord
from datawrangler.store.recorder_batch import STAGE, write_batch
from datawrangler.store.recorder_batch import replay as replay  # app.spooled delivers a spool through it


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
            db.run("PRAGMA temp_store = MEMORY")  # SQLite only: the staging stays out of temp files
        else:
            from datawrangler.store.server_catalog import connect_server

            db = connect_server(self.location)
        for sql in STAGE:
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
