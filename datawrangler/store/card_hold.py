"""One card, one offload at a time: the hold an offload takes on its card before it records anything.

The engine locks each roll folder, so two offloads into one folder never interleave; but two instances of
DataWrangler (two windows, a window and a command line) could still offload one card to different drives
at once: the card read twice, two offload rows of one card racing in the catalog, two verdicts. So an
offload (or a resume) holds its card, by fingerprint, from before its catalog row exists until it ends: an
exclusive `flock` on a small file in a `holds` folder beside the catalog, which the OS lets go when the
process ends however it ends (a crash, a kill, a power cut leave nothing to clean up). The file holds who
holds it (store.holders.Holder, as JSON), so the one refused can say who: which process, pid, station,
since when, which offload, from where to where. The refused one has recorded nothing.

Where the OS has no flock (Windows), the catalog's 'running' offloads of the card, whose process is alive,
are asked instead: the same words, without the guarantee against two starting in the same instant.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import multiprocessing
import os
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from datawrangler.core.errors import Code, OffloadError
from datawrangler.store.catalog import Catalog
from datawrangler.store.holders import Holder, process_words, running_offloads

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

__all__ = ["CARD_BUSY", "CardHold", "busy_message", "hold_card", "holds_folder"]

# the refusal's code: card_busy (core.errors, once it has it), dest_duplicate when the rolls are the same too
CARD_BUSY: Code = Code.CARD_BUSY
NOT_STARTED = "This offload was not started and nothing of it was recorded."


def holds_folder(catalog: str | os.PathLike[str]) -> Path:
    return Path(catalog).parent / "holds"


class CardHold:
    """A held card; `record(offload_id)` once the offload has its row; `release()` (or the with block's end)
    when the offload has ended."""

    def __init__(self, path: Path | None, fd: int, holder: Holder) -> None:
        self.path = path
        self._fd = fd
        self.holder = holder

    def record(self, offload_id: int) -> None:
        self.holder = dataclasses.replace(self.holder, offload_id=offload_id)
        self._write()

    def _write(self) -> None:
        if self._fd >= 0:
            data = json.dumps(dataclasses.asdict(self.holder)).encode()
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, data, 0)

    def release(self) -> None:
        """Remove the file while still holding it (a process waiting on the old file then finds it gone and
        takes a new one), then let go."""
        fd, self._fd = self._fd, -1
        if fd < 0:
            return
        try:
            if self.path is not None:
                os.unlink(self.path)
        except OSError:
            pass
        finally:
            os.close(fd)

    def __enter__(self) -> CardHold:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def this_holder(source: str, rolls: Sequence[str]) -> Holder:
    """This process as a holder: a window's offload worker (spawned with the window's argv) names the window."""
    parent = multiprocessing.parent_process()
    return Holder(socket.gethostname(), os.getpid(), process_words(sys.argv), time.time(), None, source,
                  tuple(rolls), parent.pid if parent is not None else None)


def hold_card(catalog: str | os.PathLike[str], fingerprint: str, *, source: str, rolls: Sequence[str],
              db: Catalog | None = None) -> CardHold:
    """Hold the card with this fingerprint for this process, or raise OffloadError naming who holds it
    (see busy_message). Take it before the offload's catalog row exists, release it when the offload ends."""
    me = this_holder(source, rolls)
    if fcntl is None:
        return _by_catalog(db, fingerprint, rolls, source, me)
    folder = holds_folder(catalog)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"card-{fingerprint[:32]}.lock"
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):  # a filesystem without locks (some NFS)
                log.warning("the catalog's folder %s cannot lock files (%s): two offloads of one card are "
                            "told apart by the catalog alone", folder, exc)
                return _by_catalog(db, fingerprint, rolls, source, me)
            other = _read(path) or _from_catalog(db, fingerprint)
            raise _busy(other, rolls, source, path) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # its holder removed it as it let go: take the new one
    hold = CardHold(path, fd, me)
    hold._write()
    return hold


def _by_catalog(db: Catalog | None, fingerprint: str, rolls: Sequence[str], source: str, me: Holder) -> CardHold:
    """Where files cannot be locked: the catalog's running offloads of the card, whose process is alive."""
    other = _from_catalog(db, fingerprint)
    if other is not None:
        raise _busy(other, rolls, source)
    return CardHold(None, -1, me)


def _read(path: Path, wait: float = 1.0) -> Holder | None:
    """The holder's record; it writes it just after taking the lock, so an empty file is read again briefly."""
    deadline = time.monotonic() + wait
    while True:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Holder(**{**data, "rolls": tuple(data.get("rolls") or ())})
        except (OSError, ValueError, TypeError):
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)


def _from_catalog(db: Catalog | None, fingerprint: str) -> Holder | None:
    found = running_offloads(db, fingerprint=fingerprint, exclude_pid=os.getpid()) if db is not None else []
    return found[0] if found else None


def busy_message(holder: Holder | None, rolls: Sequence[str], lock: Path | None = None) -> str:
    """Who holds the card, and what to do: the roll folder named when it is one of this offload's too."""
    if holder is None:
        where = f" (it holds {lock})" if lock else ""
        return (f"This card is being offloaded right now by another DataWrangler process{where}. Wait for it to "
                f"finish, or stop it there, then offload again if it did not verify. {NOT_STARTED}")
    theirs = {os.path.normpath(r) for r in holder.rolls}
    shared = [r for r in rolls if os.path.normpath(r) in theirs]
    if shared:
        return (f"Another offload is writing to {shared[0]} right now: {holder.describe()}. Wait for it to finish, "
                f"or stop it there, then offload again if it did not verify. {NOT_STARTED}")
    return (f"This card is being offloaded right now: {holder.describe()}. One card is offloaded by one offload "
            f"at a time: wait for it to finish, or stop it there, then offload the card to these drives. "
            f"{NOT_STARTED}")


def _busy(holder: Holder | None, rolls: Sequence[str], source: str, lock: Path | None = None) -> OffloadError:
    theirs = {os.path.normpath(r) for r in holder.rolls} if holder else set()
    code = Code.DEST_DUPLICATE if any(os.path.normpath(r) in theirs for r in rolls) else CARD_BUSY
    return OffloadError(code, busy_message(holder, rolls, lock), path=source)
