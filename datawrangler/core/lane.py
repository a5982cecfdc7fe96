"""A destination's small files in a process of its own (the *lane*), so that its system calls never wait for the
interpreter's lock.

Each small file costs a destination a few system calls to write it and a few more to read it back, and a thread
gives the interpreter's lock up at every one and takes it again after, with a reader, two writers, two verifiers
and the collector all taking it in turn. On a card of 30,000 files of 16 KB the engine took 12.5 s where a loop of
the same calls, one per destination, took 7 s; with the destinations' small files in processes of their own it
takes 9.8 s (benchmarks/README.md, "Fifth pass").

So where it is safe, the writer thread of a destination hands each batch of very small files (on average no
more than core.destination.IN_TURN_FILE_BYTES: those a destination verifies in turn with their writing anyway;
larger ones keep the threads' overlap of one batch's read-back with the next one's writing) to a process that
runs the very same code (core.destination: `_write_whole`, then `_verify_batch` with its barrier, read-back,
commit and name sync) on its own `FsMedium` of the roll, and waits for the outcomes, which it passes on as its
own. What a copy must be to be called verified is unchanged, word for word. In full mode the writer thread
first waits for the card's second read of each file of the batch, as the verifier would before its commit: a
file the card gave differently fails there and is never written; the lane gets only the others.

Used only where nothing crosses processes but bytes and outcomes: a plain filesystem roll (`FsMedium`, verified
batch by batch), no stage-2 source check, enough small files to pay for a process (MIN_SMALL_FILES), a POSIX
system (the socket is handed down as a descriptor), and not a frozen bundle (its interpreter is the
application). Anything else, or a lane that stops answering, is done by the threads as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from datawrangler.core.destination import Destination
from datawrangler.core.errors import Code
from datawrangler.core.events import OffloadControl, VerifyMode
from datawrangler.core.medium import Medium
from datawrangler.core.medium.base import VerifyPolicy
from datawrangler.core.medium.fs import FsMedium
from datawrangler.core.pipeline import CollectorMessage, Shared, Verdicts, Warned, WholeFile
from datawrangler.core.plan import OffloadPlan

log = logging.getLogger(__name__)

# below this many small files a card is done by the threads: starting a process costs about 0.1 s
MIN_SMALL_FILES = 2000


def wanted(plan: OffloadPlan, medium: Medium, small_files: int, expected: object) -> bool:
    """Should this destination's small files go through a lane?"""
    return (plan.lanes and small_files >= MIN_SMALL_FILES and type(medium) is FsMedium and expected is None
            and medium.verify_policy is VerifyPolicy.EACH_BATCH and os.name == "posix"
            and not getattr(sys, "frozen", False))


def count_small(sizes: Iterable[int], limit: int, enough: int = MIN_SMALL_FILES) -> int:
    """How many of the files have `limit` bytes or less, counted up to `enough` (a card of a million files is
    not walked to the end to learn that it has enough)."""
    n = 0
    for size in sizes:
        if size <= limit:
            n += 1
            if n >= enough:
                break
    return n


@dataclass(slots=True)
class _Reply:
    """Lane -> writer thread: a batch's outcomes, as the destination's threads would have posted them."""

    messages: list[CollectorMessage] = field(default_factory=list)
    bytes_written: int = 0
    bytes_verified: int = 0
    dead: Code | None = None  # what the drive died of
    dead_message: str = ""
    error: BaseException | None = None  # a bug in the lane: the engine stops with it
    logged: list[logging.LogRecord] = field(default_factory=list)  # what the lane logged, to be logged here


class _Posted:
    """The lane's stand-in for the collector's queue: what the destination's code posts, kept for the reply."""

    def __init__(self) -> None:
        self.messages: list[CollectorMessage] = []

    def put(self, msg: CollectorMessage) -> None:
        self.messages.append(msg)


class Lane:
    """The writer thread's end of one destination's lane process."""

    def __init__(self, dest: Destination) -> None:
        self._dest = dest
        medium = dest.medium
        assert isinstance(medium, FsMedium)
        # a fresh interpreter that imports this module only: never a fork of a process that runs threads, and
        # never the caller's main script run again (multiprocessing's spawn would, in a script without a guard)
        ours, theirs = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-c", "from datawrangler.core.lane import main; main()", str(theirs.fileno()),
                 str(os.getpid())],
                pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                start_new_session=True)  # Ctrl-C at the terminal cancels the offload, which stops its lanes
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        try:
            self._conn.send((dest.index, dest.tag, medium.location, dest.plan, medium.new_dirs()))
        except (OSError, ValueError):
            self.close()
            raise

    def run(self, files: Sequence[WholeFile]) -> bool:
        """Write and verify a batch in the lane; its outcomes go to the collector from here. False: the lane
        is gone (said in the log), nothing of this batch was reported, and the threads must do it (a copy the
        lane already verified is found there and verified again, never written twice)."""
        try:
            self._conn.send(files)
            reply: _Reply = self._conn.recv()
        except (OSError, EOFError, ValueError) as exc:
            log.warning("destination %s: the lane process stopped (%s); the threads go on with its files",
                        self._dest.roll, exc)
            self.close()
            return False
        for record in reply.logged:  # into this process's log, as if the threads had said it
            logging.getLogger(record.name).handle(record)
        if reply.error is not None:
            raise reply.error
        dest = self._dest
        dest.counters.bytes_written += reply.bytes_written
        dest.counters.bytes_verified += reply.bytes_verified
        for msg in reply.messages:
            if type(msg) is Warned:
                dest.warn_once(msg.warning.code, msg.warning.message)
            else:
                dest.shared.results.put(msg)
        if reply.dead is not None and dest.dead is None:
            dest.dead, dest.dead_message = reply.dead, reply.dead_message
            dest.counters.state = "failed"
        return True

    def close(self) -> None:
        """Stop the process (it has nothing pending between batches)."""
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(None)
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._conn.close()


class _Kept(logging.Handler):
    """The lane's log: kept for the reply (the message made here, where its arguments are)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(logging.makeLogRecord({
            "name": record.name, "levelno": record.levelno, "levelname": record.levelname,
            "msg": record.getMessage(), "args": None, "pathname": record.pathname, "lineno": record.lineno,
            "funcName": record.funcName, "created": record.created, "msecs": record.msecs,
            "exc_text": self.format(record) if record.exc_info else None}))


_kept = _Kept()


def main() -> None:
    """The lane process (`python -c ...`, started by Lane): serve the socket whose descriptor is argv[1]."""
    if sys.platform.startswith("linux"):  # the offload killed: its lane goes with it, never writing on alone
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != int(sys.argv[2]):
            return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the offload decides when a batch is the last
    root = logging.getLogger()
    root.addHandler(_kept)
    root.setLevel(logging.INFO)
    conn = Connection(int(sys.argv[1]))
    try:
        index, tag, roll, plan, new_dirs = conn.recv()
        _serve(conn, index, tag, roll, plan, new_dirs)
    except (EOFError, OSError):  # the offload went away between two batches: nothing is half done
        pass


def _serve(conn: Connection, index: int, tag: str, roll: str, plan: OffloadPlan, new_dirs: list[str]) -> None:
    """The lane process: one Destination of the roll, fed batch by batch, with no thread of its own."""
    medium = FsMedium(roll)
    medium.attach(new_dirs)
    posted = _Posted()
    shared = Shared(plan, OffloadControl(), Verdicts(), {}, posted)  # type: ignore[arg-type]
    dest = Destination(index, medium, shared)
    dest.tag = tag  # the writer thread's temp names: a file it must write again after a lost lane replaces its temp
    buf = bytearray(plan.chunk_size)
    while (files := conn.recv()) is not None:
        reply = _Reply()
        try:
            if plan.verify_mode is VerifyMode.FULL:  # the writer thread sends only what the card gave twice alike
                shared.verdicts.set_many([(w.job.key, True) for w in files])
            batch = [p for p in (dest._write_whole(w) for w in files) if p is not None]
            if batch:
                dest._verify_batch(batch, buf)
        except BaseException as exc:  # a bug: handed to the engine, which stops the offload with it
            reply.error = exc if _picklable(exc) else RuntimeError("".join(traceback.format_exception(exc)))
        for w in files:
            shared.verdicts.forget(w.job.key)
        reply.messages, posted.messages = posted.messages, []
        reply.logged, _kept.records = _kept.records, []
        reply.bytes_written, dest.counters.bytes_written = dest.counters.bytes_written, 0
        reply.bytes_verified, dest.counters.bytes_verified = dest.counters.bytes_verified, 0
        reply.dead, reply.dead_message = dest.dead, dest.dead_message
        conn.send(reply)
        if reply.error is not None:
            break
    conn.close()


def _picklable(exc: BaseException) -> bool:
    import pickle

    try:
        pickle.dumps(exc)
    except Exception:
        return False
    return True
