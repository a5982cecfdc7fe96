"""The medium interface: everything the engine asks of the place a copy goes, and nothing about threads.

A `Medium` is one roll folder (or its equivalent) on one destination. The engine's writer and verifier
(core.destination) talk to it only through these methods, in this order for each file:

    locate(rel) -> final          find(final)            create_temp(final, token) -> TempFile
    TempFile.write(...) / finish(mtime_ns) / discard()    barrier()    read_back(temp or final, ...)
    commit(temp, final)           sync_names([final, ...]) -> NameSync

A *locator* is a string the medium hands out (a path on a filesystem, a key in a bucket): the engine only
passes it back and shows it in messages. Errors are OSError; `classify` turns one into a stable Code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from datawrangler.core.errors import Code

# the stable name of the warning a medium that cannot make names durable gives (once per destination)
SYNC_UNSUPPORTED = "dest_sync_unsupported"


class VerifyPolicy(StrEnum):
    """When the verifier reads copies back."""

    EACH_BATCH = "each_batch"  # as soon as a batch's barrier returned, overlapping the next writes (disks)
    AFTER_WRITES = "after_writes"  # once the pass's writes are all done (tape: no seeking back and forth)


@dataclass(frozen=True, slots=True)
class Found:
    """What is already at a final name."""

    regular: bool  # a plain file (not a folder, link or device)
    size: int


@dataclass(frozen=True, slots=True)
class ReadBack:
    digests: dict[str, str]
    cache_bypassed: bool  # the bytes came from the medium, not from the OS cache
    size: int  # bytes read


@dataclass(frozen=True, slots=True)
class NameSync:
    """The answer of `Medium.sync_names`."""

    failed: Mapping[str, OSError] = field(default_factory=dict)  # final -> why its name may not be durable
    unsupported: str = ""  # the medium cannot make names durable: a sentence for the warning; "" when it can


class TempFile(ABC):
    """A file being written under a temporary name. `locator` names it for read_back/commit/remove."""

    locator: str

    @abstractmethod
    def write(self, data: bytes | memoryview) -> None:
        """Write all of data at the end. Raises OSError."""

    @abstractmethod
    def finish(self, mtime_ns: int) -> None:
        """Set the card's modification time, make the bytes durable unless `Medium.barrier` will, close.
        Raises OSError (the caller then discards the file)."""

    @abstractmethod
    def discard(self) -> None:
        """Close (if open) and remove the temp file. Never raises."""


class Medium(ABC):
    """One destination's storage. Thread use: `lock`/`unlock`/`remove_leftovers` on the engine's thread;
    `find`/`create_temp`/TempFile on the writer thread; the rest on the verifier thread."""

    location: str  # what the user named (the roll folder): shown in progress, results and messages
    verify_policy: VerifyPolicy = VerifyPolicy.EACH_BATCH

    # -- the run

    @abstractmethod
    def lock(self) -> None:
        """Create the roll if needed and hold it for this offload alone. Raises OffloadError
        (Code.DEST_DUPLICATE) when another offload holds it, OSError otherwise."""

    @abstractmethod
    def unlock(self) -> None:
        """Release what lock() took. Never raises."""

    @abstractmethod
    def remove_leftovers(self) -> int:
        """Remove the temp files an interrupted run left. Returns how many."""

    # -- writing

    @abstractmethod
    def locate(self, rel_path: str) -> str:
        """The final locator of a card file ('/'-separated path relative to the card)."""

    @abstractmethod
    def find(self, final: str) -> Found | None:
        """What is at a final name, or None. Raises OSError."""

    @abstractmethod
    def create_temp(self, final: str, token: str) -> TempFile:
        """Start writing the file that will become `final`, under a temp name unique by `token`."""

    @abstractmethod
    def barrier(self) -> None:
        """Make every finished temp file durable (one call per batch). Raises OSError."""

    # -- verifying

    @abstractmethod
    def read_back(self, locator: str, algorithms: Iterable[str], buf: bytearray,
                  on_bytes: Callable[[int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> ReadBack:
        """Hash a durable file read from the medium itself (never from a cache), in chunks of len(buf).
        Raises OSError, or pipeline.Cancelled once `cancelled()` says so."""

    def prefetch(self, locator: str) -> None:
        """A hint: `locator` (durable: its barrier returned) is read back soon. A medium may start fetching
        it from the medium itself now, so that several reads are in flight (small files: one at a time,
        each read waits out the drive's latency). The default does nothing. Never raises."""
        return

    def forget_prefetched(self) -> None:
        """Release what `prefetch` holds for files that were not read back after all. Never raises."""
        return

    @abstractmethod
    def size(self, locator: str) -> int:
        """The stored size (size-only verify mode). Raises OSError."""

    @abstractmethod
    def remove(self, locator: str | None) -> None:
        """Remove a temp file. Never raises; None does nothing."""

    @abstractmethod
    def commit(self, temp: str, final: str) -> None:
        """Give a verified temp file its final name, never replacing anything: FileExistsError when a
        file appeared there. Other failures raise OSError."""

    @abstractmethod
    def sync_names(self, finals: Iterable[str]) -> NameSync:
        """Make committed (and found) names durable. A copy whose name failed must not be called verified."""

    # -- facts and words

    @abstractmethod
    def free_space(self) -> int:
        """Bytes that can still be written."""

    @abstractmethod
    def identity(self) -> str:
        """Equal for two locations on one physical volume (redundancy counts volumes, not folders)."""

    @abstractmethod
    def classify(self, exc: OSError) -> Code:
        """The stable code of an error this medium raised (DEST_FULL, DEST_GONE, ...)."""
