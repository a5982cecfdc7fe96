"""The offload engine: read the card once, fan out, hash while reading, verify from the medium.

Threads, per offload:
- one *reader* reads each card file once, hashes every chunk and hands it to every destination's bounded
  queue (memory stays bounded whatever the file size); in `full` mode it then re-reads the file after
  dropping its pages, and tells the destinations whether the card gave the same bytes twice;
- per destination, a *writer* writes each file to a hidden temp name, sets the card's modification time,
  and makes a batch of files durable with one barrier (Linux syncfs; fsync per file elsewhere);
- per destination, a *verifier* takes synced batches (so the read-back of file k overlaps the writing of
  file k+1), drops each file's pages, reads it back from the medium and hashes it. Only a match is
  renamed to its final name, and only after the rename is durable is the copy reported verified;
- the calling thread collects the outcomes, decides each file's result, schedules re-copies of mismatches
  and emits throttled progress events.

A file therefore appears under its final name only with bytes that were read back and matched (or, in
`size` mode, synced and of the right size). A crash leaves temp files only; the next run removes them.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from datawrangler.core import durable
from datawrangler.core.errors import Code, OffloadError, dest_code_for, message_for
from datawrangler.core.events import (
    CopyResult,
    CopyState,
    DestinationProgress,
    DestinationResult,
    FileResult,
    FileStatus,
    OffloadControl,
    OffloadResult,
    OffloadState,
    ProgressEvent,
    SkippedEntry,
    VerifyMode,
)
from datawrangler.core.hashing import MultiHasher
from datawrangler.core.plan import OffloadPlan, preflight
from datawrangler.core.scan import ScanResult, SourceFile, scan_source

log = logging.getLogger(__name__)

TEMP_PREFIX = ".dwtmp-"
TEMP_SUFFIX = ".part"
_FATAL_DEST = {Code.DEST_FULL, Code.DEST_GONE, Code.DEST_PERMISSION}
# errnos that mean the device itself went away (EIO is not among them: that is one bad region)
_DEVICE_GONE = {errno.ENODEV, errno.ENXIO, errno.ENOTCONN, errno.ESHUTDOWN, errno.ESTALE,
                getattr(errno, "ENOMEDIUM", -1)}


def is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def remove_temp_files(roll: str) -> int:
    """Remove temp files that an interrupted run left in a roll folder. Returns how many."""
    removed = 0
    for dirpath, _dirs, names in os.walk(roll):
        for name in names:
            if is_temp_name(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(dirpath, name))
                    removed += 1
    return removed


# ---------------------------------------------------------------------------------------------- jobs


@dataclass(frozen=True, slots=True)
class _Job:
    key: tuple[int, int]  # (pass, file index): unique for the whole run
    index: int
    file: SourceFile
    dests: tuple[int, ...]
    attempt: int


@dataclass(slots=True)
class _Pending:
    """A file written to a temp name (or found already there), waiting for the barrier and verification."""

    job: _Job
    temp: str | None  # None: an existing file at the final name is verified instead
    final: str
    digests: dict[str, str]


class _SourceGone(Exception):
    pass


class _Verdicts:
    """Full mode: did the card give the same bytes on the second read? Verifiers wait for it before
    renaming, so bytes from a flaky read never get a final name."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._values: dict[tuple[int, int], bool] = {}
        self._aborted = False

    def set(self, key: tuple[int, int], ok: bool) -> None:
        with self._cond:
            self._values[key] = ok
            self._cond.notify_all()

    def wait(self, key: tuple[int, int]) -> bool:
        with self._cond:
            while key not in self._values and not self._aborted:
                self._cond.wait(0.5)
            return self._values.get(key, False)

    def forget(self, key: tuple[int, int]) -> None:
        with self._cond:
            self._values.pop(key, None)

    def abort(self) -> None:
        with self._cond:
            self._aborted = True
            self._cond.notify_all()


@dataclass
class _Counters:
    bytes_written: int = 0
    bytes_verified: int = 0
    state: str = "waiting"


# --------------------------------------------------------------------------------------------- engine


class _Destination:
    """Writer and verifier threads for one roll folder."""

    def __init__(self, index: int, roll: str, engine: _Engine) -> None:
        self.index = index
        self.roll = roll
        self.engine = engine
        self.plan = engine.plan
        self.inbox: queue.Queue[tuple] = queue.Queue(maxsize=self.plan.queue_depth)
        self.batches: queue.Queue[tuple[list[_Pending], threading.Event] | None] = queue.Queue(maxsize=2)
        self.counters = _Counters()
        self.dead: Code | None = None
        self.dead_message = ""
        self._made_dirs: set[str] = set()
        self._tag = uuid.uuid4().hex[:8]
        self._lock_fd: int | None = None
        self.writer = threading.Thread(target=self._guard(self._write_loop), name=f"dw-write-{index}",
                                       daemon=True)
        self.verifier = threading.Thread(target=self._guard(self._verify_loop), name=f"dw-verify-{index}",
                                         daemon=True)

    def _guard(self, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # a bug: hand it to the collector, which re-raises it
                self.engine.results.put(("bug", exc))
        return run

    # -- setup

    def prepare(self) -> None:
        os.makedirs(self.roll, exist_ok=True)
        self._made_dirs.add(self.roll)
        if hasattr(os, "O_DIRECTORY"):
            import fcntl

            fd = os.open(self.roll, os.O_RDONLY | os.O_DIRECTORY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise OffloadError(Code.DEST_DUPLICATE, f"Another offload is writing to {self.roll} right "
                                   "now. Wait for it to finish, or choose another folder.",
                                   path=self.roll) from None
            self._lock_fd = fd
        remove_temp_files(self.roll)

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def start(self) -> None:
        self.writer.start()
        self.verifier.start()

    def join(self) -> None:
        self.writer.join()
        self.verifier.join()

    # -- helpers

    def _fail(self, job: _Job, code: Code, detail: str = "", attempts: int | None = None) -> None:
        self.engine.results.put(("copy", job.key, CopyResult(
            self.index, CopyState.FAILED, code, message_for(code, detail), attempts=attempts or job.attempt)))

    def _die(self, code: Code, exc: OSError | None) -> None:
        if self.dead is None:
            self.dead = code
            self.dead_message = message_for(code, exc.strerror or "" if exc else "")
            self.counters.state = "failed"
            log.warning("destination %s failed: %s", self.roll, self.dead_message)

    def _code_for(self, exc: OSError) -> Code:
        code = dest_code_for(exc)
        # a vanished mount shows up as the roll folder no longer being there
        if code in (Code.DEST_WRITE_ERROR, Code.DEST_GONE) and not os.path.isdir(self.roll):
            return Code.DEST_GONE
        return code

    def _mkdirs(self, folder: str) -> None:
        if folder not in self._made_dirs:
            os.makedirs(folder, exist_ok=True)
            self._made_dirs.add(folder)

    # -- writer thread

    def _write_loop(self) -> None:
        batch: list[_Pending] = []
        batch_bytes = 0
        cur: _Pending | None = None  # the file being written (or an existing file to verify)
        fd = -1
        reported = False  # the current file's failure was already reported
        while True:
            msg = self.inbox.get()
            kind = msg[0]
            if kind == "file":
                cur, fd, reported = self._open_file(msg[1])
            elif kind == "data":
                if fd >= 0 and cur is not None:
                    try:
                        self._write_all(fd, msg[1])
                        self.counters.bytes_written += len(msg[1])
                    except OSError as exc:
                        self._close_unlink(fd, cur.temp)
                        self._write_failed(cur.job, exc)
                        cur, fd, reported = None, -1, True
            elif kind == "end":
                job, digests = msg[1], msg[2]
                if digests is None:  # the card could not be read: the engine fails the file itself
                    if cur is not None:
                        self._close_unlink(fd, cur.temp)
                    cur, fd = None, -1
                    continue
                if cur is None:
                    if not reported:  # a dead destination learns of the file only now
                        self._fail(job, self.dead or Code.DEST_WRITE_ERROR)
                    continue
                cur.digests = digests
                if fd >= 0 and not self._finish_file(cur, fd):
                    cur, fd = None, -1
                    continue
                batch.append(cur)
                batch_bytes += cur.job.file.size
                cur, fd = None, -1
                if batch_bytes >= self.plan.batch_bytes or len(batch) >= self.plan.batch_files:
                    self._commit(batch)
                    batch, batch_bytes = [], 0
            elif kind == "abort":  # cancelled or card gone: drop the file in progress
                if cur is not None:
                    self._close_unlink(fd, cur.temp)
                    cur, fd = None, -1
                if self.engine.control.cancelled:
                    for p in batch:
                        self._unlink(p.temp)
                    batch, batch_bytes = [], 0
                elif batch:  # the card is gone, but what was read whole is verified and kept
                    self._commit(batch)
                    batch, batch_bytes = [], 0
            elif kind == "flush":
                if batch:
                    self._commit(batch)
                    batch, batch_bytes = [], 0
            elif kind == "stop":
                self.batches.put(None)
                return

    def _write_failed(self, job: _Job, exc: OSError) -> None:
        code = self._code_for(exc)
        self._fail(job, code, exc.strerror or "")
        if code in _FATAL_DEST:
            self._die(code, exc)

    def _open_file(self, job: _Job) -> tuple[_Pending | None, int, bool]:
        """Start a file: (pending, fd, reported). A conflict or an error is reported here."""
        if self.dead is not None:
            return None, -1, False  # reported at "end", once the card read succeeded
        self.counters.state = "writing"
        final = os.path.join(self.roll, *job.file.rel_path.split("/"))
        try:
            st = os.lstat(final)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            self._write_failed(job, exc)
            return None, -1, True
        if st is not None:
            if not stat.S_ISREG(st.st_mode) or st.st_size != job.file.size:
                what = ("a folder or special file is there" if not stat.S_ISREG(st.st_mode)
                        else f"the file there has {st.st_size} bytes, the card's has {job.file.size}")
                self._fail(job, Code.CONFLICT, f"{final}: {what}")
                return None, -1, True
            return _Pending(job, None, final, {}), -1, False  # same size: verify it instead of writing
        folder = os.path.dirname(final)
        temp = os.path.join(folder, f"{TEMP_PREFIX}{self._tag}-{job.index}{TEMP_SUFFIX}")
        try:
            self._mkdirs(folder)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o644)
        except OSError as exc:
            self._write_failed(job, exc)
            return None, -1, True
        return _Pending(job, temp, final, {}), fd, False

    def _finish_file(self, p: _Pending, fd: int) -> bool:
        """Set the card's modification time, sync (unless a batch barrier will), close."""
        try:
            mt = p.job.file.mtime_ns
            if os.utime in os.supports_fd:
                os.utime(fd, ns=(mt, mt))
            else:
                os.utime(p.temp or p.final, ns=(mt, mt))
            if not durable.have_syncfs():
                durable.sync_file(fd)
            os.close(fd)
            return True
        except OSError as exc:
            self._close_unlink(fd, p.temp)
            self._write_failed(p.job, exc)
            return False

    @staticmethod
    def _write_all(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]

    @staticmethod
    def _unlink(path: str | None) -> None:
        if path:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def _close_unlink(self, fd: int, temp: str | None) -> None:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._unlink(temp)

    def _commit(self, batch: list[_Pending]) -> None:
        """Make a batch of written files durable with one barrier, then hand it to the verifier."""
        if durable.have_syncfs() and any(p.temp for p in batch):
            try:
                fd = os.open(self.roll, os.O_RDONLY)
                try:
                    durable.sync_filesystem(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                for p in batch:
                    self._unlink(p.temp)
                    self._write_failed(p.job, exc)
                return
        done = threading.Event()
        self.batches.put((batch, done))
        if not self.plan.overlap_verify:
            done.wait()

    # -- verifier thread

    def _verify_loop(self) -> None:
        buf = bytearray(self.plan.chunk_size)
        while True:
            item = self.batches.get()
            if item is None:
                return
            batch, done = item
            dirs: set[str] = set()
            outcomes: list[tuple[_Pending, CopyResult]] = []
            for p in batch:
                result = self._verify_one(p, buf)
                if result.state is not CopyState.FAILED and p.temp is not None:
                    dirs.add(os.path.dirname(p.final))
                outcomes.append((p, result))
            for d in dirs:
                try:
                    durable.sync_dir(d)
                except OSError as exc:
                    log.warning("cannot sync folder %s: %s", d, exc)
            for p, result in outcomes:
                self.engine.results.put(("copy", p.job.key, result))
            done.set()
            if self.counters.state == "verifying":
                self.counters.state = "writing"

    def _verify_one(self, p: _Pending, buf: bytearray) -> CopyResult:
        job, mode = p.job, self.plan.verify_mode
        engine = self.engine
        if engine.control.cancelled and p.temp is not None:
            self._unlink(p.temp)
            return CopyResult(self.index, CopyState.FAILED, Code.CANCELLED, message_for(Code.CANCELLED),
                              attempts=job.attempt)
        if mode is VerifyMode.FULL and not engine.verdicts.wait(job.key):
            self._unlink(p.temp)
            code = engine.source_failure.get(job.key, Code.SOURCE_UNSTABLE)
            return CopyResult(self.index, CopyState.FAILED, code, message_for(code), attempts=job.attempt)
        path = p.temp or p.final
        if mode is VerifyMode.SIZE:
            try:
                size = os.stat(path).st_size
            except OSError as exc:
                return self._verify_failed(p, exc)
            if size != job.file.size:
                self._unlink(p.temp)
                return CopyResult(self.index, CopyState.FAILED, Code.VERIFY_MISMATCH,
                                  message_for(Code.VERIFY_MISMATCH, f"size {size}, expected {job.file.size}"),
                                  attempts=job.attempt)
            digests: dict[str, str] = {}
            bypassed: bool | None = None
        else:
            self.counters.state = "verifying"
            try:
                digests, bypassed = self._read_back(path, buf)
            except _Cancelled:
                self._unlink(p.temp)
                return CopyResult(self.index, CopyState.FAILED, Code.CANCELLED, message_for(Code.CANCELLED),
                                  attempts=job.attempt)
            except OSError as exc:
                return self._verify_failed(p, exc)
            if digests != p.digests:
                self._unlink(p.temp)
                if p.temp is None:  # a different file was already there: never touched
                    return CopyResult(self.index, CopyState.FAILED, Code.CONFLICT,
                                      message_for(Code.CONFLICT, p.final), attempts=job.attempt)
                return CopyResult(self.index, CopyState.FAILED, Code.VERIFY_MISMATCH,
                                  message_for(Code.VERIFY_MISMATCH, _diff(p.digests, digests)),
                                  attempts=job.attempt)
        if p.temp is not None:
            try:
                _rename_no_replace(p.temp, p.final)
            except FileExistsError:
                self._unlink(p.temp)
                return CopyResult(self.index, CopyState.FAILED, Code.CONFLICT,
                                  message_for(Code.CONFLICT, f"{p.final} appeared during the copy"),
                                  attempts=job.attempt)
            except OSError as exc:
                return self._verify_failed(p, exc)
        state = CopyState.COPIED if mode is VerifyMode.SIZE else CopyState.VERIFIED
        return CopyResult(self.index, state, None, "", digests, already_present=p.temp is None,
                          cache_bypassed=bypassed, attempts=job.attempt,
                          verified_at=time.time() if state is CopyState.VERIFIED else None)

    def _verify_failed(self, p: _Pending, exc: OSError) -> CopyResult:
        self._unlink(p.temp)
        code = self._code_for(exc)
        if code is not Code.DEST_GONE:
            code = Code.VERIFY_READ_ERROR if code is Code.DEST_WRITE_ERROR else code
        else:
            self._die(code, exc)
        return CopyResult(self.index, CopyState.FAILED, code, message_for(code, exc.strerror or ""),
                          attempts=p.job.attempt)

    def _read_back(self, path: str, buf: bytearray) -> tuple[dict[str, str], bool]:
        mh = MultiHasher(self.plan.algorithms)
        view = memoryview(buf)
        fd, bypassed = durable.open_for_verify(path)
        try:
            while True:
                if self.engine.control.cancelled:
                    raise _Cancelled
                n = os.readv(fd, [buf])
                if not n:
                    break
                mh.update(view[:n])
                self.counters.bytes_verified += n
        finally:
            _close_quietly(fd)
        return mh.hexdigests(), bypassed


class _Cancelled(Exception):
    pass


def _close_quietly(fd: int) -> None:
    """Close a descriptor we only read from: a vanished device may refuse even that, and it changes nothing."""
    with contextlib.suppress(OSError):
        os.close(fd)


def _diff(expected: dict[str, str], got: dict[str, str]) -> str:
    for name, value in expected.items():
        if got.get(name) != value:
            return f"{name} {got.get(name)} read back, {value} on the card"
    return "digests differ"


def _rename_no_replace(src: str, dst: str) -> None:
    """Rename that never replaces an existing file (hard link + unlink; plain checked rename where links
    are not supported, e.g. exFAT)."""
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError:
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "exists", dst) from None
        os.rename(src, dst)
        return
    os.unlink(src)


class _Engine:
    def __init__(self, plan: OffloadPlan, scan: ScanResult, control: OffloadControl,
                 on_progress: Callable[[ProgressEvent], None] | None,
                 on_file: Callable[[FileResult], None] | None, progress_interval: float,
                 already_verified: Callable[[SourceFile], Iterable[int]] | None = None) -> None:
        self.plan = plan
        self.scan = scan
        self.control = control
        self.on_progress = on_progress
        self.on_file = on_file
        self.progress_interval = progress_interval
        self.already_verified = already_verified
        self.results: queue.Queue[tuple] = queue.Queue()
        self.verdicts = _Verdicts()
        self.source_failure: dict[tuple[int, int], Code] = {}
        self.dests = [_Destination(i, roll, self) for i, roll in enumerate(plan.destinations)]
        self.bytes_read = 0
        self.bytes_reread = 0
        self.current_file = ""
        self.phase = "copying"
        self.interrupted: str = ""
        self.source_dev = os.stat(plan.source).st_dev

    # -- reader thread

    def _source_gone(self, exc: OSError | None = None) -> bool:
        """Is the card gone (pulled, reader unplugged), rather than one region of it unreadable?"""
        if exc is not None and exc.errno in _DEVICE_GONE:
            return True
        try:
            return os.stat(self.plan.source).st_dev != self.source_dev
        except OSError:
            return True

    def _read_pass(self, jobs: list[_Job]) -> None:
        try:
            for job in jobs:
                if self.control.paused:
                    while self.control.paused and not self.control.cancelled:
                        self.control.wait_while_paused()
                if self.control.cancelled:
                    break
                self._read_one(job)
        except _SourceGone:
            self.interrupted = "source_gone"
        except BaseException as exc:
            self.results.put(("bug", exc))
        finally:
            if self.control.cancelled or self.interrupted:
                for d in self.dests:
                    d.inbox.put(("abort",))
                self.verdicts.abort()
            else:
                for d in self.dests:
                    d.inbox.put(("flush",))
            self.results.put(("reader_done",))

    def _send(self, job: _Job, msg: tuple) -> None:
        for i in job.dests:
            self.dests[i].inbox.put(msg)

    def _read_one(self, job: _Job) -> None:
        f = job.file
        self.current_file = f.rel_path
        self._send(job, ("file", job))
        path = os.path.join(self.plan.source, *f.rel_path.split("/"))
        try:
            digests = self._read_and_fan_out(job, path)
        except _FileFailed as ff:
            self._send(job, ("end", job, None))
            self.results.put(("read", job.key, None, ff.code, ff.detail))
            return
        except _Cancelled:
            return
        self._send(job, ("end", job, digests))
        self.results.put(("read", job.key, digests, None, ""))
        if self.plan.verify_mode is VerifyMode.FULL:
            ok, code, detail = False, Code.SOURCE_READ_ERROR, "the second read did not finish"
            try:
                ok, code, detail = self._reread(job, path, digests)
            except _SourceGone:
                ok, code, detail = False, Code.SOURCE_GONE, "the card disappeared before the second read"
                raise
            finally:  # every file that was read gets a verdict, whatever happens next
                if not ok:
                    self.source_failure[job.key] = code
                self.results.put(("source", job.key, ok, code, detail))
                self.verdicts.set(job.key, ok)

    def _open_source(self, path: str) -> int:
        try:
            return os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            if self._source_gone(exc):
                raise _SourceGone from exc
            raise _FileFailed(Code.SOURCE_READ_ERROR, exc.strerror or str(exc)) from exc

    def _read_and_fan_out(self, job: _Job, path: str) -> dict[str, str]:
        f = job.file
        mh = MultiHasher(self.plan.algorithms)
        fd = self._open_source(path)
        if job.attempt > 1:  # a retry reads the card again, not the pages the last read left behind
            durable.drop_cache(fd)
        try:
            st = os.fstat(fd)
            if st.st_size != f.size or st.st_mtime_ns != f.mtime_ns:
                raise _FileFailed(Code.SOURCE_CHANGED, "size or modification time differs from the scan")
            offset = 0
            failures = 0
            while True:
                if self.control.cancelled:
                    raise _Cancelled
                if self.control.paused:
                    while self.control.paused and not self.control.cancelled:
                        self.control.wait_while_paused()
                    continue
                try:
                    chunk = os.read(fd, self.plan.chunk_size)
                except OSError as exc:
                    if self._source_gone(exc):
                        raise _SourceGone from exc
                    failures += 1
                    if failures > self.plan.read_retries:
                        raise _FileFailed(Code.SOURCE_READ_ERROR,
                                          f"{exc.strerror} at byte {offset}") from exc
                    log.warning("read error on %s at %d (%s), retry %d", path, offset, exc, failures)
                    time.sleep(min(0.05 * 2 ** failures, 1.0))
                    with contextlib.suppress(OSError):
                        os.close(fd)
                    fd = self._open_source(path)
                    os.lseek(fd, offset, os.SEEK_SET)
                    continue
                if not chunk:
                    break
                mh.update(chunk)
                offset += len(chunk)
                self.bytes_read += len(chunk)
                for i in job.dests:
                    self.dests[i].inbox.put(("data", chunk))
            st2 = os.fstat(fd)
            if offset != f.size or st2.st_size != f.size or st2.st_mtime_ns != f.mtime_ns:
                raise _FileFailed(Code.SOURCE_CHANGED, f"read {offset} bytes, the card listed {f.size}")
        finally:
            _close_quietly(fd)
        return mh.hexdigests()

    def _reread(self, job: _Job, path: str, digests: dict[str, str]) -> tuple[bool, Code, str]:
        """Full mode: read the card file again from the medium and compare the primary digest."""
        primary = self.plan.algorithms[0]
        mh = MultiHasher((primary,))
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            if self._source_gone(exc):
                raise _SourceGone from exc
            return False, Code.SOURCE_READ_ERROR, exc.strerror or ""
        try:
            durable.drop_cache(fd)
            while True:
                if self.control.cancelled:
                    return False, Code.CANCELLED, ""
                try:
                    chunk = os.read(fd, self.plan.chunk_size)
                except OSError as exc:
                    if self._source_gone(exc):
                        raise _SourceGone from exc
                    return False, Code.SOURCE_READ_ERROR, f"second read: {exc.strerror}"
                if not chunk:
                    break
                mh.update(chunk)
                self.bytes_reread += len(chunk)
        finally:
            _close_quietly(fd)
        second = mh.hexdigests()[primary]
        if second != digests[primary]:
            return False, Code.SOURCE_UNSTABLE, f"{primary} {digests[primary]} then {second}"
        return True, Code.SOURCE_UNSTABLE, ""

    # -- collector (the calling thread)

    def run(self) -> OffloadResult:
        started = time.time()
        for d in self.dests:
            d.prepare()
        try:
            for d in self.dests:
                d.start()
            acc = _Accumulator(self, started)
            jobs = self._first_jobs(acc)
            pass_no = 0
            while jobs:
                retries = self._run_pass(jobs, acc)
                if self.control.cancelled or self.interrupted:
                    break
                pass_no += 1
                self.phase = "retrying"
                jobs = [_Job((pass_no, j.index), j.index, j.file, dests, j.attempt + 1) for j, dests in retries]
            for d in self.dests:
                d.inbox.put(("stop",))
            for d in self.dests:
                d.join()
            self.phase = "done"
            acc.emit_progress(force=True)
            return acc.result(time.time())
        finally:
            for d in self.dests:
                d.release()

    def _first_jobs(self, acc: _Accumulator) -> list[_Job]:
        """Every file to every destination, less what a previous run already verified (resume)."""
        everywhere = tuple(range(len(self.dests)))
        jobs: list[_Job] = []
        for i, f in enumerate(self.scan.files):
            dests = everywhere
            if self.already_verified is not None:
                done = set(self.already_verified(f))
                dests = tuple(d for d in everywhere if d not in done)
                if not dests:
                    acc.count_previously_verified(everywhere)
                    continue
                for d in done.intersection(everywhere):
                    acc.dest_ok[d] += 1
            jobs.append(_Job((0, i), i, f, dests, 1))
            acc.add_work(f.size, len(dests))
        return jobs

    def _run_pass(self, jobs: list[_Job], acc: _Accumulator) -> list[tuple[_Job, tuple[int, ...]]]:
        by_key = {j.key: j for j in jobs}
        reader = threading.Thread(target=self._read_pass, args=(jobs,), name="dw-read", daemon=True)
        reader.start()
        reader_done = False
        retries: list[tuple[_Job, tuple[int, ...]]] = []
        while True:
            try:
                msg = self.results.get(timeout=self.progress_interval)
            except queue.Empty:
                msg = None
            if msg is not None:
                kind = msg[0]
                if kind == "bug":
                    self.control.cancel()
                    self.verdicts.abort()
                    raise msg[1]
                if kind == "reader_done":
                    reader_done = True
                else:
                    key = msg[1]
                    job = by_key.get(key)
                    if job is not None:
                        retry = acc.take(kind, job, msg)
                        if retry is not None:
                            retries.append((job, retry))
                        if acc.finished(key):
                            del by_key[key]
            acc.emit_progress()
            if reader_done and (not by_key or self._only_unstarted(by_key, acc)):
                break
        reader.join()
        return retries

    def _only_unstarted(self, by_key: dict[tuple[int, int], _Job], acc: _Accumulator) -> bool:
        """After a cancel or a pulled card: the files never read will get no outcome; stop waiting once
        every file that was read has all of its outcomes."""
        if not (self.control.cancelled or self.interrupted):
            return False
        return all(not acc.started(k) for k in by_key)


class _FileFailed(Exception):
    def __init__(self, code: Code, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass
class _FileState:
    read: bool = False
    digests: dict[str, str] | None = None
    read_code: Code | None = None
    read_detail: str = ""
    source_done: bool = False
    source_ok: bool = True
    source_code: Code | None = None
    source_detail: str = ""
    copies: dict[int, CopyResult] = field(default_factory=dict)


class _Accumulator:
    """Collects the outcomes of each file, decides its result, counts, and reports progress."""

    def __init__(self, engine: _Engine, started: float) -> None:
        self.engine = engine
        self.plan = engine.plan
        self.started_at = started
        self.states: dict[tuple[int, int], _FileState] = {}
        self.kept: dict[int, dict[int, CopyResult]] = {}  # verified copies of files being retried
        self.done: set[tuple[int, int]] = set()
        self.files_done = 0
        self.verified = self.copied = self.failed = 0
        self.failures: list[FileResult] = []
        self.dest_ok = [0] * len(self.plan.destinations)
        self.dest_failed = [0] * len(self.plan.destinations)
        self._last_emit = 0.0
        self._speed = 0.0
        self._work_rate = 0.0
        self._last_sample: tuple[float, int, int] | None = None
        self.work_total = 0
        self.previously_verified = 0

    def add_work(self, size: int, n_dests: int) -> None:
        """A file's share of the work: the card read, the writes, the read-backs, the card re-read."""
        mode = self.plan.verify_mode
        self.work_total += size * (1 + n_dests + (n_dests if mode is not VerifyMode.SIZE else 0)
                                   + (1 if mode is VerifyMode.FULL else 0))

    def count_previously_verified(self, dests: tuple[int, ...]) -> None:
        self.previously_verified += 1
        self.files_done += 1
        self.verified += 1
        for i in dests:
            self.dest_ok[i] += 1

    def started(self, key: tuple[int, int]) -> bool:
        return key in self.states

    def finished(self, key: tuple[int, int]) -> bool:
        return key in self.done

    def take(self, kind: str, job: _Job, msg: tuple) -> tuple[int, ...] | None:
        st = self.states.setdefault(job.key, _FileState())
        if kind == "read":
            st.read = True
            st.digests, st.read_code, st.read_detail = msg[2], msg[3], msg[4]
        elif kind == "source":
            st.source_done, st.source_ok, st.source_code, st.source_detail = True, msg[2], msg[3], msg[4]
        elif kind == "copy":
            result: CopyResult = msg[2]
            st.copies[result.destination] = result
        return self._maybe_finish(job, st)

    def _maybe_finish(self, job: _Job, st: _FileState) -> tuple[int, ...] | None:
        if not st.read:
            return None
        if st.read_code is None:
            if self.plan.verify_mode is VerifyMode.FULL and not st.source_done:
                return None
            if len(st.copies) < len(job.dests):
                return None
        self.done.add(job.key)
        del self.states[job.key]
        self.engine.verdicts.forget(job.key)
        self.engine.source_failure.pop(job.key, None)
        kept = self.kept.pop(job.index, {})
        can_retry = job.attempt <= self.plan.retries and not self.engine.control.cancelled
        if st.read_code is None and can_retry:
            if not st.source_ok and st.source_code is Code.SOURCE_UNSTABLE:
                self.kept[job.index] = kept
                return job.dests
            again = tuple(i for i, c in st.copies.items() if c.code is Code.VERIFY_MISMATCH)
            if again:
                kept.update({i: c for i, c in st.copies.items() if i not in again})
                self.kept[job.index] = kept
                return again
        copies = dict(kept)
        if st.read_code is not None:
            for i in job.dests:
                copies[i] = CopyResult(i, CopyState.FAILED, st.read_code,
                                       message_for(st.read_code, st.read_detail), attempts=job.attempt)
        else:
            copies.update(st.copies)
        self._finalize(job, st, copies)
        return None

    def _finalize(self, job: _Job, st: _FileState, copies: dict[int, CopyResult]) -> None:
        ordered = tuple(copies[i] for i in sorted(copies))
        failed = [c for c in ordered if c.state is CopyState.FAILED]
        f = job.file
        if st.read_code is not None:
            status, code, message = FileStatus.FAILED, st.read_code, message_for(st.read_code, st.read_detail)
        elif not st.source_ok and st.source_code is not Code.CANCELLED:
            code = st.source_code or Code.SOURCE_UNSTABLE
            status, message = FileStatus.FAILED, message_for(code, st.source_detail)
        elif failed:
            status, code, message = FileStatus.FAILED, failed[0].code, failed[0].message
        elif all(c.state is CopyState.VERIFIED for c in ordered):
            status, code, message = FileStatus.VERIFIED, None, ""
        else:
            status, code, message = FileStatus.COPIED, None, ""
        result = FileResult(f.rel_path, f.size, f.mtime_ns, status, st.digests or {}, ordered, code, message,
                            source_reverified=self.plan.verify_mode is VerifyMode.FULL and st.source_ok
                            and st.source_done)
        self.files_done += 1
        if status is FileStatus.VERIFIED:
            self.verified += 1
        elif status is FileStatus.COPIED:
            self.copied += 1
        else:
            self.failed += 1
            self.failures.append(result)
        for c in ordered:
            if c.state is CopyState.FAILED:
                self.dest_failed[c.destination] += 1
            else:
                self.dest_ok[c.destination] += 1
        if self.engine.on_file is not None:
            self.engine.on_file(result)

    # -- progress

    def emit_progress(self, force: bool = False) -> None:
        cb = self.engine.on_progress
        now = time.monotonic()
        if cb is None or (not force and now - self._last_emit < self.engine.progress_interval):
            return
        self._last_emit = now
        eng = self.engine
        dests = tuple(
            DestinationProgress(d.roll, "failed" if d.dead else ("done" if eng.phase == "done" else
                                d.counters.state), d.counters.bytes_written, d.counters.bytes_verified, d.dead)
            for d in eng.dests)
        work = eng.bytes_read + eng.bytes_reread + sum(d.counters.bytes_written + d.counters.bytes_verified
                                                       for d in eng.dests)
        # an identical file already on a destination is verified, not written: its write is work not needed
        work = self.work_total if eng.phase == "done" else min(work, self.work_total)
        if self._last_sample is not None:
            t0, r0, w0 = self._last_sample
            dt = now - t0
            if dt > 0:
                alpha = 0.3
                self._speed = alpha * ((eng.bytes_read - r0) / dt) + (1 - alpha) * self._speed
                self._work_rate = alpha * ((work - w0) / dt) + (1 - alpha) * self._work_rate
        self._last_sample = (now, eng.bytes_read, work)
        remaining = self.work_total - work
        eta = remaining / self._work_rate if self._work_rate > 1 else None
        cb(ProgressEvent(eng.phase, len(eng.scan.files), self.files_done, eng.scan.total_bytes, eng.bytes_read,
                         self.work_total, work, eng.current_file, dests, self._speed,
                         0.0 if eng.phase == "done" else eta, time.time() - self.started_at,
                         eng.control.paused))

    # -- the end

    def result(self, ended: float) -> OffloadResult:
        eng, plan = self.engine, self.plan
        total = len(eng.scan.files)
        errors_in_scan = [s for s in eng.scan.skipped if s.code is Code.UNREADABLE]
        if eng.control.cancelled:
            state = OffloadState.CANCELLED
        elif eng.interrupted:
            state = OffloadState.INTERRUPTED
        elif self.failed or errors_in_scan or self.files_done < total:
            state = OffloadState.COMPLETED_WITH_ERRORS
        elif self.copied:
            state = OffloadState.COPIED
        else:
            state = OffloadState.VERIFIED
        dest_results = []
        for i, d in enumerate(eng.dests):
            if d.dead:
                dstate = "failed"
            elif self.dest_failed[i]:
                dstate = "completed with errors"
            elif self.dest_ok[i] < total:
                dstate = "incomplete"
            else:
                dstate = "copied" if plan.verify_mode is VerifyMode.SIZE else "verified"
            dest_results.append(DestinationResult(d.roll, dstate, self.dest_ok[i], self.dest_failed[i], d.dead,
                                                  d.dead_message))
        message = {
            OffloadState.VERIFIED: f"All {total} files verified on {len(eng.dests)} destinations.",
            OffloadState.COPIED: f"All {total} files copied; sizes checked only (verify mode 'size'): NOT "
                                 "verified, do not format the card on this basis.",
            OffloadState.COMPLETED_WITH_ERRORS: f"{self.failed} of {total} files failed"
            + (f", {len(errors_in_scan)} entries could not be read" if errors_in_scan else "")
            + ". Do not format the card.",
            OffloadState.INTERRUPTED: message_for(Code.SOURCE_GONE),
            OffloadState.CANCELLED: f"Cancelled after {self.verified} of {total} files were verified.",
        }[state]
        return OffloadResult(state, total, self.verified, self.copied, self.failed, len(eng.scan.skipped),
                             eng.scan.total_bytes, self.started_at, ended, plan.verify_mode, plan.algorithms,
                             tuple(dest_results), tuple(self.failures), tuple(eng.scan.skipped), message)


# ----------------------------------------------------------------------------------------- public API


def offload(
    plan: OffloadPlan,
    *,
    control: OffloadControl | None = None,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    on_file: Callable[[FileResult], None] | None = None,
    scan: ScanResult | None = None,
    progress_interval: float = 0.25,
    check: bool = True,
    already_verified: Callable[[SourceFile], Iterable[int]] | None = None,
) -> OffloadResult:
    """Run an offload to the end and return its result. Raises OffloadError when preflight refuses it.

    `on_file` gets every file's final result, `on_progress` a throttled ProgressEvent, both on the
    calling thread. `control` cancels or pauses from any thread. `already_verified(file)` names the
    destinations (indices into plan.destinations) where a previous run verified that file (resume): those
    copies are neither rewritten nor reported again, and count as verified in the result.
    """
    control = control or OffloadControl()
    if scan is None:
        scan = scan_source(plan.source, plan.ignore)
    if check:
        preflight(plan, scan).raise_for_errors()
    engine = _Engine(plan, scan, control, on_progress, on_file, progress_interval, already_verified)
    return engine.run()


def iter_skipped(result: OffloadResult) -> Iterator[SkippedEntry]:
    yield from result.skipped
