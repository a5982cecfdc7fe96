"""An offload run in a worker process of its own, behind the same call as `app.offload.run_offload`.

Why a process: the engine's threads (reader, writers, verifiers, re-reader, recorder) are Python threads.
In the window's process they share the GIL with the GUI thread, which then waited up to a few hundred
milliseconds for it during a 2 GB offload (tests/gui/test_responsive.py). In a child process they have their
own interpreter; the window's process only receives a handful of small messages a second.

The child runs `app.offload.run_offload` unchanged, so an offload is run the same way whoever starts it.
The window uses it, and so does auto-offload (the offload report's PDF is drawn by Qt, which wants the main
thread of a process: the child's). Messages go over one duplex pipe:

- child -> parent: ("started", Started), ("progress", ProgressEvent), ("file", FileResult) (only the kinds
  the parent's Observer listens to), ("notice", Notice), ("log", LogRecord), then one ("done", OffloadOutcome)
  or ("error", exc, traceback).
- parent -> child: ("control", paused, cancelled) whenever the OffloadControl of the queue row changes.

If the window's process dies, the child reads EOF on the pipe and cancels: the offload ends as
interrupted in the catalog and can be resumed. If the child dies, the parent raises OffloadProcessError;
the offload's row is marked interrupted by the next offload (store.liveness).

Pure Python, no Qt: the child never imports Qt.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from datawrangler.app.offload import Observer, OffloadOutcome, run_offload
from datawrangler.app.request import OffloadRequest
from datawrangler.core.errors import OffloadError
from datawrangler.core.events import OffloadControl
from datawrangler.store.db import CatalogError

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1  # how soon a pause or cancel reaches the child


class OffloadProcessError(RuntimeError):
    """The worker process of an offload ended without a result (it crashed or was killed)."""


def _spawn() -> multiprocessing.context.SpawnContext:
    # spawn, never fork: the window's process has Qt and thread pools that a forked child must not inherit.
    return multiprocessing.get_context("spawn")


def run_offload_isolated(req: OffloadRequest, control: OffloadControl | None = None, *,
                         catalog: str | os.PathLike[str] | None = None,
                         observer: Observer | None = None) -> OffloadOutcome:
    """`app.offload.run_offload` in a child process; the observer's callbacks run on the calling thread.
    Raises what run_offload raises (Refused, OffloadError, CatalogError, ...), or OffloadProcessError if
    the child died."""
    control = control or OffloadControl()
    observer = observer or Observer()
    files = "all" if observer.file is not None else "failed" if observer.failed is not None else ""
    ctx = _spawn()
    ours, theirs = ctx.Pipe(duplex=True)
    proc = ctx.Process(target=_child_main, args=(theirs, req, os.fspath(catalog) if catalog else None, files),
                       name=f"dw-offload {os.path.basename(req.source.rstrip('/')) or req.source}", daemon=True)
    proc.start()
    theirs.close()
    sent = (False, False)
    outcome: Any = None
    failure: BaseException | None = None
    ended = False
    try:
        while not ended:
            now = (control.paused, control.cancelled)
            if now != sent:
                with contextlib.suppress(OSError):  # the child is gone; its EOF below says how
                    ours.send(("control", *now))
                sent = now
            if not ours.poll(POLL_SECONDS):
                if not proc.is_alive() and not ours.poll(0):
                    break
                continue
            try:
                msg = ours.recv()
            except (EOFError, OSError):
                break
            kind = msg[0]
            if kind == "progress":
                if observer.progress is not None:
                    observer.progress(msg[1])
            elif kind == "file":
                observer.result(msg[1])
            elif kind == "notice":
                if observer.notice is not None:
                    observer.notice(msg[1])
            elif kind == "started":
                if observer.started is not None:
                    observer.started(msg[1])
            elif kind == "log":
                record: logging.LogRecord = msg[1]
                logging.getLogger(record.name).handle(record)
            elif kind == "done":
                outcome, ended = msg[1], True
            elif kind == "error":
                failure, ended = msg[1], True
                if not isinstance(failure, OffloadError | CatalogError):  # a bug in the worker: its traceback
                    log.error("offload process raised:\n%s", msg[2])
    finally:
        ours.close()
        proc.join(30)
        if proc.is_alive():  # it sent its result: it only has to exit; never leave it behind
            proc.kill()
            proc.join(5)
    if failure is not None:
        raise failure
    if not ended:
        raise OffloadProcessError(
            f"The offload of {req.source} stopped: its worker process ended unexpectedly (exit code "
            f"{proc.exitcode}). Nothing is lost: copies that were verified stay verified. Press Resume to "
            "finish it, and see the log if it happens again.")
    return outcome


class _PipeLogHandler(logging.Handler):
    """Sends the child's log records to the window's process, which writes the one log file."""

    def __init__(self, send: Callable[[tuple], None]) -> None:
        super().__init__(logging.INFO)
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            record.msg = record.getMessage()
            record.args = None
            if record.exc_info:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
                record.exc_info = None
            self._send(("log", record))
        except Exception:  # a log line must never stop an offload
            self.handleError(record)


def _child_main(conn: Connection, req: OffloadRequest, catalog: str | None, files: str) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the window decides what happens (it asks,
    # then cancels), so the child ignores SIGINT and waits for the cancel message.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lock = threading.Lock()
    control = OffloadControl()

    def send(msg: tuple) -> None:
        with lock:
            try:
                conn.send(msg)
            except (OSError, ValueError):  # the window's process is gone: the listener cancels
                control.cancel()

    root = logging.getLogger()
    root.handlers[:] = [_PipeLogHandler(send)]
    root.setLevel(logging.INFO)

    def listen() -> None:
        while True:
            try:
                _kind, paused, cancelled = conn.recv()
            except (EOFError, OSError):  # the window's process ended or closed the pipe
                control.cancel()
                return
            if cancelled:
                control.cancel()
            elif paused:
                control.pause()
            else:
                control.resume()

    threading.Thread(target=listen, name="dw-control", daemon=True).start()
    try:
        observer = Observer(started=lambda s: send(("started", s)), progress=lambda e: send(("progress", e)),
                            notice=lambda n: send(("notice", n)))
        if files == "all":
            observer.file = lambda f: send(("file", f))
        elif files == "failed":
            observer.failed = lambda f: send(("file", f))
        outcome = run_offload(req, control, catalog=catalog, observer=observer)
    except BaseException as exc:  # handed to the window, which shows it through its one message path
        send(("error", _picklable(exc), traceback.format_exc()))
    else:
        send(("done", outcome))
    finally:
        with lock:
            conn.close()


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return OffloadProcessError(f"{type(exc).__name__}: {exc}")
