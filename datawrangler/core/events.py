"""What the engine tells the world: frozen dataclasses, plus the control token passed down to it.

The words are ASC MHL's where they overlap (`original`, `verified`, `failed`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from datawrangler.core.errors import Code


class VerifyMode(StrEnum):
    FULL = "full"  # destinations read back from the medium, and the source re-read after a cache drop
    DESTINATIONS = "destinations"  # destinations read back from the medium
    SIZE = "size"  # sizes only: never makes a card safe to format


class FileStatus(StrEnum):
    VERIFIED = "verified"  # every destination read back and matched (and the source re-read, in full)
    COPIED = "copied"  # written and synced, sizes match, not read back (size mode)
    FAILED = "failed"
    SKIPPED = "skipped"


class CopyState(StrEnum):
    VERIFIED = "verified"
    COPIED = "copied"
    FAILED = "failed"


class OffloadState(StrEnum):
    VERIFIED = "verified"
    COPIED = "copied (not verified)"
    COMPLETED_WITH_ERRORS = "completed with errors"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class CopyResult:
    """One file on one destination."""

    destination: int  # index into plan.destinations
    state: CopyState
    code: Code | None = None
    message: str = ""
    digests: Mapping[str, str] = field(default_factory=dict)  # read back from the destination
    already_present: bool = False  # an identical file was there; it was verified, not rewritten
    cache_bypassed: bool | None = None  # the read-back could not have come from the OS cache
    attempts: int = 1
    verified_at: float | None = None  # time.time() of the matching read-back


@dataclass(frozen=True, slots=True)
class FileResult:
    rel_path: str  # as the source spells it, '/'-separated
    size: int
    mtime_ns: int
    status: FileStatus
    digests: Mapping[str, str] = field(default_factory=dict)  # taken while reading the card
    copies: tuple[CopyResult, ...] = ()
    code: Code | None = None  # the first failure's code when status is failed/skipped
    message: str = ""
    source_reverified: bool = False  # full mode: a second read of the card after a cache drop matched


@dataclass(frozen=True, slots=True)
class SkippedEntry:
    """Something the scan found and did not copy: a symlink, a socket, an unreadable folder."""

    rel_path: str
    code: Code
    message: str


@dataclass(frozen=True, slots=True)
class DestinationProgress:
    path: str
    state: str  # waiting / writing / verifying / done / failed
    bytes_written: int
    bytes_verified: int
    code: Code | None = None


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    phase: str  # scanning / copying / retrying / finishing / done
    files_total: int
    files_done: int
    bytes_total: int
    bytes_read: int  # source bytes read for the copy
    work_total: int  # every byte the offload must move: card read(s), writes, read-backs
    work_done: int
    current_file: str
    destinations: tuple[DestinationProgress, ...]
    speed: float  # smoothed card throughput, bytes per second
    eta_seconds: float | None
    elapsed: float
    paused: bool = False

    @property
    def fraction(self) -> float:
        return 1.0 if self.work_total <= 0 else min(1.0, self.work_done / self.work_total)


@dataclass(frozen=True, slots=True)
class DestinationResult:
    path: str  # the roll folder on this destination
    state: str  # verified / copied / completed with errors / failed
    files_ok: int
    files_failed: int
    code: Code | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class OffloadWarning:
    """Something the user must hear that does not fail a file (e.g. a drive that cannot sync a folder)."""

    code: str  # stable name, e.g. "dest_sync_unsupported"
    message: str
    destination: int | None = None  # index into plan.destinations
    path: str = ""


@dataclass(frozen=True, slots=True)
class OffloadResult:
    state: OffloadState
    files_total: int
    files_verified: int
    files_copied: int  # size mode: written, not read back
    files_failed: int
    files_skipped: int
    bytes_total: int
    started_at: float
    ended_at: float
    verify_mode: VerifyMode
    algorithms: tuple[str, ...]
    destinations: tuple[DestinationResult, ...]
    failures: tuple[FileResult, ...]  # every failed file (verified ones went to on_file only)
    skipped: tuple[SkippedEntry, ...]
    message: str = ""
    warnings: tuple[OffloadWarning, ...] = ()  # said once each (e.g. once per destination)

    @property
    def all_verified(self) -> bool:
        return self.state is OffloadState.VERIFIED

    @property
    def duration(self) -> float:
        return self.ended_at - self.started_at


class OffloadControl:
    """Cooperative cancel and pause, passed down to the engine. Thread-safe."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # a paused offload must wake up to see the cancel

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, timeout: float = 0.2) -> None:
        """Block while paused, returning at least every `timeout` seconds so callers can report."""
        self._running.wait(timeout)
