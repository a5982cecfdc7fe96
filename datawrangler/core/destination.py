"""One destination of an offload: a writer thread and a verifier thread for its roll folder.

The writer writes each file to a hidden temp name, sets the card's modification time and hands batches of
closed files to the verifier, which first makes each batch durable with one barrier (Linux syncfs; a sync
per file elsewhere, done by the writer as it closes the file), so the writer never waits on a sync. The
read-back of file k thus overlaps the writing of file k+1: the verifier drops each file's pages, reads
it back from the medium, hashes it, and renames only a match to its final name (never replacing a file).
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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from datawrangler.core import durable
from datawrangler.core.errors import Code, OffloadError, dest_code_for, message_for
from datawrangler.core.events import CopyResult, CopyState, VerifyMode
from datawrangler.core.hashing import MultiHasher
from datawrangler.core.pipeline import (
    TEMP_PREFIX,
    TEMP_SUFFIX,
    Cancelled,
    Job,
    Pending,
    close_quietly,
    remove_temp_files,
)

if TYPE_CHECKING:
    from datawrangler.core.transfer import Engine

log = logging.getLogger(__name__)

FATAL_DEST = {Code.DEST_FULL, Code.DEST_GONE, Code.DEST_PERMISSION}


@dataclass
class Counters:
    bytes_written: int = 0
    bytes_verified: int = 0
    state: str = "waiting"


class Destination:
    """Writer and verifier threads for one roll folder."""

    def __init__(self, index: int, roll: str, engine: Engine) -> None:
        self.index = index
        self.roll = roll
        self.engine = engine
        self.plan = engine.plan
        self.inbox: queue.Queue[tuple] = queue.Queue(maxsize=self.plan.queue_depth)
        self.batches: queue.Queue[tuple[list[Pending], threading.Event] | None] = queue.Queue(maxsize=2)
        self.counters = Counters()
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

    def _fail(self, job: Job, code: Code, detail: str = "", attempts: int | None = None) -> None:
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
        batch: list[Pending] = []
        batch_bytes = 0
        cur: Pending | None = None  # the file being written (or an existing file to verify)
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
                    for p in batch:  # read whole but not yet synced: each still owes the engine an outcome
                        self._unlink(p.temp)
                        self._fail(p.job, Code.CANCELLED)
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

    def _write_failed(self, job: Job, exc: OSError) -> None:
        code = self._code_for(exc)
        self._fail(job, code, exc.strerror or "")
        if code in FATAL_DEST:
            self._die(code, exc)

    def _open_file(self, job: Job) -> tuple[Pending | None, int, bool]:
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
            return Pending(job, None, final, {}), -1, False  # same size: verify it instead of writing
        folder = os.path.dirname(final)
        temp = os.path.join(folder, f"{TEMP_PREFIX}{self._tag}-{job.index}{TEMP_SUFFIX}")
        try:
            self._mkdirs(folder)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o644)
        except OSError as exc:
            self._write_failed(job, exc)
            return None, -1, True
        return Pending(job, temp, final, {}), fd, False

    def _finish_file(self, p: Pending, fd: int) -> bool:
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

    def _commit(self, batch: list[Pending]) -> None:
        """Hand a batch of written files to the verifier, which first makes it durable with one barrier
        (_barrier): the writer goes on with the next file meanwhile, so the card is never kept waiting on a
        sync."""
        done = threading.Event()
        self.batches.put((batch, done))
        if not self.plan.overlap_verify:
            done.wait()

    def _barrier(self, batch: list[Pending]) -> bool:
        """Make a batch durable with one syncfs (Linux; elsewhere each file was synced as it closed). On
        failure the batch's files fail and their temp files go."""
        if not durable.have_syncfs() or not any(p.temp for p in batch):
            return True
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
            return False
        return True

    # -- verifier thread

    def _verify_loop(self) -> None:
        buf = bytearray(self.plan.chunk_size)
        while True:
            item = self.batches.get()
            if item is None:
                return
            batch, done = item
            if not self._barrier(batch):
                done.set()
                continue
            dirs: set[str] = set()
            outcomes: list[tuple[Pending, CopyResult]] = []
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

    def _verify_one(self, p: Pending, buf: bytearray) -> CopyResult:
        job, mode = p.job, self.plan.verify_mode
        engine = self.engine
        if engine.control.cancelled and p.temp is not None:
            self._unlink(p.temp)
            return CopyResult(self.index, CopyState.FAILED, Code.CANCELLED, message_for(Code.CANCELLED),
                              attempts=job.attempt)
        if mode is VerifyMode.FULL and not engine.verdicts.wait(job.key):
            self._unlink(p.temp)
            code = engine.source_failure.get(job.key) or (
                Code.CANCELLED if engine.control.cancelled else Code.SOURCE_UNSTABLE)
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
            except Cancelled:
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

    def _verify_failed(self, p: Pending, exc: OSError) -> CopyResult:
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
                    raise Cancelled
                n = os.readv(fd, [buf])
                if not n:
                    break
                mh.update(view[:n])
                self.counters.bytes_verified += n
        finally:
            close_quietly(fd)
        return mh.hexdigests(), bypassed


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
