"""The offload engine: read the card once, fan out, hash while reading, verify from the medium.

Threads, per offload:
- one *reader* reads each card file once, hashes every chunk and hands it to every destination's bounded
  queue (memory stays bounded whatever the file size);
- in `full` mode, a *re-reader* reads each card file a second time after dropping its pages, overlapping
  the reader's next file, and tells the verifiers whether the card gave the same bytes twice (a copy is
  renamed only once it did);
- per destination (core.destination), a *writer* writes each file to a hidden temp name on the
  destination's medium (core.medium), sets the card's modification time, and hands batches on;
- per destination, a *verifier* makes each batch durable with one barrier (Linux syncfs; fsync per file
  elsewhere), reads each file back from the medium (so the read-back of file k overlaps the writing of
  file k+1) and hashes it. Only a match is renamed to its final name, and only once the medium says the
  name is durable too is the copy reported verified (a folder sync that fails fails the copy);
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
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from datawrangler import platform
from datawrangler.core import lane
from datawrangler.core.destination import IN_TURN_FILE_BYTES, Destination
from datawrangler.core.errors import Code
from datawrangler.core.events import FileResult, OffloadControl, OffloadResult, ProgressEvent, VerifyMode
from datawrangler.core.hashing import MultiHasher
from datawrangler.core.medium import Medium, open_medium
from datawrangler.core.outcome import Outcomes
from datawrangler.core.pipeline import (
    TEMP_PREFIX,
    TEMP_SUFFIX,
    AbortPass,
    Cancelled,
    CardRead,
    CardReread,
    Chunk,
    CollectorMessage,
    CopyDone,
    Crashed,
    EndFile,
    FileFailed,
    FlushPass,
    Job,
    JobList,
    ReaderDone,
    Several,
    Shared,
    SmallFiles,
    SourceGone,
    StartFile,
    StopWriter,
    Verdicts,
    Warned,
    WholeFile,
    WriterMessage,
    close_quietly,
    is_temp_name,
    remove_temp_files,
)
from datawrangler.core.plan import OffloadPlan, preflight
from datawrangler.core.scan import ScanResult, SourceFile, scan_source

__all__ = ["TEMP_PREFIX", "TEMP_SUFFIX", "is_temp_name", "offload", "remove_temp_files"]

log = logging.getLogger(__name__)

# errnos that mean the device itself went away (EIO is not among them: that is one bad region)
DEVICE_GONE = {errno.ENODEV, errno.ENXIO, errno.ENOTCONN, errno.ESHUTDOWN, errno.ESTALE,
               getattr(errno, "ENOMEDIUM", -1)}


# A batch of small files goes on once it holds this many files or a chunk's bytes, or once its first file
# has waited this long (a slow card still shows progress and keeps its writers busy)
SMALL_BATCH_FILES = 256
SMALL_BATCH_SECONDS = 0.2
# small card files opened (and their reading started: POSIX_FADV_WILLNEED) ahead of the one being read, so
# the card has several reads in flight instead of one small read at a time
CARD_AHEAD = 16
_WILLNEED = getattr(os, "POSIX_FADV_WILLNEED", None)


@dataclass(slots=True)
class _SmallBatch:
    """The reader's small files read but not yet handed on (see Engine._read_small)."""

    files: list[WholeFile] = field(default_factory=list)
    reads: list[CardRead] = field(default_factory=list)
    rereads: list[tuple[Job, str, dict[str, str]]] = field(default_factory=list)
    bytes: int = 0
    since: float = 0.0


class Engine:
    def __init__(self, plan: OffloadPlan, scan: ScanResult, control: OffloadControl,
                 on_progress: Callable[[ProgressEvent], None] | None,
                 on_file: Callable[[FileResult], None] | None, progress_interval: float,
                 already_verified: Callable[[SourceFile], Iterable[int]] | None = None,
                 media: Sequence[Medium] | None = None,
                 expected: Callable[[str], Mapping[str, str] | None] | None = None) -> None:
        self.plan = plan
        self.scan = scan
        self.control = control
        self.on_progress = on_progress
        self.on_file = on_file
        self.progress_interval = progress_interval
        self.already_verified = already_verified
        self.results: queue.Queue[CollectorMessage] = queue.Queue()
        self.verdicts = Verdicts()
        self.source_failure: dict[tuple[int, int], Code] = {}
        if media is None:
            media = [open_medium(roll) for roll in plan.destinations]
        if len(media) != len(plan.destinations):
            raise ValueError("one medium per destination")
        self.shared = Shared(plan, control, self.verdicts, self.source_failure, self.results, expected)
        self.dests = [Destination(i, m, self.shared) for i, m in enumerate(media)]
        self.bytes_read = 0
        self.bytes_reread = 0
        self.current_file = ""
        self.phase = "copying"
        self.interrupted: str = ""
        self.source_dev = os.stat(plan.source).st_dev
        self.rereads: queue.Queue[list[tuple[Job, str, dict[str, str]]] | None] = queue.Queue(maxsize=4)
        self._small = _SmallBatch()  # the reader's small files not yet handed on
        self._ahead: dict[tuple[int, int], int] = {}  # job key -> the card file's descriptor, opened ahead
        self._ahead_next = 0  # the next job of the pass to open ahead
        self.rereader = threading.Thread(target=self._reread_loop, name="dw-reread", daemon=True)
        self.card_gone = threading.Event()

    # -- reader thread

    def _source_gone(self, exc: OSError | None = None) -> bool:
        """Is the card gone (pulled, reader unplugged), rather than one region of it unreadable?"""
        if exc is not None and exc.errno in DEVICE_GONE:
            return True
        try:
            return os.stat(self.plan.source).st_dev != self.source_dev
        except OSError:
            return True

    def _read_pass(self, jobs: Sequence[Job]) -> None:
        self._ahead_next = 0
        try:
            for n, job in enumerate(jobs):
                if self.card_gone.is_set():
                    raise SourceGone
                if self.control.paused:
                    self._flush_small()  # what was read is written and verified while the card waits
                    while self.control.paused and not self.control.cancelled:
                        self.control.wait_while_paused()
                if self.control.cancelled:
                    break
                self._open_ahead(jobs, n + 1)
                self._read_one(job)
        except SourceGone:
            self.interrupted = "source_gone"
            self.card_gone.set()
        except BaseException as exc:
            self.results.put(Crashed(exc))
        finally:
            for fd in self._ahead.values():
                close_quietly(fd)
            self._ahead.clear()
            try:
                self._flush_small()  # read whole before a cancel or a pulled card: kept as any other
            finally:
                if self.control.cancelled or self.interrupted:
                    for d in self.dests:
                        d.inbox.put(AbortPass())
                    if self.control.cancelled:
                        self.verdicts.abort()  # a pulled card still lets the re-reads finish: what matched is kept
                else:
                    for d in self.dests:
                        d.inbox.put(FlushPass())
                self.results.put(ReaderDone())

    def _card_path(self, f: SourceFile) -> str:
        return os.path.join(self.plan.source, *f.rel_path.split("/"))

    def _open_ahead(self, jobs: Sequence[Job], start: int) -> None:
        """Open the next CARD_AHEAD small files of the pass and ask the kernel to start reading them, so
        the card serves several small reads at once. Each is still read (and checked against the scan)
        when its turn comes, from this descriptor; a file that cannot be opened now is opened again then,
        and the error said. A retry is not read ahead: it must read the card, not pages left behind."""
        if _WILLNEED is None:
            return
        end = min(start + CARD_AHEAD, len(jobs))
        limit = self.plan.chunk_size
        while self._ahead_next < end:
            job = jobs[self._ahead_next]
            self._ahead_next += 1
            if job.attempt > 1 or job.file.size > limit or job.file.size == 0:
                continue
            try:
                fd = os.open(self._card_path(job.file), os.O_RDONLY)
            except OSError:
                continue
            if self.plan.source_uncached:
                platform.drop_cache(fd)  # before the fetch starts: what it fetches is the drive's
            with contextlib.suppress(OSError):
                os.posix_fadvise(fd, 0, 0, _WILLNEED)
            self._ahead[job.key] = fd

    def _send(self, job: Job, msg: WriterMessage) -> None:
        for i in job.dests:
            self.dests[i].inbox.put(msg)

    def _read_one(self, job: Job) -> None:
        f = job.file
        self.current_file = f.rel_path
        path = self._card_path(f)
        if f.size <= self.plan.chunk_size:
            self._read_small(job, path)
            return
        self._flush_small()  # the files before this one reach the writers first
        self._send(job, StartFile(job))
        try:
            digests, _ = self._read_and_fan_out(job, path)
        except FileFailed as ff:
            self._send(job, EndFile(job, None))
            self.results.put(CardRead(job.key, None, ff.code, ff.detail))
            return
        except Cancelled:
            return
        self._send(job, EndFile(job, digests))
        self.results.put(CardRead(job.key, digests))
        if self.plan.verify_mode is VerifyMode.FULL:
            self.rereads.put([(job, path, digests)])  # the card re-read overlaps reading the next file

    def _read_small(self, job: Job, path: str) -> None:
        """A file that fits in one chunk is read whole and joins the batch of small files, which goes to
        every writer as one message (and its outcome to the collector as one) when it is full, when it
        has waited SMALL_BATCH_SECONDS, or before a large file, a pause or the end of the pass."""
        small = self._small
        try:
            digests, data = self._read_and_fan_out(job, path, fan_out=False)
        except FileFailed as ff:
            small.reads.append(CardRead(job.key, None, ff.code, ff.detail))
        except Cancelled:
            return
        else:
            if not small.files:
                small.since = time.monotonic()
            small.files.append(WholeFile(job, data, digests))
            small.bytes += len(data)
            small.reads.append(CardRead(job.key, digests))
            if self.plan.verify_mode is VerifyMode.FULL:
                small.rereads.append((job, path, digests))
        if (small.bytes >= self.plan.chunk_size or len(small.reads) >= SMALL_BATCH_FILES
                or time.monotonic() - small.since >= SMALL_BATCH_SECONDS):
            self._flush_small()

    def _flush_small(self) -> None:
        """Hand the batch of small files on: to each writer the files meant for it, their card reads to
        the collector, and (full mode) to the re-reader."""
        small = self._small
        if small.files:
            files = tuple(small.files)
            everywhere = len(self.dests)
            for i, d in enumerate(self.dests):
                mine = files if all(len(w.job.dests) == everywhere for w in files) else tuple(
                    w for w in files if i in w.job.dests)
                if mine:
                    d.inbox.put(SmallFiles(mine))
        if small.reads:
            self.results.put(Several(tuple(small.reads)))
        if small.rereads:
            self.rereads.put(small.rereads)
        self._small = _SmallBatch()

    def _reread_loop(self) -> None:
        """Full mode, on its own thread: read each card file a second time, after dropping its pages, while
        the reader goes on with the next file(s). Every queued file gets a verdict, whatever happens."""
        while (items := self.rereads.get()) is not None:
            ahead: dict[int, int] = {}  # item -> descriptor opened ahead, its pages dropped
            try:
                outcomes = []
                for n, (job, path, digests) in enumerate(items):
                    if len(items) > 1:
                        self._reopen_ahead(items, n, ahead)
                    outcomes.append(self._reread_item(job, path, digests, ahead.pop(n, -1)))
            finally:
                for fd in ahead.values():
                    if fd >= 0:
                        close_quietly(fd)
            self.results.put(outcomes[0] if len(outcomes) == 1 else Several(tuple(outcomes)))
            self.verdicts.set_many([(o.key, o.ok) for o in outcomes])

    def _reopen_ahead(self, items: list[tuple[Job, str, dict[str, str]]], n: int, ahead: dict[int, int]) -> None:
        """The re-read's prefetch: open the next CARD_AHEAD files of the batch, drop their pages (the first
        read's) and only then ask the kernel to fetch them again from the card, so the card has several
        reads in flight. A file that cannot be opened now is opened again at its turn."""
        if _WILLNEED is None:
            return
        for k in range(n, min(n + CARD_AHEAD, len(items))):
            if k in ahead or items[k][0].file.size == 0:
                continue
            try:
                fd = os.open(items[k][1], os.O_RDONLY)
            except OSError:
                ahead[k] = -1
                continue
            if platform.drop_cache(fd):  # fetched again only once the first read's pages are gone
                with contextlib.suppress(OSError):
                    os.posix_fadvise(fd, 0, 0, _WILLNEED)
            ahead[k] = fd

    def _reread_item(self, job: Job, path: str, digests: dict[str, str], fd: int = -1) -> CardReread:
        ok, code, detail = False, Code.SOURCE_READ_ERROR, "the second read did not finish"
        try:
            if self.control.cancelled or self.card_gone.is_set():
                if fd >= 0:
                    close_quietly(fd)
                ok, code, detail = ((False, Code.CANCELLED, "") if self.control.cancelled else
                                    (False, Code.SOURCE_GONE, "the card disappeared before the second read"))
            else:
                ok, code, detail = self._reread(job, path, digests, fd)
        except SourceGone:
            self.card_gone.set()  # the reader stops at its next chunk
            ok, code, detail = False, Code.SOURCE_GONE, "the card disappeared before the second read"
        except BaseException as exc:
            self.results.put(Crashed(exc))
        if not ok:
            self.source_failure[job.key] = code  # before the verdict: a verifier reads it once woken
        return CardReread(job.key, ok, code, detail)

    def _open_source(self, path: str) -> int:
        try:
            return os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            if self._source_gone(exc):
                raise SourceGone from exc
            raise FileFailed(Code.SOURCE_READ_ERROR, exc.strerror or str(exc)) from exc

    def _read_and_fan_out(self, job: Job, path: str, fan_out: bool = True) -> tuple[dict[str, str], bytes]:
        """Read a card file once, hashing it: each chunk goes to the writers as it is read (fan_out), or the
        bytes of a small file are returned whole (the caller batches it)."""
        f = job.file
        whole: list[bytes] = []
        mh = MultiHasher(self.plan.algorithms)
        fd = self._ahead.pop(job.key, -1)  # opened ahead (never a retry): pages dropped then if source_uncached
        if fd < 0:
            fd = self._open_source(path)
            # a retry reads the card again, not the pages the last read left behind; a stage-2 source is
            # read from its drive, not from the pages its stage-1 copy left in memory
            if job.attempt > 1 or self.plan.source_uncached:
                platform.drop_cache(fd)
        try:
            # a large file is checked before its chunks go out; a small one (read whole in one call) only after
            # its read: the fstat below says the same of it, one system call less a file
            if fan_out and self._changed_since_scan(job, fd):
                raise FileFailed(Code.SOURCE_CHANGED, "size or modification time differs from the scan")
            offset = 0
            failures = 0
            while True:
                if self.control.cancelled:
                    raise Cancelled
                if self.card_gone.is_set():
                    raise SourceGone
                if self.control.paused:
                    while self.control.paused and not self.control.cancelled:
                        self.control.wait_while_paused()
                    continue
                try:
                    # a small file: exactly what is left of it (one allocation of its size, not a chunk's
                    # shrunk), or one byte for an empty one: its end, or proof that it grew
                    chunk = os.read(fd, self.plan.chunk_size if fan_out else max(f.size - offset, 1))
                except OSError as exc:
                    if self._source_gone(exc):
                        raise SourceGone from exc
                    failures += 1
                    if failures > self.plan.read_retries:
                        raise FileFailed(Code.SOURCE_READ_ERROR,
                                          f"{exc.strerror} at byte {offset}") from exc
                    log.warning("read error on %s at %d (%s), retry %d", path, offset, exc, failures)
                    time.sleep(min(0.05 * 2 ** failures, 1.0))
                    close_quietly(fd)
                    fd = self._open_source(path)
                    if self.plan.source_uncached:
                        platform.drop_cache(fd)
                    os.lseek(fd, offset, os.SEEK_SET)
                    continue
                if not chunk:
                    break
                mh.update(chunk)
                offset += len(chunk)
                self.bytes_read += len(chunk)
                if fan_out:
                    msg = Chunk(chunk)
                    for i in job.dests:
                        self.dests[i].inbox.put(msg)
                else:
                    whole.append(chunk)
                    if offset == f.size:  # no read for the end: the fstat below proves the file is this long
                        break
            st2 = os.fstat(fd)
            if not fan_out and (st2.st_size != f.size or st2.st_mtime_ns != f.mtime_ns):
                raise FileFailed(Code.SOURCE_CHANGED, "size or modification time differs from the scan")
            if offset != f.size or st2.st_size != f.size or st2.st_mtime_ns != f.mtime_ns:
                raise FileFailed(Code.SOURCE_CHANGED, f"read {offset} bytes, the card listed {f.size}")
        except OSError as exc:  # fstat or lseek on the card: it stopped answering, or this file is unreadable
            if self._source_gone(exc):
                raise SourceGone from exc
            raise FileFailed(Code.SOURCE_READ_ERROR, exc.strerror or str(exc)) from exc
        finally:
            close_quietly(fd)
        return mh.hexdigests(), whole[0] if len(whole) == 1 else b"".join(whole)

    @staticmethod
    def _changed_since_scan(job: Job, fd: int) -> bool:
        """The card file is no longer the one listed: the same bytes under a new modification time are not
        the card's file either (the camera or something else is writing to the card)."""
        st = os.fstat(fd)
        return st.st_size != job.file.size or st.st_mtime_ns != job.file.mtime_ns

    def _reread(self, job: Job, path: str, digests: dict[str, str], fd: int = -1) -> tuple[bool, Code, str]:
        """Full mode: read the card file again from the medium and compare the primary digest. `fd`: the
        file opened ahead by _reopen_ahead (its pages dropped before its fetch began), owned by this call."""
        primary = self.plan.algorithms[0]
        mh = MultiHasher((primary,))
        dropped = fd >= 0
        if not dropped:
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            except OSError as exc:
                if self._source_gone(exc):
                    raise SourceGone from exc
                return False, Code.SOURCE_READ_ERROR, exc.strerror or ""
        try:
            if not dropped:
                platform.drop_cache(fd)
            if self._changed_since_scan(job, fd):
                return False, Code.SOURCE_CHANGED, "size or modification time differs from the scan at the re-read"
            size, chunk_size, done = job.file.size, self.plan.chunk_size, 0
            while True:
                if self.control.cancelled:
                    return False, Code.CANCELLED, ""
                try:  # no more than what is left and one byte (a small file: no chunk-sized buffer shrunk)
                    chunk = os.read(fd, min(chunk_size, max(size - done, 0) + 1))
                except OSError as exc:
                    if self._source_gone(exc):
                        raise SourceGone from exc
                    return False, Code.SOURCE_READ_ERROR, f"second read: {exc.strerror}"
                if not chunk:
                    break
                mh.update(chunk)
                done += len(chunk)
                self.bytes_reread += len(chunk)
            if self._changed_since_scan(job, fd):
                return False, Code.SOURCE_CHANGED, "size or modification time changed during the re-read"
        except OSError as exc:  # fstat on the card
            if self._source_gone(exc):
                raise SourceGone from exc
            return False, Code.SOURCE_READ_ERROR, f"second read: {exc.strerror}"
        finally:
            close_quietly(fd)
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
            self._start_lanes()
            for d in self.dests:
                d.start()
            if self.plan.verify_mode is VerifyMode.FULL:
                self.rereader.start()
            acc = Outcomes(self, started)
            jobs = self._first_jobs(acc)
            pass_no = 0
            while jobs:
                retries = self._run_pass(jobs, acc)
                if self.control.cancelled or self.interrupted:
                    break
                pass_no += 1
                self.phase = "retrying"
                jobs = JobList.of([Job((pass_no, j.index), j.index, j.file, dests, j.attempt + 1)
                                   for j, dests in retries])
            for d in self.dests:
                d.inbox.put(StopWriter())
            for d in self.dests:
                d.join()
            self.phase = "done"
            self._stop_rereader()
            acc.emit_progress(force=True)
            return acc.result(time.time())
        finally:
            self._stop_rereader()
            for d in self.dests:
                d.release()

    def _start_lanes(self) -> None:
        """A process per destination for the small files, where core.lane says it is worth it and safe."""
        if not self.plan.lanes:
            return
        small = lane.count_small((f.size for f in self.scan.files), IN_TURN_FILE_BYTES)
        for d in self.dests:
            if lane.wanted(self.plan, d.medium, small, self.shared.expected):
                try:
                    d.lane = lane.Lane(d)
                except (OSError, ValueError) as exc:  # no process to be had: the threads copy as they always did
                    log.warning("destination %s: no lane process (%s); its threads copy every file", d.roll, exc)

    def _stop_rereader(self) -> None:
        if self.rereader.is_alive():
            self.rereads.put(None)
            self.rereader.join()

    def _first_jobs(self, acc: Outcomes) -> JobList:
        """Every file to every destination, less what a previous run already verified (resume). Jobs are made
        as the pass reaches them (JobList): what is kept per file is its number, and only after a resume."""
        everywhere = tuple(range(len(self.dests)))
        files = self.scan.files
        if self.already_verified is None:
            for f in files:
                acc.add_work(f.size, len(everywhere))
            return JobList(files, range(len(files)), everywhere)
        indices = array("q")
        partial: dict[int, tuple[int, ...]] = {}
        for i, f in enumerate(files):
            done = set(self.already_verified(f))
            dests = tuple(d for d in everywhere if d not in done)
            if not dests:
                acc.count_previously_verified(everywhere)
                continue
            for d in done.intersection(everywhere):
                acc.dest_ok[d] += 1
            indices.append(i)
            if dests != everywhere:
                partial[i] = dests
            acc.add_work(f.size, len(dests))
        return JobList(files, indices, everywhere, partial)

    def _run_pass(self, jobs: JobList, acc: Outcomes) -> list[tuple[Job, tuple[int, ...]]]:
        done = bytearray(len(jobs))  # one byte a file: its outcomes are all in
        remaining = len(jobs)
        reader = threading.Thread(target=self._read_pass, args=(jobs,), name="dw-read", daemon=True)
        reader.start()
        reader_done = False
        retries: list[tuple[Job, tuple[int, ...]]] = []
        while True:
            try:
                msg = self.results.get(timeout=self.progress_interval)
            except queue.Empty:
                msg = None
            if msg is not None:
                if type(msg) is Crashed:
                    self.control.cancel()
                    self.verdicts.abort()
                    raise msg.error
                if type(msg) is ReaderDone:
                    reader_done = True
                elif type(msg) is Warned:
                    acc.warn(msg.warning)
                else:
                    assert isinstance(msg, CardRead | CardReread | CopyDone | Several)
                    items = msg.items if isinstance(msg, Several) else (msg,)
                    for item in items:
                        n = jobs.position(item.key)
                        if n is not None and not done[n]:
                            job = jobs[n]
                            retry = acc.take(job, item)
                            if retry is not None:
                                retries.append((job, retry))
                            if acc.pop_finished(item.key):
                                done[n] = 1
                                remaining -= 1
            acc.emit_progress()
            if reader_done and (not remaining or self._only_unstarted(acc)):
                break
        reader.join()
        return retries

    def _only_unstarted(self, acc: Outcomes) -> bool:
        """After a cancel or a pulled card: the files never read will get no outcome; stop waiting once
        every file that was read has all of its outcomes (no file is started and unfinished)."""
        if not (self.control.cancelled or self.interrupted):
            return False
        return not acc.any_started()


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
    media: Sequence[Medium] | None = None,
    expected: Callable[[str], Mapping[str, str] | None] | None = None,
) -> OffloadResult:
    """Run an offload to the end and return its result. Raises OffloadError when preflight refuses it.

    `on_file` gets every file's final result, `on_progress` a throttled ProgressEvent, both on the
    calling thread. `control` cancels or pauses from any thread. `already_verified(file)` names the
    destinations (indices into plan.destinations) where a previous run verified that file (resume): those
    copies are neither rewritten nor reported again, and count as verified in the result. `media` gives
    each destination's medium (default: core.medium.open_medium of each plan destination). `expected(rel_path)`
    gives the digests a file's source must have (a stage-2 copy reads a stage-1 copy: the card's): a file read
    with other digests fails every copy (`stage_source_mismatch`) before any is given its name.
    """
    control = control or OffloadControl()
    if scan is None:
        scan = scan_source(plan.source, plan.ignore)
    if check:
        preflight(plan, scan).raise_for_errors()
    engine = Engine(plan, scan, control, on_progress, on_file, progress_interval, already_verified, media, expected)
    return engine.run()
