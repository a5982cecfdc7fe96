"""CaseFoldFS: a test-only FUSE passthrough filesystem that folds names the way exFAT, NTFS and APFS do.

This kernel's ext4 has no casefold support, so a destination drive that ignores letter case (or Unicode
normalisation form) is simulated here: the filesystem mirrors a *backing* directory at a *mountpoint*
and looks every name up *folded* while keeping the spelling it was created with:

- lookups are case-insensitive and case-preserving: with ``A001.MOV`` on the drive, ``a001.mov`` opens
  it, creating ``a001.mov`` opens (and truncates) the existing file, ``mkdir a001`` fails with EEXIST,
  and a directory listing shows ``A001.MOV`` only;
- with form folding, ``Café`` written precomposed (NFC) and decomposed (NFD) are one name too, as on
  APFS and HFS+ (and on any drive read by macOS);
- a rename onto a name that folds to an existing entry replaces that entry and takes the new spelling.

``fold`` picks what is folded: ``case,form`` (the default: APFS, HFS+), ``case`` (exFAT and NTFS as
Linux mounts them), ``form`` (a case-sensitive APFS, ZFS with normalization=formD).

Like tests/faultfs.py, it runs in its own process (``python -m tests.casefoldfs BACKING MOUNTPOINT
--fold case,form``) so the FUSE loop never shares a GIL with the test doing I/O on the mount; the test
side is :class:`CaseFoldMount`.  The kernel is told to cache nothing (``entry_timeout=0``,
``attr_timeout=0``, no ``kernel_cache``): libfuse gives each spelling its own inode, so cached
attributes or pages under one spelling would go stale when the file is changed under another.
"""

from __future__ import annotations

import argparse
import errno
import os
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.faultfs import UTIME_NOW, UTIME_OMIT, _format_options, _PathLike, _umount, fuse_unavailable_reason

REPO = Path(__file__).resolve().parents[1]
FOLDS = frozenset({"case", "form"})

DEFAULT_OPTIONS: dict[str, Any] = {
    "entry_timeout": 0,
    "attr_timeout": 0,
    "negative_timeout": 0,
    "hard_remove": True,
    "use_ino": True,
    "fsname": "casefoldfs",
    "subtype": "casefoldfs",
}

__all__ = ["DEFAULT_OPTIONS", "FOLDS", "CaseFoldFS", "CaseFoldMount", "fold_key", "fuse_unavailable_reason"]


def fold_key(name: str, folds: frozenset[str]) -> str:
    """The name as the filesystem compares it: NFC when forms fold, then casefolded when case folds."""
    if "form" in folds:
        name = unicodedata.normalize("NFC", name)
    if "case" in folds:
        name = name.casefold()
    return name


def _fail(code: int) -> OSError:
    return OSError(code, os.strerror(code))


# --------------------------------------------------------------------------------------------------
# filesystem side (runs in the child process)


class CaseFoldFS:
    """fusepy operations object (duck-typed like FaultFS): every path is resolved, one component at a
    time, to the backing entry whose name folds to the same key; names not found keep their spelling."""

    use_ns = True

    def __init__(self, backing: str, folds: frozenset[str]) -> None:
        self.backing = os.path.realpath(backing)
        self.folds = folds
        self._lock = threading.Lock()  # resolution and the creation that follows it are one step

    def __call__(self, op: str, path: str | None, *args: Any) -> Any:
        return getattr(self, op)(path, *args)

    # -- names ------------------------------------------------------------------------------------

    def _match(self, folder: str, name: str) -> str | None:
        """The spelling of the entry of folder whose name folds like name, if any."""
        if os.path.lexists(os.path.join(folder, name)):
            return name
        key = fold_key(name, self.folds)
        try:
            entries = os.listdir(folder)
        except OSError:
            return None
        return next((e for e in entries if fold_key(e, self.folds) == key), None)

    def _real(self, path: str) -> str:
        """The backing path of an existing entry (or, for a missing last part, the name as spelled)."""
        current = self.backing
        for part in path.strip("/").split("/"):
            if part:
                current = os.path.join(current, self._match(current, part) or part)
        return current

    def _new(self, path: str) -> str:
        """The backing path at which to create path: EEXIST when a name that folds like it exists."""
        folder, _, name = path.rstrip("/").rpartition("/")
        parent = self._real(folder)
        if self._match(parent, name) is not None:
            raise _fail(errno.EEXIST)
        return os.path.join(parent, name)

    # -- operations -------------------------------------------------------------------------------

    def getattr(self, path: str | None, fh: int | None = None) -> dict[str, Any]:
        st = os.fstat(fh) if path is None and fh is not None else os.lstat(self._real(path or "/"))
        keys = ("st_mode", "st_ino", "st_nlink", "st_uid", "st_gid", "st_size", "st_blocks", "st_blksize")
        attrs: dict[str, Any] = {k: getattr(st, k) for k in keys}
        attrs.update(st_atime=st.st_atime_ns, st_mtime=st.st_mtime_ns, st_ctime=st.st_ctime_ns)
        return attrs

    def access(self, path: str, amode: int) -> None:
        if not os.access(self._real(path), amode):
            raise _fail(errno.EACCES)

    def readdir(self, path: str, fh: int) -> Iterator[str]:
        yield from (".", "..")
        yield from os.listdir(self._real(path))

    def readlink(self, path: str) -> str:
        return os.readlink(self._real(path))

    def statfs(self, path: str) -> dict[str, int]:
        sv = os.statvfs(self._real(path))
        keys = ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree", "f_favail",
                "f_flag", "f_namemax")
        return {k: getattr(sv, k) for k in keys}

    def mknod(self, path: str, mode: int, dev: int) -> None:
        with self._lock:
            os.mknod(self._new(path), mode, dev)

    def mkdir(self, path: str, mode: int) -> None:
        with self._lock:
            os.mkdir(self._new(path), mode)

    def rmdir(self, path: str) -> None:
        os.rmdir(self._real(path))

    def unlink(self, path: str) -> None:
        os.unlink(self._real(path))

    def symlink(self, target: str, source: str) -> None:
        with self._lock:
            os.symlink(source, self._new(target))

    def link(self, target: str, source: str) -> None:
        with self._lock:
            os.link(self._real(source), self._new(target))

    def rename(self, old: str, new: str) -> None:
        with self._lock:
            src = self._real(old)
            existing = self._real(new)  # the entry new folds to, or new as spelled
            spelled = os.path.join(os.path.dirname(existing), new.rstrip("/").rpartition("/")[2])
            if existing != spelled and existing != src and os.path.lexists(existing):
                os.rename(src, existing)  # replaces the entry that folds like new...
                src = existing
            os.rename(src, spelled)  # ...which then takes new's spelling (a rename to another case too)

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(self._real(path), mode)

    def chown(self, path: str, uid: int, gid: int) -> None:
        os.chown(self._real(path), uid, gid, follow_symlinks=False)

    def truncate(self, path: str | None, length: int, fh: int | None = None) -> None:
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self._real(path or "/"), length)

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> None:
        full = self._real(path)
        if times is None:
            os.utime(full, follow_symlinks=False)
            return
        st = os.lstat(full)
        now = time.time_ns()

        def pick(value: int, current: int) -> int:
            return now if value == UTIME_NOW else current if value == UTIME_OMIT else value

        os.utime(full, ns=(pick(times[0], st.st_atime_ns), pick(times[1], st.st_mtime_ns)), follow_symlinks=False)

    def open(self, path: str, flags: int) -> int:
        return os.open(self._real(path), flags & ~(os.O_DIRECT | os.O_CREAT | os.O_EXCL))

    def create(self, path: str, mode: int) -> int:
        # The kernel asks to create only after its lookup found nothing; an entry that folds like path
        # and appeared since is opened, as exFAT and APFS open the existing file.
        with self._lock:
            return os.open(self._real(path), os.O_RDWR | os.O_CREAT, mode)

    def read(self, path: str | None, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    def write(self, path: str | None, data: bytes, offset: int, fh: int) -> int:
        return os.pwrite(fh, data, offset)

    def flush(self, path: str | None, fh: int) -> None:
        os.close(os.dup(fh))

    def fsync(self, path: str | None, datasync: int, fh: int) -> None:
        (os.fdatasync if datasync else os.fsync)(fh)

    def release(self, path: str | None, fh: int) -> None:
        os.close(fh)

    def fsyncdir(self, path: str | None, datasync: int, fh: int) -> None:
        fd = os.open(self._real(path or "/"), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def parse_folds(text: str) -> frozenset[str]:
    folds = frozenset(filter(None, (part.strip() for part in text.split(","))))
    if not folds or not folds <= FOLDS:
        raise ValueError(f"fold must be 'case', 'form' or 'case,form', not {text!r}")
    return folds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("backing")
    parser.add_argument("mountpoint")
    parser.add_argument("--fold", default="case,form", help="case, form or case,form")
    parser.add_argument("-o", dest="options", default="", help="comma-separated libfuse options")
    args = parser.parse_args(argv)
    options: dict[str, Any] = {}
    for item in filter(None, args.options.split(",")):
        key, sep, value = item.partition("=")
        options[key] = value if sep else True
    from fuse import FUSE

    FUSE(CaseFoldFS(args.backing, parse_folds(args.fold)), args.mountpoint, foreground=True, nothreads=False,
         **options)
    return 0


# --------------------------------------------------------------------------------------------------
# test side


class CaseFoldMount(_PathLike):
    """A running CaseFoldFS mount: ``os.fspath(m)``, ``m / "name"``; ``backing`` is what it mirrors (look
    there to see what a drive that folds names really holds)."""

    def __init__(self, backing: Path, mountpoint: Path, workdir: Path, fold: str = "case,form",
                 options: Mapping[str, Any] | None = None, start_timeout: float = 10.0) -> None:
        self.backing = backing
        self.mountpoint = mountpoint
        self.folds = parse_folds(fold)
        self._stderr_path = workdir / "casefoldfs.stderr"
        for d in (backing, mountpoint, workdir):
            d.mkdir(parents=True, exist_ok=True)
        opts = {**DEFAULT_OPTIONS, **(options or {})}
        with open(self._stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.casefoldfs", str(backing), str(mountpoint), "--fold",
                 ",".join(sorted(self.folds)), "-o", ",".join(_format_options(opts))],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
        deadline = time.monotonic() + start_timeout
        while not self.is_mounted:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"CaseFoldFS did not mount {mountpoint}: {self.stderr()}")
            time.sleep(0.02)

    def __repr__(self) -> str:
        return f"CaseFoldMount({self.mountpoint} -> {self.backing}, fold={','.join(sorted(self.folds))})"

    def stderr(self) -> str:
        try:
            return self._stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Unmount and end the filesystem process; safe to call more than once, never hangs."""
        busy = not _umount(self.mountpoint, lazy=False)
        if busy:
            _umount(self.mountpoint, lazy=True)
        try:
            self.process.wait(1.0 if busy else timeout)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


if __name__ == "__main__":
    sys.exit(main())
