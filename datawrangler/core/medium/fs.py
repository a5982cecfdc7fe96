"""The filesystem medium: a roll folder on a mounted drive (the only medium so far).

Durability on a filesystem is three steps: the file's bytes (a local drive on Linux: one syncfs per batch,
`barrier`; a FUSE or network drive, and other systems: an fsync as each file closes, since syncfs never
reaches them), the read-back after the file's pages are dropped, and the rename's folder entry (`sync_names`:
one folder fsync per folder per batch, and the parent of each folder the run made, which holds its name). A
folder sync that fails fails the copies in that folder; a filesystem that cannot sync a folder at all says so
once (`NameSync.unsupported`). tests/faults/test_power_cut.py proves it on a strict FUSE drive.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterable

from datawrangler import platform
from datawrangler.core.errors import Code, OffloadError, dest_code_for
from datawrangler.core.hashing import MultiHasher
from datawrangler.core.medium.base import Found, Medium, NameSync, ReadBack, TempFile
from datawrangler.core.pipeline import TEMP_PREFIX, TEMP_SUFFIX, Cancelled, close_quietly, remove_temp_files


class _FsTemp(TempFile):
    __slots__ = ("_fd", "_sync_each", "locator")

    def __init__(self, locator: str, fd: int, sync_each: bool) -> None:
        self.locator = locator
        self._fd = fd
        self._sync_each = sync_each  # no syncfs for its drive (FsMedium.lock): the file is synced itself

    def write(self, data: bytes | memoryview) -> None:
        fd = self._fd
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]

    def finish(self, mtime_ns: int) -> None:
        fd = self._fd
        if os.utime in os.supports_fd:
            os.utime(fd, ns=(mtime_ns, mtime_ns))
        else:
            os.utime(self.locator, ns=(mtime_ns, mtime_ns))
        if self._sync_each:
            platform.sync_file(fd)
        self._fd = -1  # closed even when close() fails: never close a descriptor number twice
        os.close(fd)

    def discard(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            close_quietly(fd)
        with contextlib.suppress(OSError):
            os.unlink(self.locator)


# what FsMedium.prefetch asks the kernel to fetch of a file (a larger file's own reads get the kernel's
# sequential readahead)
PREFETCH_BYTES = 1 << 20
_WILLNEED = getattr(os, "POSIX_FADV_WILLNEED", None)


def read_back(path: str, algorithms: Iterable[str], buf: bytearray,
              on_bytes: Callable[[int], None] | None = None,
              cancelled: Callable[[], bool] | None = None,
              opened: tuple[int, bool] | None = None) -> ReadBack:
    """Hash a file read from the drive itself (pages dropped first; see platform.open_for_verify). The one
    read-back of the engine's verifier and of a later re-verify. `opened`: the (fd, cache_bypassed) that
    platform.open_for_verify gave earlier (FsMedium.prefetch), now owned by this call."""
    mh = MultiHasher(tuple(algorithms))
    view = memoryview(buf)
    fd, bypassed = opened if opened is not None else platform.open_for_verify(path)
    total = 0
    try:
        while True:
            if cancelled is not None and cancelled():
                raise Cancelled
            n = os.readv(fd, [buf])
            if not n:
                break
            mh.update(view[:n])
            total += n
            if on_bytes is not None:
                on_bytes(n)
    finally:
        close_quietly(fd)
    return ReadBack(mh.hexdigests(), bypassed, total)


def rename_no_replace(src: str, dst: str) -> None:
    """Rename that never replaces an existing file: one exclusive rename where the OS has it (Linux's
    RENAME_NOREPLACE), else hard link + unlink, else (no links, e.g. exFAT) a plain rename checked first."""
    if platform.rename_exclusive(src, dst):
        return
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


class FsMedium(Medium):
    """A roll folder on a mounted filesystem. Locators are paths."""

    def __init__(self, roll: str) -> None:
        self.location = roll
        self._lock_fd: int | None = None
        self._made_dirs: set[str] = set()
        self._new_dirs: list[str] = []  # folders this run made, their names not yet synced in their parents
        self._fresh: set[str] = set()  # folders this run made (as locate spells them): nothing to find in them
        self._syncfs = platform.have_syncfs()  # decided per drive in lock()
        self._prefetched: dict[str, tuple[int, bool]] = {}  # locator -> (fd, cache_bypassed), verifier thread

    def __repr__(self) -> str:
        return f"FsMedium({self.location!r})"

    # -- the run

    def lock(self) -> None:
        roll = self.location
        self._make_dirs(roll)
        self._decide_sync()
        if hasattr(os, "O_DIRECTORY"):
            import fcntl

            fd = os.open(roll, os.O_RDONLY | os.O_DIRECTORY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    return  # this drive cannot lock (ENOLCK on some NFS/SMB): the card's hold still guards it
                raise OffloadError(Code.DEST_DUPLICATE, f"Another offload is writing to {roll} right "
                                   "now. Wait for it to finish, or choose another folder.", path=roll) from None
            self._lock_fd = fd

    def _decide_sync(self) -> None:
        # syncfs stores a local drive's whole batch at once, but the kernel sends a FUSE filesystem (ntfs-3g,
        # exfat-fuse, sshfs) nothing for it, and a network filesystem's server may never hear of it: there
        # each copy is synced as it closes (fsync reaches both)
        kind = platform.fstype(self.location).lower()
        self._syncfs = platform.have_syncfs() and not (
            kind in ("fuse", "fuseblk") or kind.startswith("fuse.") or kind in platform.NETWORK_FS)

    def new_dirs(self) -> list[str]:
        """The folders this run made whose names are not synced yet (a lane syncs them too: core.lane)."""
        return list(self._new_dirs)

    def attach(self, new_dirs: Iterable[str]) -> None:
        """Use a roll that another FsMedium of this run locked and prepared (core.lane's process): the same
        barrier as it, and the folders it made, whose names this one syncs as well with its first batch."""
        self._decide_sync()
        self._new_dirs.extend(new_dirs)

    def unlock(self) -> None:
        if self._lock_fd is not None:
            close_quietly(self._lock_fd)
            self._lock_fd = None

    def remove_leftovers(self) -> int:
        return remove_temp_files(self.location)

    # -- writing

    def locate(self, rel_path: str) -> str:
        return os.path.join(self.location, *rel_path.split("/"))

    def find(self, final: str) -> Found | None:
        """What is at a final name. A folder this run made holds only what this run put there, so nothing is
        asked of the drive (one lstat less per file); a name that appears there meanwhile is refused by the
        commit, which never replaces (`commit`: FileExistsError, the file there untouched)."""
        if os.path.dirname(final) in self._fresh:
            return None
        try:
            st = os.lstat(final)
        except FileNotFoundError:
            return None
        return Found(stat.S_ISREG(st.st_mode), st.st_size)

    def create_temp(self, final: str, token: str) -> TempFile:
        folder = os.path.dirname(final)
        temp = os.path.join(folder, f"{TEMP_PREFIX}{token}{TEMP_SUFFIX}")
        if folder not in self._made_dirs:
            self._make_dirs(folder)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o644)
        return _FsTemp(temp, fd, not self._syncfs)

    def _make_dirs(self, folder: str) -> None:
        """Make a folder and its missing parents, and remember those made: a new folder's name is stored in
        its parent, so sync_names syncs that parent too (after a power cut the roll would be gone otherwise)."""
        made = platform.make_dirs(folder)  # deepest first
        self._new_dirs.extend(made)
        self._made_dirs.add(folder)
        if made and made[0] == os.path.abspath(folder):
            self._fresh.add(folder)

    def barrier(self) -> None:
        """One syncfs for the batch (a local drive on Linux); elsewhere each file was synced as it closed."""
        if not self._syncfs:
            return
        fd = os.open(self.location, os.O_RDONLY)
        try:
            platform.sync_filesystem(fd)
        finally:
            os.close(fd)

    # -- verifying

    def read_back(self, locator: str, algorithms: Iterable[str], buf: bytearray,
                  on_bytes: Callable[[int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> ReadBack:
        return read_back(locator, algorithms, buf, on_bytes, cancelled, self._prefetched.pop(locator, None))

    def prefetch(self, locator: str) -> None:
        """Open the file as the read-back does (its pages dropped and proven gone: the proof is made now,
        before any byte is fetched), then ask the kernel to read its first PREFETCH_BYTES from the drive
        (POSIX_FADV_WILLNEED, asynchronous). The read-back then hashes bytes that came from the drive after
        the proof, as it would have read them itself, but the drive had many small reads queued at once.
        Where the OS has no such advice, nothing is done."""
        if _WILLNEED is None or locator in self._prefetched:
            return
        try:
            fd, bypassed = platform.open_for_verify(locator)
        except OSError:
            return  # the read-back opens it again and says why it cannot
        if bypassed:  # a read that could come from the cache is not fetched ahead: it gains nothing
            with contextlib.suppress(OSError):
                os.posix_fadvise(fd, 0, PREFETCH_BYTES, _WILLNEED)
        self._prefetched[locator] = (fd, bypassed)

    def forget_prefetched(self) -> None:
        prefetched, self._prefetched = self._prefetched, {}
        for fd, _ in prefetched.values():
            close_quietly(fd)

    def size(self, locator: str) -> int:
        return os.stat(locator).st_size

    def remove(self, locator: str | None) -> None:
        if locator:
            held = self._prefetched.pop(locator, None)
            if held is not None:
                close_quietly(held[0])
            with contextlib.suppress(OSError):
                os.unlink(locator)

    def commit(self, temp: str, final: str) -> None:
        rename_no_replace(temp, final)

    def sync_names(self, finals: Iterable[str]) -> NameSync:
        """One fsync per folder. A folder that cannot be synced fails every name in it."""
        by_folder: dict[str, list[str]] = {}
        finals_list = list(finals)
        for f in finals_list:
            by_folder.setdefault(os.path.dirname(f), []).append(f)
        failed: dict[str, OSError] = {}
        unsupported = ""
        new_dirs, self._new_dirs = self._new_dirs, []
        for new in new_dirs:  # the folders made since the last sync hold the names; their parents hold theirs
            by_folder.setdefault(os.path.dirname(new), [])
        for folder, names in by_folder.items():
            try:
                if not platform.sync_dir(folder):
                    unsupported = (f"The filesystem of {self.location} cannot sync a folder, so a new file's name "
                                   "reaches the drive only when the filesystem writes it on its own: after a power "
                                   "cut or an unplug without eject a verified copy could lose its name. Eject the "
                                   "drive before unplugging it; 'datawrangler verify' checks it again later.")
            except OSError as exc:
                made = [d for d in new_dirs if os.path.dirname(d) == folder]
                self._new_dirs.extend(made)  # tried again at the next batch
                made_here = tuple(d + os.sep for d in made)
                inside = [f for f in finals_list if made_here and f.startswith(made_here)]
                for name in (*names, *inside):  # a new folder's name not stored: nothing in it is either
                    failed[name] = exc
        return NameSync(failed, unsupported)

    # -- facts and words

    def free_space(self) -> int:
        return shutil.disk_usage(self.location).free

    def identity(self) -> str:
        return f"dev:{os.stat(self.location).st_dev}"

    def classify(self, exc: OSError) -> Code:
        code = dest_code_for(exc, self.location)
        # a vanished mount shows up as the roll folder no longer being there
        if code in (Code.DEST_WRITE_ERROR, Code.DEST_GONE) and not os.path.isdir(self.location):
            return Code.DEST_GONE
        return code
