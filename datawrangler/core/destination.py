"""One destination of an offload: a writer thread and a verifier thread, talking to their medium only.

The writer writes each file to a temp name on the medium, sets the card's modification time and hands
batches of closed files to the verifier, which first makes each batch durable with one barrier, so the
writer never waits on a sync. The read-back of file k thus overlaps the writing of file k+1 (a medium whose
verify policy is AFTER_WRITES is read back once the pass's writes are done instead): the verifier reads
each file back from the medium, hashes it, commits only a match to its final name (never replacing a file)
and reports the copy verified only once the medium says the name is durable too.

The threads know nothing of paths or of the OS: every storage call goes through `core.medium.Medium`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from datawrangler.core.errors import DRIVE_FATAL, Code, dest_message, message_for
from datawrangler.core.events import CopyResult, CopyState, OffloadWarning, VerifyMode
from datawrangler.core.medium import SYNC_UNSUPPORTED, Medium, TempFile, VerifyPolicy
from datawrangler.core.pipeline import (
    AbortPass,
    Cancelled,
    Chunk,
    CopyDone,
    Crashed,
    EndFile,
    FlushPass,
    Job,
    Pending,
    Several,
    Shared,
    SmallFiles,
    StartFile,
    StopWriter,
    Warned,
    WholeFile,
    WriterMessage,
)


class Lane(Protocol):
    """A process that writes and verifies this destination's small files for it (core.lane.Lane)."""

    def run(self, files: Sequence[WholeFile]) -> bool: ...

    def close(self) -> None: ...

log = logging.getLogger(__name__)

FATAL_DEST = DRIVE_FATAL  # after these the drive takes no more files (full, out of inodes, gone, read-only)

# files of a batch handed to Medium.prefetch ahead of the one being read back
PREFETCH_AHEAD = 16

# A batch of files this small on average is verified in turn with the writing, not beside it: each file costs a
# few system calls and little I/O, and a writer and a verifier running at once hand the interpreter's lock to
# each other at every call (30,000 files of 16 KB: 5 % faster in turn; benchmarks/README.md). Larger files keep
# the read-back of one batch overlapping the writing of the next.
IN_TURN_FILE_BYTES = 64 * 1024

# what a copy whose name the medium could not make durable fails with
NAME_NOT_DURABLE = ("The copy was read back and matched, but the drive did not confirm that its name is stored "
                    "(the folder sync failed: {why}). It is NOT counted as verified: after a power cut or an "
                    "unplug it could be lost. Check the drive and its cable, then resume the offload (the copy "
                    "is checked again).")


@dataclass
class Counters:
    bytes_written: int = 0
    bytes_verified: int = 0
    state: str = "waiting"


@dataclass(frozen=True, slots=True)
class _Batch:
    files: list[Pending]
    done: threading.Event


class _PassEnd:
    """Writer -> verifier: the pass's writes are done (AFTER_WRITES media verify what they held)."""


_PASS_END = _PassEnd()


class Destination:
    """Writer and verifier threads for one destination's medium."""

    def __init__(self, index: int, medium: Medium, shared: Shared) -> None:
        self.index = index
        self.medium = medium
        self.roll = medium.location
        self.shared = shared
        self.plan = shared.plan
        self.control = shared.control
        self.inbox: queue.Queue[WriterMessage] = queue.Queue(maxsize=self.plan.queue_depth)
        self.batches: queue.Queue[_Batch | _PassEnd | None] = queue.Queue(maxsize=2)
        self.counters = Counters()
        self.dead: Code | None = None
        self.dead_message = ""
        self.tag = uuid.uuid4().hex[:8]
        self._warned: set[str] = set()
        self.lane: Lane | None = None  # this destination's small files in a process of its own (core.lane)
        self.writer = threading.Thread(target=self._guard(self._write_loop), name=f"dw-write-{index}",
                                       daemon=True)
        self.verifier = threading.Thread(target=self._guard(self._verify_loop), name=f"dw-verify-{index}",
                                         daemon=True)

    def _guard(self, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # a bug: hand it to the collector, which re-raises it
                self.shared.results.put(Crashed(exc))
        return run

    # -- setup

    def prepare(self) -> None:
        self.medium.lock()
        self.medium.remove_leftovers()

    def release(self) -> None:
        self.close_lane()
        self.medium.unlock()

    def close_lane(self) -> None:
        lane, self.lane = self.lane, None
        if lane is not None:
            lane.close()

    def start(self) -> None:
        self.writer.start()
        self.verifier.start()

    def join(self) -> None:
        self.writer.join()
        self.verifier.join()

    # -- helpers

    def _post(self, job: Job, result: CopyResult) -> None:
        self.shared.results.put(CopyDone(job.key, result))

    def _fail(self, job: Job, code: Code, detail: str = "", attempts: int | None = None) -> None:
        self._post(job, CopyResult(self.index, CopyState.FAILED, code, message_for(code, detail),
                                   attempts=attempts or job.attempt))

    def warn_once(self, code: str, message: str) -> None:
        if code not in self._warned:
            self._warned.add(code)
            log.warning("destination %s: %s", self.roll, message)
            self.shared.results.put(Warned(OffloadWarning(code, message, self.index, self.roll)))

    def _die(self, code: Code, exc: OSError | None) -> None:
        if self.dead is None:
            self.dead = code
            self.dead_message = dest_message(code, exc, self.roll)
            self.counters.state = "failed"
            log.warning("destination %s failed: %s", self.roll, self.dead_message)

    # -- writer thread

    def _write_loop(self) -> None:
        batch: list[Pending] = []
        batch_bytes = 0
        cur: Pending | None = None  # the file being written (or an existing file to verify)
        tf: TempFile | None = None  # its temp file while open
        reported = False  # the current file's failure was already reported
        while True:
            msg = self.inbox.get()
            if type(msg) is Chunk:
                if tf is not None and cur is not None:
                    try:
                        tf.write(msg.data)
                        self.counters.bytes_written += len(msg.data)
                    except OSError as exc:
                        tf.discard()
                        self._write_failed(cur.job, exc)
                        cur, tf, reported = None, None, True
            elif type(msg) is StartFile:
                cur, tf, reported = self._open_file(msg.job)
            elif type(msg) is SmallFiles:
                files = msg.files
                if (self.lane is not None and self.dead is None and not self.control.cancelled
                        and sum(w.job.file.size for w in files) <= IN_TURN_FILE_BYTES * len(files)):
                    if batch:  # the files before these are verified first, as in order
                        self._commit(batch, batch_bytes)
                        batch, batch_bytes = [], 0
                    if self.plan.verify_mode is VerifyMode.FULL:
                        files = self._agreed(files)
                    if not files or self.lane.run(files):
                        continue
                    self.lane = None  # gone: the threads do the rest
                for w in files:
                    p = self._write_whole(w)
                    if p is None:
                        continue
                    batch.append(p)
                    batch_bytes += p.job.file.size
                    if batch_bytes >= self.plan.batch_bytes or len(batch) >= self.plan.batch_files:
                        self._commit(batch, batch_bytes)
                        batch, batch_bytes = [], 0
            elif type(msg) is EndFile:
                job, digests = msg.job, msg.digests
                if digests is None:  # the card could not be read: the collector fails the file itself
                    if tf is not None:
                        tf.discard()
                    cur, tf = None, None
                    continue
                if cur is None:
                    if not reported:  # a dead destination learns of the file only now
                        self._fail(job, self.dead or Code.DEST_WRITE_ERROR)
                    continue
                cur.digests = digests
                if tf is not None and not self._finish_file(cur, tf):
                    cur, tf = None, None
                    continue
                batch.append(cur)
                batch_bytes += cur.job.file.size
                cur, tf = None, None
                if batch_bytes >= self.plan.batch_bytes or len(batch) >= self.plan.batch_files:
                    self._commit(batch, batch_bytes)
                    batch, batch_bytes = [], 0
            elif type(msg) is AbortPass:  # cancelled or card gone: drop the file in progress
                if tf is not None:
                    tf.discard()
                cur, tf = None, None
                if self.control.cancelled:
                    for p in batch:  # read whole but not yet synced: each still owes the engine an outcome
                        self.medium.remove(p.temp)
                        self._fail(p.job, Code.CANCELLED)
                    batch, batch_bytes = [], 0
                elif batch:  # the card is gone, but what was read whole is verified and kept
                    self._commit(batch, batch_bytes)
                    batch, batch_bytes = [], 0
                self.batches.put(_PASS_END)
            elif type(msg) is FlushPass:
                if batch:
                    self._commit(batch, batch_bytes)
                    batch, batch_bytes = [], 0
                self.batches.put(_PASS_END)
            elif type(msg) is StopWriter:
                self.close_lane()
                self.batches.put(None)
                return

    def _agreed(self, files: Sequence[WholeFile]) -> tuple[WholeFile, ...]:
        """Full mode, before a lane takes a batch: the files the card gave the same bytes twice. The others fail
        here, with the words their read-back would have failed with (_verify_one), and are never written."""
        agreed = []
        for w in files:
            key = w.job.key
            if self.shared.verdicts.wait(key):
                agreed.append(w)
                continue
            code = self.shared.source_failure.get(key) or (
                Code.CANCELLED if self.control.cancelled else Code.SOURCE_UNSTABLE)
            self._fail(w.job, code)
        return tuple(agreed)

    def _write_whole(self, w: WholeFile) -> Pending | None:
        """A small file, read whole: open, write, set its time, close; the Pending for the batch, or None
        when it failed (reported here)."""
        job = w.job
        if self.control.cancelled:
            self._fail(job, Code.CANCELLED)
            return None
        cur, tf, reported = self._open_file(job)
        if cur is None:
            if not reported:  # a dead destination
                self._fail(job, self.dead or Code.DEST_WRITE_ERROR)
            return None
        cur.digests = w.digests
        if tf is None:  # already there with the card's size: verified instead of written
            return cur
        try:
            if w.data:
                tf.write(w.data)
            self.counters.bytes_written += len(w.data)
        except OSError as exc:
            tf.discard()
            self._write_failed(job, exc)
            return None
        return cur if self._finish_file(cur, tf) else None

    def _write_failed(self, job: Job, exc: OSError) -> None:
        code = self.medium.classify(exc)
        self._post(job, CopyResult(self.index, CopyState.FAILED, code, dest_message(code, exc, self.roll),
                                   attempts=job.attempt))
        if code in FATAL_DEST:
            self._die(code, exc)

    def _open_file(self, job: Job) -> tuple[Pending | None, TempFile | None, bool]:
        """Start a file: (pending, temp file, reported). A conflict or an error is reported here."""
        if self.dead is not None:
            return None, None, False  # reported at EndFile, once the card read succeeded
        self.counters.state = "writing"
        medium = self.medium
        final = medium.locate(job.file.rel_path)
        try:
            found = medium.find(final)
        except OSError as exc:
            self._write_failed(job, exc)
            return None, None, True
        if found is not None:
            if not found.regular or found.size != job.file.size:
                what = ("a folder or special file is there" if not found.regular
                        else f"the file there has {found.size} bytes, the card's has {job.file.size}")
                self._fail(job, Code.CONFLICT, f"{final}: {what}")
                return None, None, True
            return Pending(job, None, final, {}), None, False  # same size: verify it instead of writing
        try:
            tf = medium.create_temp(final, f"{self.tag}-{job.index}")
        except OSError as exc:
            self._write_failed(job, exc)
            return None, None, True
        return Pending(job, tf.locator, final, {}), tf, False

    def _finish_file(self, p: Pending, tf: TempFile) -> bool:
        """Set the card's modification time, sync (unless the batch barrier will), close."""
        try:
            tf.finish(p.job.file.mtime_ns)
            return True
        except OSError as exc:
            tf.discard()
            self._write_failed(p.job, exc)
            return False

    def _commit(self, batch: list[Pending], batch_bytes: int) -> None:
        """Hand a batch of written files to the verifier, which first makes it durable with one barrier
        (_barrier): the writer goes on with the next file meanwhile, so the card is never kept waiting on a
        sync; a batch of very small files (IN_TURN_FILE_BYTES) is verified before the writer goes on."""
        done = threading.Event()
        self.batches.put(_Batch(batch, done))
        if not self.plan.overlap_verify or batch_bytes <= IN_TURN_FILE_BYTES * len(batch):
            done.wait()

    def _barrier(self, batch: list[Pending]) -> bool:
        """Make a batch durable with one barrier. On failure the batch's files fail and their temp files go."""
        if not any(p.temp for p in batch):
            return True
        try:
            self.medium.barrier()
        except OSError as exc:
            for p in batch:
                self.medium.remove(p.temp)
                self._write_failed(p.job, exc)
            return False
        return True

    # -- verifier thread

    def _verify_loop(self) -> None:
        buf = bytearray(self.plan.chunk_size)
        held: list[Pending] = []  # AFTER_WRITES: batches waiting for the end of the pass
        after_writes = self.medium.verify_policy is VerifyPolicy.AFTER_WRITES
        while True:
            item = self.batches.get()
            if item is None or type(item) is _PassEnd:
                if held:
                    self._verify_batch(held, buf)
                    held = []
                if item is None:
                    return
                continue
            assert isinstance(item, _Batch)
            if after_writes:
                held.extend(item.files)
            else:
                self._verify_batch(item.files, buf)
            item.done.set()

    def _verify_batch(self, batch: list[Pending], buf: bytearray) -> None:
        if not self._barrier(batch):
            return
        outcomes = self._verify_each(batch, buf)
        named = [p.final for p, r in outcomes if r.state is not CopyState.FAILED]
        if named:
            synced = self.medium.sync_names(named)
            if synced.unsupported:
                self.warn_once(SYNC_UNSUPPORTED, synced.unsupported)
            if synced.failed:
                outcomes = [(p, self._name_failed(p, synced.failed[p.final]) if p.final in synced.failed else r)
                            for p, r in outcomes]
        self.shared.results.put(Several(tuple(CopyDone(p.job.key, result) for p, result in outcomes)))
        if self.counters.state == "verifying":
            self.counters.state = "writing"

    def _verify_each(self, batch: list[Pending], buf: bytearray) -> list[tuple[Pending, CopyResult]]:
        """Verify a durable batch in order, with the next PREFETCH_AHEAD files handed to the medium's
        prefetch, so a drive has several small reads in flight rather than one."""
        if self.plan.verify_mode is VerifyMode.SIZE:
            return [(p, self._verify_one(p, buf)) for p in batch]
        medium = self.medium
        ahead = [p.temp or p.final for p in batch]
        outcomes = []
        try:
            for locator in ahead[:PREFETCH_AHEAD]:
                medium.prefetch(locator)
            for i, p in enumerate(batch):
                if i + PREFETCH_AHEAD < len(ahead):
                    medium.prefetch(ahead[i + PREFETCH_AHEAD])
                outcomes.append((p, self._verify_one(p, buf)))
        finally:
            medium.forget_prefetched()
        return outcomes

    def _name_failed(self, p: Pending, exc: OSError) -> CopyResult:
        """The bytes matched but the name may not be on the medium: not verified. The file keeps its final
        name (its bytes are the card's); a resume verifies it again and syncs its folder."""
        why = f"{exc.strerror or exc} at {exc.filename}" if exc.filename else (exc.strerror or str(exc))
        log.warning("destination %s: cannot make %s durable: %s", self.roll, p.final, why)
        return CopyResult(self.index, CopyState.FAILED, Code.DEST_WRITE_ERROR, NAME_NOT_DURABLE.format(why=why),
                          attempts=p.job.attempt)

    def _verify_one(self, p: Pending, buf: bytearray) -> CopyResult:
        job, mode = p.job, self.plan.verify_mode
        shared, medium = self.shared, self.medium
        control = self.control
        if control.cancelled and p.temp is not None:
            medium.remove(p.temp)
            return CopyResult(self.index, CopyState.FAILED, Code.CANCELLED, message_for(Code.CANCELLED),
                              attempts=job.attempt)
        if mode is VerifyMode.FULL and not shared.verdicts.wait(job.key):
            medium.remove(p.temp)
            code = shared.source_failure.get(job.key) or (
                Code.CANCELLED if control.cancelled else Code.SOURCE_UNSTABLE)
            return CopyResult(self.index, CopyState.FAILED, code, message_for(code), attempts=job.attempt)
        if p.temp is not None and shared.expected is not None and p.digests:
            differ = _unexpected(shared.expected(job.file.rel_path), p.digests)
            if differ is not None:  # never a copy, under the card's name, of a source that is not the card's file
                medium.remove(p.temp)
                return CopyResult(self.index, CopyState.FAILED, Code.STAGE_SOURCE_MISMATCH,
                                  f"{message_for(Code.STAGE_SOURCE_MISMATCH)} ({differ})", attempts=job.attempt)
        locator = p.temp or p.final
        if mode is VerifyMode.SIZE:
            try:
                size = medium.size(locator)
            except OSError as exc:
                return self._verify_failed(p, exc)
            if size != job.file.size:
                medium.remove(p.temp)
                return CopyResult(self.index, CopyState.FAILED, Code.VERIFY_MISMATCH,
                                  message_for(Code.VERIFY_MISMATCH, f"size {size}, expected {job.file.size}"),
                                  attempts=job.attempt)
            digests: dict[str, str] = {}
            bypassed: bool | None = None
        else:
            self.counters.state = "verifying"
            counters = self.counters

            def on_bytes(n: int) -> None:
                counters.bytes_verified += n

            try:
                back = medium.read_back(locator, self.plan.algorithms, buf, on_bytes, lambda: control.cancelled)
            except Cancelled:
                medium.remove(p.temp)
                return CopyResult(self.index, CopyState.FAILED, Code.CANCELLED, message_for(Code.CANCELLED),
                                  attempts=job.attempt)
            except OSError as exc:
                return self._verify_failed(p, exc)
            digests, bypassed = back.digests, back.cache_bypassed
            if digests != p.digests:
                medium.remove(p.temp)
                if p.temp is None:  # a different file was already there: never touched
                    return CopyResult(self.index, CopyState.FAILED, Code.CONFLICT,
                                      message_for(Code.CONFLICT, p.final), attempts=job.attempt)
                return CopyResult(self.index, CopyState.FAILED, Code.VERIFY_MISMATCH,
                                  message_for(Code.VERIFY_MISMATCH, _diff(p.digests, digests)),
                                  attempts=job.attempt)
        if p.temp is not None:
            try:
                medium.commit(p.temp, p.final)
            except FileExistsError:
                medium.remove(p.temp)
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
        self.medium.remove(p.temp)
        code = self.medium.classify(exc)
        if code is not Code.DEST_GONE:
            code = Code.VERIFY_READ_ERROR if code is Code.DEST_WRITE_ERROR else code
        else:
            self._die(code, exc)
        return CopyResult(self.index, CopyState.FAILED, code, dest_message(code, exc, self.roll),
                          attempts=p.job.attempt)


def _unexpected(expected: Mapping[str, str] | None, read: Mapping[str, str]) -> str | None:
    """None when the source's digests are those expected (every algorithm both have agrees, and they have
    one); else what differs. Nothing expected of the path: None."""
    if expected is None:
        return None
    common = [a for a in expected if a in read]
    if not common:
        return "no hash taken from the card to compare with"
    differ = [f"{a}: card {expected[a]}, source {read[a]}" for a in common if expected[a] != read[a]]
    return "; ".join(differ) or None


def _diff(expected: dict[str, str], got: dict[str, str]) -> str:
    for name, value in expected.items():
        if got.get(name) != value:
            return f"{name} {got.get(name)} read back, {value} on the card"
    return "digests differ"
