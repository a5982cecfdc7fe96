"""The one bridge between worker threads and the GUI thread.

Widgets and models never start threads: they hand a function to `Bridge.run`, which runs it on a
thread pool and delivers the result (or the exception) back on the GUI thread through one queued signal.
Offloads run on their own pool (they last minutes to hours; catalog reads must not wait behind them) and
report through a `Pump` that throttles progress to a few deliveries per second and batches failed files.

`SyncBridge` runs everything at once on the calling thread: tests of models and views use it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class _QtJob(QThread):
    """A task that uses Qt objects with timers (QTextDocument, QPdfWriter): it needs a QThread, whose event
    dispatcher lives as long as the thread; a plain Python thread's does not."""

    def __init__(self, bridge: Bridge, fn: Callable[..., Any], args: tuple, on_done: Done | None,
                 on_error: Failed | None) -> None:
        super().__init__()
        self.bridge, self.fn, self.args, self.on_done, self.on_error = bridge, fn, args, on_done, on_error

    def run(self) -> None:
        self.bridge._task(self.fn, self.args, self.on_done, self.on_error)


class Bridge(QObject):
    """Run work off the GUI thread; get results back on it. `failed` carries unhandled worker errors.

    Python thread pools (concurrent.futures), not QThreadPool: a Python QRunnable handed to QThreadPool
    crashed PySide6 6.12 with a refcount error under load; the pools' threads also end cleanly at shutdown.
    """

    failed = Signal(object)  # BaseException from a task without on_error
    _deliver = Signal(object)  # a callable to run on the GUI thread

    def __init__(self, parent: QObject | None = None, *, query_threads: int = 3, offload_threads: int = 6) -> None:
        super().__init__(parent)
        self._queries = ThreadPoolExecutor(query_threads, thread_name_prefix="dw-query")
        self._long = ThreadPoolExecutor(offload_threads, thread_name_prefix="dw-offload")
        self._futures: set[Future] = set()
        self._qt_jobs: set[_QtJob] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._deliver.connect(self._run_delivered, Qt.ConnectionType.QueuedConnection)

    # -- any thread

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run fn(*args) on the GUI thread, from any thread."""
        try:
            self._deliver.emit(partial(fn, *args))
        except RuntimeError:  # the bridge was deleted (the window is gone): nobody is left to tell
            log.debug("dropped a delivery after the bridge was deleted")

    def _task(self, fn: Callable[..., Any], args: tuple, on_done: Done | None, on_error: Failed | None) -> None:
        try:
            result = fn(*args)
        except BaseException as exc:  # delivered to the GUI thread: a known condition or a bug
            self.call_soon(on_error or self.failed.emit, exc)
        else:
            if on_done is not None:
                self.call_soon(on_done, result)

    # -- GUI thread

    def run(self, fn: Callable[..., Any], *args: Any, on_done: Done | None = None, on_error: Failed | None = None,
            long: bool = False, qt: bool = False) -> None:
        """Run fn(*args) on a worker; on_done(result) or on_error(exc) later, on the GUI thread. qt=True: fn
        uses Qt objects (a PDF through QTextDocument) and runs on a QThread of its own."""
        if self._closed:
            return
        if qt:
            job = _QtJob(self, fn, args, on_done, on_error)
            self._qt_jobs.add(job)
            job.finished.connect(lambda: self._qt_job_ended(job))
            job.start()
            return
        fut = (self._long if long else self._queries).submit(self._task, fn, args, on_done, on_error)
        with self._lock:
            self._futures.add(fut)
        fut.add_done_callback(self._forget)

    def _qt_job_ended(self, job: _QtJob) -> None:
        self._qt_jobs.discard(job)
        job.deleteLater()

    def _forget(self, fut: Future) -> None:
        with self._lock:
            self._futures.discard(fut)

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._futures) or any(j.isRunning() for j in self._qt_jobs)

    def _run_delivered(self, fn: Callable[[], Any]) -> None:
        if not self._closed:
            fn()

    def wait_idle(self, timeout_ms: int = 30000) -> bool:
        """Wait until no task runs (results may still be queued for delivery)."""
        with self._lock:
            pending = list(self._futures)
        _done, not_done = wait(pending, timeout=timeout_ms / 1000)
        qt_ok = all(j.wait(timeout_ms) for j in list(self._qt_jobs))
        return not not_done and qt_ok

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop taking work and wait for the workers (the caller cancels offloads first)."""
        self._closed = True
        ok = self.wait_idle(timeout_ms)
        if ok:
            self._long.shutdown(wait=True)
            self._queries.shutdown(wait=True)
        else:
            self._long.shutdown(wait=False, cancel_futures=True)
            self._queries.shutdown(wait=False, cancel_futures=True)
        return ok


class SyncBridge(Bridge):
    """The same interface, no threads: run() finishes (and calls back) before it returns."""

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        if not self._closed:
            fn(*args)

    def run(self, fn: Callable[..., Any], *args: Any, on_done: Done | None = None, on_error: Failed | None = None,
            long: bool = False, qt: bool = False) -> None:
        if self._closed:
            return
        try:
            result = fn(*args)
        except BaseException as exc:
            (on_error or self.failed.emit)(exc)
        else:
            if on_done is not None:
                on_done(result)


class Pump:
    """Throttles a worker's reports to the GUI: the latest progress at most every `interval` seconds, and
    batched items (failed files, warnings) with it. The worker calls progress()/item(); flush() at the end."""

    def __init__(self, bridge: Bridge, on_progress: Callable[[Any], None], on_items: Callable[[list], None],
                 interval: float = 0.25) -> None:
        self.bridge, self.on_progress, self.on_items, self.interval = bridge, on_progress, on_items, interval
        self._lock = threading.Lock()
        self._latest: Any = None
        self._items: list = []
        self._last = 0.0
        self.deliveries = 0

    def progress(self, event: Any) -> None:
        with self._lock:
            self._latest = event
        self._maybe_flush()

    def item(self, item: Any) -> None:
        with self._lock:
            self._items.append(item)
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        with self._lock:
            latest, self._latest = self._latest, None
            items, self._items = self._items, []
            self._last = time.monotonic() if now is None else now
        if items:
            self.bridge.call_soon(self.on_items, items)
        if latest is not None:
            self.deliveries += 1
            self.bridge.call_soon(self.on_progress, latest)
