"""The platform details of "on the medium".

- `sync_file(fd)`: data and metadata on the medium. Linux: fsync. macOS: F_FULLFSYNC (plain fsync stops
  at the drive's cache). Windows: os.fsync is FlushFileBuffers.
- `sync_filesystem(fd)`: one barrier for a batch of files on one filesystem (Linux syncfs); where the OS
  has none, the caller syncs each file.
- `drop_cache(fd)` and `open_for_verify(path)`: make the next read of a file come from the medium.
  Linux: after the data is synced its pages are clean, and POSIX_FADV_DONTNEED evicts them; `resident_pages`
  (mincore) then proves it. macOS: F_NOCACHE on the reading descriptor. Windows: not bypassed (unbuffered
  reads need sector-aligned buffers that Python's file API does not give); the result says so
  (cache_bypassed=False) and so does every report.
- `sync_dir(path)`: make a rename durable. Returns False where the filesystem cannot sync a folder
  (EINVAL/ENOTSUP/EOPNOTSUPP); raises OSError on any other failure, which must fail the copies in it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import mmap
import os
import sys

LINUX = sys.platform.startswith("linux")
MACOS = sys.platform == "darwin"
WINDOWS = sys.platform == "win32"

_F_FULLFSYNC = 51  # <fcntl.h> on macOS
_F_NOCACHE = 48

_libc: ctypes.CDLL | None = None
if not WINDOWS:
    with contextlib.suppress(OSError):
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def sync_file(fd: int) -> None:
    if MACOS:
        import fcntl

        try:
            fcntl.fcntl(fd, _F_FULLFSYNC)
            return
        except OSError:
            pass  # not supported by this filesystem (e.g. SMB): fall back to fsync
    os.fsync(fd)


if LINUX and _libc is not None:  # prototypes declared once, not per verified file
    _libc.mmap.restype = ctypes.c_void_p
    _libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    _libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    _libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]

_HAVE_SYNCFS = LINUX and _libc is not None and hasattr(_libc, "syncfs")


def have_syncfs() -> bool:
    return _HAVE_SYNCFS


def sync_filesystem(fd: int) -> None:
    """Flush every dirty page of the filesystem that holds fd, and wait for it (Linux syncfs)."""
    assert _libc is not None
    if _libc.syncfs(fd) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


# What fsync on a folder fails with where the filesystem cannot do it (FUSE without fsyncdir, SMB, some
# network filesystems): the rename is then only as durable as the filesystem makes it on its own.
UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP})


def sync_dir(path: str) -> bool:
    """Make the names in a folder (a rename into it) durable. True when done; False when this filesystem
    cannot sync a folder (EINVAL/ENOTSUP/EOPNOTSUPP): the caller says so. Any other failure raises OSError:
    the names may not be on the medium."""
    if WINDOWS:
        return True  # NTFS journals the rename; directories cannot be opened for fsync
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno in UNSUPPORTED:
            return False
        raise
    finally:
        os.close(fd)
    return True


def drop_cache(fd: int) -> bool:
    """Ask the OS to forget the cached pages of fd. True when the OS offers a way to do it."""
    if LINUX:
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            return True
        except OSError:
            return False
    if MACOS:
        import fcntl

        try:
            fcntl.fcntl(fd, _F_NOCACHE, 1)
            return True
        except OSError:
            return False
    return False


_LOW_BIT = bytes(b & 1 for b in range(256))  # mincore: the low bit of each byte says "resident"


def resident_pages(fd: int, size: int) -> int | None:
    """How many pages of the file are in the page cache now (Linux mincore), or None if unknown."""
    if not LINUX or _libc is None or size <= 0:
        return None if size > 0 else 0
    page = mmap.PAGESIZE
    npages = (size + page - 1) // page
    libc = _libc
    addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        return None
    try:
        vec = ctypes.create_string_buffer(npages)
        if libc.mincore(addr, size, vec) != 0:
            return None
        return vec.raw.translate(_LOW_BIT).count(1)
    finally:
        libc.munmap(addr, size)


def open_for_verify(path: str) -> tuple[int, bool]:
    """Open a synced file so that reads come from the medium. Returns (fd, cache_bypassed)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        dropped = drop_cache(fd)
        if not dropped:
            return fd, False
        if LINUX:
            size = os.fstat(fd).st_size
            resident = resident_pages(fd, size)
            # tmpfs and ramfs keep a file only in RAM: their pages are the medium and stay resident.
            return fd, resident == 0
        return fd, True
    except BaseException:
        os.close(fd)
        raise
