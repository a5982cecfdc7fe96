"""What the engine's threads share: jobs, pending files, the card verdicts, temp names, the typed messages
they pass each other (frozen dataclasses, never tuples), and `Shared`, the one object each thread gets."""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from array import array
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import overload

from datawrangler.core.errors import Code
from datawrangler.core.events import CopyResult, OffloadControl, OffloadWarning
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import SourceFile

TEMP_PREFIX = ".dwtmp-"
TEMP_SUFFIX = ".part"


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


@dataclass(frozen=True, slots=True)
class Job:
    key: tuple[int, int]  # (pass, file index): unique for the whole run
    index: int
    file: SourceFile
    dests: tuple[int, ...]
    attempt: int


class JobList(Sequence[Job]):
    """One pass's jobs, made when asked for: a pass over 1,000,000 files holds their file numbers (a range, or
    an array when a resume left some out), and a Job (with its SourceFile) exists only while a thread uses
    it. `position(key)` finds a job from the key its outcomes carry. A retry pass (a few files) is a list."""

    __slots__ = ("_attempt", "_dests", "_everywhere", "_files", "_indices", "_jobs", "_pass", "_where")

    def __init__(self, files: Sequence[SourceFile], indices: range | array[int], everywhere: tuple[int, ...],
                 dests: dict[int, tuple[int, ...]] | None = None, pass_no: int = 0, attempt: int = 1) -> None:
        self._files = files
        self._indices = indices  # ascending file numbers
        self._everywhere = everywhere
        self._dests = dests or {}  # file number -> its destinations, where not every one (resume)
        self._pass = pass_no
        self._attempt = attempt
        self._jobs: list[Job] | None = None
        self._where: dict[tuple[int, int], int] = {}

    @classmethod
    def of(cls, jobs: list[Job]) -> JobList:
        """A retry pass: its few jobs as they are."""
        self = cls((), range(0), ())
        self._jobs = jobs
        self._where = {j.key: n for n, j in enumerate(jobs)}
        return self

    def __len__(self) -> int:
        return len(self._jobs) if self._jobs is not None else len(self._indices)

    @overload
    def __getitem__(self, n: int) -> Job: ...
    @overload
    def __getitem__(self, n: slice) -> list[Job]: ...

    def __getitem__(self, n: int | slice) -> Job | list[Job]:
        if isinstance(n, slice):
            return [self[k] for k in range(*n.indices(len(self)))]
        if self._jobs is not None:
            return self._jobs[n]
        i = self._indices[n]
        return Job((self._pass, i), i, self._files[i], self._dests.get(i, self._everywhere), self._attempt)

    def position(self, key: tuple[int, int]) -> int | None:
        """Where the job with this key is in the pass, or None when it is not one of this pass's."""
        if self._jobs is not None:
            return self._where.get(key)
        pass_no, i = key
        if pass_no != self._pass:
            return None
        n = bisect_left(self._indices, i)
        return n if n < len(self._indices) and self._indices[n] == i else None


@dataclass(slots=True)
class Pending:
    """A file written to a temp name (or found already there), waiting for the barrier and verification.
    `temp` and `final` are the medium's locators."""

    job: Job
    temp: str | None  # None: an existing file at the final name is verified instead
    final: str
    digests: dict[str, str]


class SourceGone(Exception):
    pass


class Verdicts:
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

    def set_many(self, values: list[tuple[tuple[int, int], bool]]) -> None:
        """Several verdicts with one wake-up of the waiting verifiers."""
        with self._cond:
            self._values.update(values)
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


class Cancelled(Exception):
    pass


def close_quietly(fd: int) -> None:
    """Close a descriptor we only read from: a vanished device may refuse even that, and it changes nothing."""
    with contextlib.suppress(OSError):
        os.close(fd)


class FileFailed(Exception):
    def __init__(self, code: Code, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


# -- the messages between the engine's threads (core.transfer, core.destination, core.outcome)
# reader -> each destination's writer


@dataclass(frozen=True, slots=True)
class StartFile:
    job: Job


@dataclass(frozen=True, slots=True)
class Chunk:
    data: bytes  # one object per chunk, handed to every destination


@dataclass(frozen=True, slots=True)
class EndFile:
    job: Job
    digests: dict[str, str] | None  # None: the card could not be read (the collector fails the file)


@dataclass(frozen=True, slots=True)
class WholeFile:
    """A card file read whole (it fit in one chunk), with its digests: written, closed and batched at once."""

    job: Job
    data: bytes
    digests: dict[str, str]


@dataclass(frozen=True, slots=True)
class SmallFiles:
    """Several small card files in one message (at most a chunk's bytes: memory stays bounded as with
    Chunk), so a file costs the writer no queue hand-off of its own. Each was read without error; their
    CardRead outcomes travel to the collector in one `Several` message."""

    files: tuple[WholeFile, ...]


@dataclass(frozen=True, slots=True)
class AbortPass:
    """Cancelled or card gone: drop the file in progress."""


@dataclass(frozen=True, slots=True)
class FlushPass:
    """The reader finished a pass: commit what waits."""


@dataclass(frozen=True, slots=True)
class StopWriter:
    pass


WriterMessage = StartFile | Chunk | EndFile | SmallFiles | AbortPass | FlushPass | StopWriter

# every thread -> the collector


@dataclass(frozen=True, slots=True)
class CardRead:
    key: tuple[int, int]
    digests: dict[str, str] | None
    code: Code | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CardReread:
    key: tuple[int, int]
    ok: bool
    code: Code | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CopyDone:
    key: tuple[int, int]
    result: CopyResult


@dataclass(frozen=True, slots=True)
class Warned:
    warning: OffloadWarning


@dataclass(frozen=True, slots=True)
class ReaderDone:
    pass


@dataclass(frozen=True, slots=True)
class Crashed:
    """A bug on a worker thread: the collector cancels the run and re-raises it."""

    error: BaseException


@dataclass(frozen=True, slots=True)
class Several:
    """Many files' outcomes in one message (a batch of small files read, re-read or verified): one queue
    hand-off, and one wake-up of the collector, instead of one per file."""

    items: tuple[CardRead | CardReread | CopyDone, ...]


CollectorMessage = CardRead | CardReread | CopyDone | Several | Warned | ReaderDone | Crashed


@dataclass(frozen=True, eq=False)
class Shared:
    """What every thread of one offload shares; the engine builds it once and hands it down."""

    plan: OffloadPlan
    control: OffloadControl
    verdicts: Verdicts
    source_failure: dict[tuple[int, int], Code]  # full mode: why the card's second read failed, per job
    results: queue.Queue[CollectorMessage]  # to the collector
    # the digests a file's source must have (a stage-2 copy: the card's, by path), checked before its copy is
    # given its name (Destination._verify_one); None, or None for a path: nothing is expected
    expected: Callable[[str], Mapping[str, str] | None] | None = None
