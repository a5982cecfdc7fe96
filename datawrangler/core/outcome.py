"""The collector's book-keeping: each file's outcomes, its final result, re-copies, counts and progress.

It reads the engine's live state through `EngineView` (what core.transfer.Engine offers), so this module
and the engine do not import each other.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from datawrangler.core.errors import Code, message_for
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
    OffloadWarning,
    ProgressEvent,
    VerifyMode,
)
from datawrangler.core.pipeline import CardRead, CardReread, CopyDone, Job, Verdicts
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import ScanResult
from datawrangler.core.words import agree, plural


class CountersView(Protocol):
    bytes_written: int
    bytes_verified: int
    state: str


class DestinationView(Protocol):
    @property
    def roll(self) -> str: ...
    @property
    def dead(self) -> Code | None: ...
    @property
    def dead_message(self) -> str: ...
    @property
    def counters(self) -> CountersView: ...


class EngineView(Protocol):
    """What the collector reads of the engine."""

    @property
    def plan(self) -> OffloadPlan: ...
    @property
    def scan(self) -> ScanResult: ...
    @property
    def control(self) -> OffloadControl: ...
    @property
    def verdicts(self) -> Verdicts: ...
    @property
    def source_failure(self) -> dict[tuple[int, int], Code]: ...
    @property
    def on_progress(self) -> Callable[[ProgressEvent], None] | None: ...
    @property
    def on_file(self) -> Callable[[FileResult], None] | None: ...
    @property
    def progress_interval(self) -> float: ...
    @property
    def dests(self) -> Sequence[DestinationView]: ...
    @property
    def bytes_read(self) -> int: ...
    @property
    def bytes_reread(self) -> int: ...
    @property
    def current_file(self) -> str: ...
    @property
    def phase(self) -> str: ...
    @property
    def interrupted(self) -> str: ...


@dataclass
class FileState:
    read: bool = False
    digests: dict[str, str] | None = None
    read_code: Code | None = None
    read_detail: str = ""
    source_done: bool = False
    source_ok: bool = True
    source_code: Code | None = None
    source_detail: str = ""
    copies: dict[int, CopyResult] = field(default_factory=dict)


class Outcomes:
    """Collects the outcomes of each file, decides its result, counts, and reports progress."""

    def __init__(self, engine: EngineView, started: float) -> None:
        self.engine = engine
        self.plan = engine.plan
        self.started_at = started
        self.states: dict[tuple[int, int], FileState] = {}
        self.kept: dict[int, dict[int, CopyResult]] = {}  # verified copies of files being retried
        self._finished: set[tuple[int, int]] = set()  # finished, not yet taken by pop_finished (one or none)
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
        self.warnings: list[OffloadWarning] = []

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

    def any_started(self) -> bool:
        """Is a file started (an outcome in) and not yet finished?"""
        return bool(self.states)

    def pop_finished(self, key: tuple[int, int]) -> bool:
        """Did the file just finish (all its outcomes in)? Said once: the engine keeps its own done flags, so
        nothing is kept here per finished file."""
        if key in self._finished:
            self._finished.discard(key)
            return True
        return False

    def warn(self, warning: OffloadWarning) -> None:
        self.warnings.append(warning)

    def take(self, job: Job, msg: CardRead | CardReread | CopyDone) -> tuple[int, ...] | None:
        """One outcome of a file. Returns the destinations to copy it to again, or None."""
        st = self.states.setdefault(job.key, FileState())
        if type(msg) is CopyDone:
            st.copies[msg.result.destination] = msg.result
        elif type(msg) is CardRead:
            st.read = True
            st.digests, st.read_code, st.read_detail = msg.digests, msg.code, msg.detail
        elif type(msg) is CardReread:
            st.source_done, st.source_ok, st.source_code, st.source_detail = True, msg.ok, msg.code, msg.detail
        return self._maybe_finish(job, st)

    def _maybe_finish(self, job: Job, st: FileState) -> tuple[int, ...] | None:
        if not st.read:
            return None
        if st.read_code is None:
            if self.plan.verify_mode is VerifyMode.FULL and not st.source_done:
                return None
            if len(st.copies) < len(job.dests):
                return None
        self._finished.add(job.key)
        del self.states[job.key]
        self.engine.verdicts.forget(job.key)
        self.engine.source_failure.pop(job.key, None)
        kept = self.kept.pop(job.index, {})
        can_retry = job.attempt <= self.plan.retries and not self.engine.control.cancelled
        if st.read_code is None and can_retry:
            if not st.source_ok and st.source_code is Code.SOURCE_UNSTABLE:
                self.kept[job.index] = kept
                return job.dests
            again = tuple(i for i, c in st.copies.items() if c.code in (Code.VERIFY_MISMATCH, Code.VERIFY_READ_ERROR))
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

    def _finalize(self, job: Job, st: FileState, copies: dict[int, CopyResult]) -> None:
        ordered = tuple(copies[i] for i in sorted(copies))
        failed = [c for c in ordered if c.state is CopyState.FAILED]
        f = job.file
        code: Code | None
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
        dest_results = [DestinationResult(d.roll, destination_state(d.dead is not None, self.dest_failed[i],
                                                                    self.dest_ok[i], total, plan.verify_mode),
                                          self.dest_ok[i], self.dest_failed[i], d.dead, d.dead_message)
                        for i, d in enumerate(eng.dests)]
        message = end_message(state, total, len(eng.dests), self.failed, len(errors_in_scan), self.verified)
        return OffloadResult(state, total, self.verified, self.copied, self.failed, len(eng.scan.skipped),
                             eng.scan.total_bytes, self.started_at, ended, plan.verify_mode, plan.algorithms,
                             tuple(dest_results), tuple(self.failures), tuple(eng.scan.skipped), message,
                             tuple(self.warnings))


def destination_state(dead: bool, failed: int, ok: int, total: int, mode: VerifyMode) -> str:
    """A destination's end: failed (the drive died), completed with errors, incomplete, verified or copied."""
    if dead:
        return "failed"
    if failed:
        return "completed with errors"
    if ok < total:
        return "incomplete"
    return "copied" if mode is VerifyMode.SIZE else "verified"


def end_message(state: OffloadState, total: int, n_dests: int, failed: int, unreadable: int, verified: int) -> str:
    """The offload's verdict in words, for its end state."""
    every = ("All " if total != 1 else "") + plural(total, "file")  # "All 4 files", "1 file"
    if state is OffloadState.VERIFIED:
        return f"{every} verified on {plural(n_dests, 'destination')}."
    if state is OffloadState.COPIED:
        return f"{every} copied; sizes checked only (verify mode 'size'): NOT verified, do not format the card on " \
               "this basis."
    if state is OffloadState.COMPLETED_WITH_ERRORS:
        return f"{failed} of {plural(total, 'file')} failed" \
            + (f", {plural(unreadable, 'entry')} could not be read" if unreadable else "") + ". Do not format the card."
    if state is OffloadState.INTERRUPTED:
        return message_for(Code.SOURCE_GONE)
    return f"Cancelled after {verified} of {plural(total, 'file')} {agree(verified, 'was', 'were')} verified."


def fail_files(result: OffloadResult, changed: Sequence[tuple[FileResult, FileResult]]) -> OffloadResult:
    """The end of an offload once some of its file results were failed after the engine decided them, by a
    check the engine does not make (the card's own ASC MHL history: handoff.source). `changed` holds (as the
    engine said it, as recorded). Counts, failures, each destination and the state and its message become
    what Outcomes.result would have made had the engine failed those files itself, so that the verdict, the
    exit code and the catalog never call such a file verified."""
    turned = [(was, now) for was, now in changed
              if was.status is not FileStatus.FAILED and now.status is FileStatus.FAILED]
    if not turned:
        return result
    lost = [0] * len(result.destinations)  # per destination: copies that were good and are failed now
    for was, now in turned:
        for before, after in zip(was.copies, now.copies, strict=True):
            if before.state is not CopyState.FAILED and after.state is CopyState.FAILED:
                lost[after.destination] += 1
    verified = result.files_verified - sum(was.status is FileStatus.VERIFIED for was, _ in turned)
    copied = result.files_copied - sum(was.status is FileStatus.COPIED for was, _ in turned)
    failed = result.files_failed + len(turned)
    total = result.files_total
    dests = tuple(dataclasses.replace(
        d, files_ok=d.files_ok - n, files_failed=d.files_failed + n,
        state=destination_state(d.code is not None, d.files_failed + n, d.files_ok - n, total, result.verify_mode))
        for d, n in zip(result.destinations, lost, strict=True))
    state = result.state
    if state in (OffloadState.VERIFIED, OffloadState.COPIED):
        state = OffloadState.COMPLETED_WITH_ERRORS
    unreadable = sum(s.code is Code.UNREADABLE for s in result.skipped)
    return dataclasses.replace(
        result, state=state, files_verified=verified, files_copied=copied, files_failed=failed, destinations=dests,
        failures=(*result.failures, *(now for _, now in turned)),
        message=end_message(state, total, len(dests), failed, unreadable, verified))
