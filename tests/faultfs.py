"""FaultFS: a test-only FUSE passthrough filesystem that injects faults.

The filesystem mirrors a *backing* directory at a *mountpoint* and runs in its own process
(``python tests/faultfs.py BACKING MOUNTPOINT --control FILE --log FILE``), so the FUSE loop never
shares a GIL with the test that does I/O on the mount: no deadlock is possible.  The test process
drives it through :class:`FaultMount`, which rewrites a small JSON control file atomically; the
filesystem re-reads that file (one ``stat`` per operation) before every operation, so a fault set
by the test applies to the very next system call the test makes.

Faults (each a rule with a path glob relative to the mount root, matched with ``fnmatch`` where
``*`` also matches ``/``; a rule id is returned so the rule can be removed again):

``corrupt_on_store``
    Bytes written reach the backing file XOR-ed (default: the first byte of every FUSE WRITE
    request, which carries up to 128 KiB; or only the given absolute file offsets).  The kernel page
    cache keeps the clean bytes the writer gave: a plain re-read returns clean data, a re-read after
    ``fsync`` + ``posix_fadvise(POSIX_FADV_DONTNEED)`` returns what was stored.  (Whole pages only:
    FUSE does not keep a partial last page cached, so the tail of a file whose size is not a multiple
    of 4 KiB is always re-fetched.)
``eio_on_read``
    A READ request that returns bytes at or past ``offset`` fails with EIO; optionally only the first
    ``times`` failures of requests containing ``offset``, or only on handles from the first ``opens``
    opens of the file.
``flaky_read``
    Every 4 KiB page handed out a second (or later) time comes back with its first byte XOR-ed,
    whatever the request boundaries: a flaky card reader.
``stall``
    The named operations (default read and write) sleep ``seconds`` (optionally only at/after
    ``offset``, only the first ``times`` times).  A stall ends early when its rule is removed.
``fsync_error``
    An fsync of a matching file or folder (``ops``: ``fsyncdir`` by default, or ``fsync``) fails with
    ``errno`` (EIO by default); optionally only the first ``times`` times.
``vanish``
    From the moment a matching operation happens (or ``after_bytes`` bytes were read or written
    on matching paths), *every* operation on the filesystem fails with ``errno`` (default ENODEV),
    close() included; with ``unmount=True`` the filesystem also lazily unmounts itself.

Page-cache caveats, which are the point of the design: read faults only fire when the kernel actually
asks the filesystem, i.e. on the first read of a page or after its pages were dropped.  The mount
uses ``kernel_cache`` (FOPEN_KEEP_CACHE on every open), not ``direct_io``, not ``auto_cache``
(libfuse2 does not ask for FUSE_AUTO_INVAL_DATA either).  Anything that drops every cache on the
machine (``echo 3 > /proc/sys/vm/drop_caches``, e.g. a benchmark run) empties the cache too: see
:func:`cache_drops` to detect that.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes.util
import errno as errno_mod
import fnmatch
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

PAGE = 4096
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
FAULT_KINDS = frozenset({"corrupt_on_store", "eio_on_read", "flaky_read", "stall", "vanish", "fsync_error"})

#: Options handed to libfuse (``-o``).  ``kernel_cache`` is what keeps written pages cached across
#: opens; ``big_writes`` lets a WRITE request carry up to 128 KiB instead of one page; ``hard_remove``
#: unlinks open files for real instead of renaming them to ``.fuse_hidden*``.
DEFAULT_OPTIONS: dict[str, Any] = {
    "kernel_cache": True,
    "big_writes": True,
    "hard_remove": True,
    "use_ino": True,
    "fsname": "faultfs",
    "subtype": "faultfs",
}


# --------------------------------------------------------------------------------------------------
# helpers shared by both sides


def mount_points() -> set[str]:
    """Mount points from /proc/self/mountinfo (never touches the filesystems themselves)."""
    points: set[str] = set()
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 4:
                points.add(_unescape_mount_path(fields[4]))
    return points


def _unescape_mount_path(field: str) -> str:
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def is_mounted(path: str | os.PathLike[str]) -> bool:
    return os.path.realpath(path) in mount_points()


def fuse_unavailable_reason() -> str | None:
    """Why FaultFS cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "FaultFS mounts need root"
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing"
    lib = ctypes.util.find_library("fuse")
    if lib is None:
        return "libfuse2 (libfuse.so.2) not found: apt-get install libfuse2"
    try:
        ctypes.CDLL(lib)
    except OSError as exc:
        return f"libfuse2 not loadable: {exc}"
    try:
        import fuse  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"fusepy not importable: {exc}"
    return None


# --------------------------------------------------------------------------------------------------
# filesystem side (runs in the child process)


def _fail(code: int) -> OSError:
    return OSError(code, os.strerror(code))


class FaultFS:
    """fusepy operations object (duck-typed: fusepy only needs ``__call__`` and the op methods)."""

    use_ns = True  # times as integer nanoseconds (and no DeprecationWarning from fusepy)

    def __init__(self, backing: str, mountpoint: str, control: str, log: str | None) -> None:
        self.backing = os.path.realpath(backing)
        self.mountpoint = os.path.realpath(mountpoint)
        self.control = control
        self._lock = threading.RLock()
        self._control_key: tuple[int, int, int] | None = None
        self._rules: list[dict[str, Any]] = []
        self._counts: dict[int, int] = {}  # rule id -> times fired
        self._bytes: dict[int, int] = {}  # vanish rule id -> bytes moved on matching paths
        self._served: dict[tuple[int, str], set[int]] = {}  # (flaky rule id, path) -> pages served
        self._vanished: tuple[int, int] | None = None  # (rule id, errno)
        self._fh_paths: dict[int, str] = {}
        self._opens: dict[tuple[int, str], int] = {}  # (eio rule id, path) -> opens seen
        self._bad_fhs: dict[int, set[int]] = {}  # fh -> eio rule ids that fail on it
        self._log = open(log, "a", buffering=1, encoding="utf-8") if log else None  # noqa: SIM115

    # -- plumbing ----------------------------------------------------------------------------------

    def __call__(self, op: str, path: str | None, *args: Any) -> Any:
        if op in ("release", "releasedir", "destroy", "init"):
            return getattr(self, op)(path, *args)
        self._refresh()
        self._check_vanished(op, path)
        return getattr(self, op)(path, *args)

    def _full(self, path: str) -> str:
        return os.path.join(self.backing, path.lstrip("/"))

    def _refresh(self) -> None:
        try:
            st = os.stat(self.control)
            key: tuple[int, int, int] | None = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            key = None
        with self._lock:
            if key == self._control_key:
                return
            rules: list[dict[str, Any]] = []
            if key is not None:
                try:
                    with open(self.control, encoding="utf-8") as f:
                        rules = list(json.load(f).get("rules", []))
                except (OSError, ValueError):
                    return  # half-written (should not happen: the controller replaces atomically)
            self._control_key = key
            self._rules = rules
            ids = {r["id"] for r in rules}
            if self._vanished is not None and self._vanished[0] not in ids:
                self._vanished = None
                self._event("recovered", None)

    def _matching(self, kind: str, path: str | None) -> list[dict[str, Any]]:
        if path is None:
            return []
        rel = path.lstrip("/")
        with self._lock:
            return [r for r in self._rules if r["kind"] == kind and fnmatch.fnmatchcase(rel, r["glob"])]

    def _path(self, path: str | None, fh: int | None) -> str | None:
        if path is None and fh is not None:
            return self._fh_paths.get(fh)
        return path

    def _rule_alive(self, rule_id: int) -> bool:
        self._refresh()
        with self._lock:
            return any(r["id"] == rule_id for r in self._rules)

    def _take(self, rule: dict[str, Any], spend: bool = True) -> bool:
        """True if ``rule`` fires now (counting one firing if ``spend``); False once its ``times``
        budget is spent."""
        with self._lock:
            n = self._counts.get(rule["id"], 0)
            limit = rule.get("times")
            if limit is not None and n >= limit:
                return False
            if spend:
                self._counts[rule["id"]] = n + 1
            return True

    def _event(self, op: str, path: str | None, **fields: Any) -> None:
        if self._log is None:
            return
        record = {"t": time.time(), "op": op, "path": path, **fields}
        with self._lock:
            self._log.write(json.dumps(record) + "\n")

    # -- fault machinery ---------------------------------------------------------------------------

    def _check_vanished(self, op: str, path: str | None) -> None:
        with self._lock:
            vanished = self._vanished
        if vanished is None:
            for rule in self._matching("vanish", path):
                if not rule.get("after_bytes"):
                    self._trigger_vanish(rule, op, path)
            with self._lock:
                vanished = self._vanished
        if vanished is not None:
            raise _fail(vanished[1])

    def _trigger_vanish(self, rule: dict[str, Any], op: str, path: str | None) -> None:
        with self._lock:
            if self._vanished is not None:
                return
            self._vanished = (rule["id"], int(rule.get("errno", errno_mod.ENODEV)))
        self._event(op, path, fault="vanish", rule=rule["id"])
        if rule.get("unmount"):
            threading.Thread(target=self._lazy_unmount, daemon=True).start()

    def _lazy_unmount(self) -> None:
        subprocess.run(["umount", "-l", self.mountpoint], check=False, capture_output=True)

    def _count_bytes(self, op: str, path: str | None, n: int) -> None:
        for rule in self._matching("vanish", path):
            limit = rule.get("after_bytes") or 0
            if not limit:
                continue
            with self._lock:
                total = self._bytes.get(rule["id"], 0) + n
                self._bytes[rule["id"]] = total
            if total >= limit:
                self._trigger_vanish(rule, op, path)

    def _stall(self, op: str, path: str | None, offset: int | None = None) -> None:
        for rule in self._matching("stall", path):
            if op not in rule.get("ops", ("read", "write")):
                continue
            if offset is not None and offset < rule.get("offset", 0):
                continue
            if not self._take(rule):
                continue
            self._event(op, path, fault="stall", rule=rule["id"], offset=offset)
            deadline = time.monotonic() + float(rule["seconds"])
            while time.monotonic() < deadline and self._rule_alive(rule["id"]):
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    # -- operations --------------------------------------------------------------------------------

    def getattr(self, path: str | None, fh: int | None = None) -> dict[str, Any]:
        self._stall("getattr", path)
        st = os.fstat(fh) if path is None and fh is not None else os.lstat(self._full(path or "/"))
        return {
            "st_mode": st.st_mode,
            "st_ino": st.st_ino,
            "st_nlink": st.st_nlink,
            "st_uid": st.st_uid,
            "st_gid": st.st_gid,
            "st_size": st.st_size,
            "st_blocks": st.st_blocks,
            "st_blksize": st.st_blksize,
            "st_atime": st.st_atime_ns,
            "st_mtime": st.st_mtime_ns,
            "st_ctime": st.st_ctime_ns,
        }

    def access(self, path: str, amode: int) -> None:
        if not os.access(self._full(path), amode):
            raise _fail(errno_mod.EACCES)

    def readdir(self, path: str, fh: int) -> Iterator[str]:
        yield from (".", "..")
        yield from os.listdir(self._full(path))

    def readlink(self, path: str) -> str:
        return os.readlink(self._full(path))

    def statfs(self, path: str) -> dict[str, int]:
        sv = os.statvfs(self._full(path))
        keys = ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree")
        return {k: getattr(sv, k) for k in (*keys, "f_favail", "f_flag", "f_namemax")}

    def mknod(self, path: str, mode: int, dev: int) -> None:
        os.mknod(self._full(path), mode, dev)

    def mkdir(self, path: str, mode: int) -> None:
        os.mkdir(self._full(path), mode)

    def rmdir(self, path: str) -> None:
        os.rmdir(self._full(path))

    def unlink(self, path: str) -> None:
        os.unlink(self._full(path))

    def symlink(self, target: str, source: str) -> None:
        os.symlink(source, self._full(target))

    def link(self, target: str, source: str) -> None:
        os.link(self._full(source), self._full(target))

    def rename(self, old: str, new: str) -> None:
        self._stall("rename", old)
        os.rename(self._full(old), self._full(new))
        with self._lock:
            for fh, p in list(self._fh_paths.items()):
                if p == old:
                    self._fh_paths[fh] = new
        self._event("rename", old, new=new)

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(self._full(path), mode)

    def chown(self, path: str, uid: int, gid: int) -> None:
        os.chown(self._full(path), uid, gid, follow_symlinks=False)

    def truncate(self, path: str | None, length: int, fh: int | None = None) -> None:
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self._full(path or "/"), length)

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> None:
        full = self._full(path)
        if times is None:
            os.utime(full, follow_symlinks=False)
            return
        st = os.lstat(full)
        now = time.time_ns()

        def pick(value: int, current: int) -> int:
            return {UTIME_NOW: now, UTIME_OMIT: current}.get(value, value)

        os.utime(
            full,
            ns=(pick(times[0], st.st_atime_ns), pick(times[1], st.st_mtime_ns)),
            follow_symlinks=False,
        )
        self._event("utimens", path, mtime_ns=pick(times[1], st.st_mtime_ns))

    def open(self, path: str, flags: int) -> int:
        self._stall("open", path)
        fh = os.open(self._full(path), flags & ~(os.O_DIRECT | os.O_CREAT | os.O_EXCL))
        with self._lock:
            self._fh_paths[fh] = path
            for rule in self._matching("eio_on_read", path):
                if rule.get("opens") is not None:
                    seen = self._opens.get((rule["id"], path), 0)
                    self._opens[(rule["id"], path)] = seen + 1
                    if seen < rule["opens"]:
                        self._bad_fhs.setdefault(fh, set()).add(rule["id"])
        self._event("open", path, flags=flags)
        return fh

    def create(self, path: str, mode: int) -> int:
        self._stall("create", path)
        fh = os.open(self._full(path), os.O_RDWR | os.O_CREAT, mode)
        with self._lock:
            self._fh_paths[fh] = path
        self._event("create", path)
        return fh

    def read(self, path: str | None, size: int, offset: int, fh: int) -> bytes:
        path = self._path(path, fh)
        self._stall("read", path, offset)
        data = os.pread(fh, size, offset)
        for rule in self._matching("eio_on_read", path):
            bad = int(rule.get("offset", 0))
            if offset + len(data) <= bad:
                continue
            if rule.get("opens") is not None and rule["id"] not in self._bad_fhs.get(fh, ()):
                continue
            # Only requests that contain the bad offset spend the budget; requests wholly past it
            # (readahead beyond the bad page) fail for free while the budget lasts.
            if self._take(rule, spend=offset <= bad):
                self._event("read", path, offset=offset, size=size, fault="eio_on_read", rule=rule["id"])
                raise _fail(errno_mod.EIO)
        faults: list[str] = []
        for rule in self._matching("flaky_read", path):
            if path is not None and data:
                data = self._flaky(rule, path, offset, data)
                faults.append("flaky_read")
        self._event("read", path, offset=offset, size=size, length=len(data), fault=",".join(faults) or None)
        self._count_bytes("read", path, len(data))
        return data

    def _flaky(self, rule: dict[str, Any], path: str, offset: int, data: bytes) -> bytes:
        out = bytearray(data)
        with self._lock:
            served = self._served.setdefault((rule["id"], path), set())
            first, last = offset // PAGE, (offset + len(data) - 1) // PAGE
            for page in range(first, last + 1):
                if page in served:
                    out[max(page * PAGE, offset) - offset] ^= int(rule.get("xor", 0xFF))
                served.add(page)
        return bytes(out)

    def write(self, path: str | None, data: bytes, offset: int, fh: int) -> int:
        path = self._path(path, fh)
        self._stall("write", path, offset)
        stored = bytearray(data)
        faults: list[str] = []
        for rule in self._matching("corrupt_on_store", path):
            xor = int(rule.get("xor", 0xFF))
            offsets = rule.get("offsets")
            hit = False
            if offsets is None:
                if stored:
                    stored[0] ^= xor
                    hit = True
            else:
                for o in offsets:
                    if offset <= o < offset + len(stored):
                        stored[o - offset] ^= xor
                        hit = True
            if hit:
                faults.append("corrupt_on_store")
        written = os.pwrite(fh, stored, offset)
        self._event("write", path, offset=offset, size=len(data), fault=",".join(faults) or None)
        self._count_bytes("write", path, written)
        return written

    def flush(self, path: str | None, fh: int) -> None:
        os.close(os.dup(fh))

    def _fsync_error(self, op: str, path: str | None) -> None:
        for rule in self._matching("fsync_error", path or "/"):
            if op in rule.get("ops", ("fsyncdir",)) and self._take(rule):
                code = int(rule.get("errno", errno_mod.EIO))
                self._event(op, path, fault="fsync_error", rule=rule["id"], errno=code)
                raise _fail(code)

    def fsync(self, path: str | None, datasync: int, fh: int) -> None:
        path = self._path(path, fh)
        self._stall("fsync", path)
        self._fsync_error("fsync", path)
        if datasync:
            os.fdatasync(fh)
        else:
            os.fsync(fh)
        self._event("fsync", path)

    def release(self, path: str | None, fh: int) -> None:
        with self._lock:
            self._fh_paths.pop(fh, None)
            self._bad_fhs.pop(fh, None)
        os.close(fh)

    def fsyncdir(self, path: str | None, datasync: int, fh: int) -> None:
        self._fsync_error("fsyncdir", path)
        fd = os.open(self._full(path or "/"), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._event("fsyncdir", path)


def _format_options(options: Mapping[str, Any]) -> list[str]:
    return [k if v is True else f"{k}={v}" for k, v in options.items() if v is not False and v is not None]


def serve(backing: str, mountpoint: str, control: str, log: str | None, options: Mapping[str, Any]) -> None:
    from fuse import FUSE

    ops = FaultFS(backing, mountpoint, control, log)
    FUSE(ops, mountpoint, foreground=True, nothreads=False, **dict(options))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("backing")
    parser.add_argument("mountpoint")
    parser.add_argument("--control", required=True)
    parser.add_argument("--log")
    parser.add_argument("-o", dest="options", default="", help="comma-separated libfuse options")
    args = parser.parse_args(argv)
    options: dict[str, Any] = {}
    for item in filter(None, args.options.split(",")):
        key, sep, value = item.partition("=")
        options[key] = value if sep else True
    serve(args.backing, args.mountpoint, args.control, args.log, options)
    return 0


# --------------------------------------------------------------------------------------------------
# test side


def cache_drops() -> int:
    """How many times anyone wrote /proc/sys/vm/drop_caches (``drop_pagecache`` in /proc/vmstat).

    A test that relies on pages *staying* cached can compare this before and after and retry when
    another process (a benchmark run, say) dropped every cache on the machine meanwhile.
    """
    with open("/proc/vmstat", encoding="ascii") as f:
        for line in f:
            if line.startswith("drop_pagecache "):
                return int(line.split()[1])
    return 0


class _PathLike:
    """A mount usable where a path is: ``os.fspath(m)``, ``Path(m)``, ``m / "name"``."""

    mountpoint: Path

    def __fspath__(self) -> str:
        return str(self.mountpoint)

    def __str__(self) -> str:
        return str(self.mountpoint)

    def __truediv__(self, other: str | os.PathLike[str]) -> Path:
        return self.mountpoint / other

    @property
    def is_mounted(self) -> bool:
        return is_mounted(self.mountpoint)


def _umount(path: Path, lazy: bool) -> bool:
    """Unmount ``path`` (``-l`` if ``lazy``); True when it is no longer mounted."""
    if is_mounted(path):
        subprocess.run(["umount", *(["-l"] if lazy else []), str(path)], capture_output=True, check=False)
    return not is_mounted(path)


class KernelMount(_PathLike):
    """A tmpfs or loop-device ext4 mounted by the test (root only)."""

    def __init__(
        self,
        mountpoint: Path,
        fstype: str,
        device: str | None = None,
        image: Path | None = None,
        label: str | None = None,
    ) -> None:
        self.mountpoint = mountpoint
        self.fstype = fstype
        self.device = device
        self.image = image
        self.label = label

    def __repr__(self) -> str:
        return f"KernelMount({self.fstype} {self.device or ''} at {self.mountpoint})"

    def unmount(self, lazy: bool = False) -> None:
        """Unmount now; ``lazy=True`` detaches even with files open (like a yanked drive)."""
        if not _umount(self.mountpoint, lazy):
            raise OSError(errno_mod.EBUSY, f"cannot unmount {self.mountpoint}")

    def cleanup(self) -> None:
        """Teardown: unmount (lazily if busy) and detach the loop device; never raises."""
        if not _umount(self.mountpoint, lazy=False):
            _umount(self.mountpoint, lazy=True)
        if self.device is not None:
            # on a lazily unmounted, still busy device this only sets autoclear: the kernel
            # detaches it when the last user goes away
            subprocess.run(["losetup", "-d", self.device], capture_output=True, check=False)
            self.device = None


def mount_tmpfs(mountpoint: Path, size_bytes: int) -> KernelMount:
    mountpoint.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0755", "tmpfs", str(mountpoint)],
        check=True,
        capture_output=True,
    )
    return KernelMount(mountpoint, "tmpfs")


def mount_ext4_image(image: Path, mountpoint: Path, size_mb: int, label: str | None = None, *,
                     fs_uuid: str | None = None, tree: Path | None = None, direct_io: bool = False) -> KernelMount:
    """Make an ext4 image of ``size_mb`` MiB (no reserved blocks; filesystem UUID ``fs_uuid``; filled
    from the folder ``tree`` when given: mkfs.ext4 -d), attach it to a loop device and mount it at
    ``mountpoint``. ``direct_io``: the loop device reads and writes the image file past the page cache, as
    a drive of its own would (the benchmarks' destinations)."""
    if label is not None and len(label.encode()) > 16:
        raise ValueError(f"ext4 labels are at most 16 bytes: {label!r}")
    with open(image, "wb") as f:
        f.truncate(size_mb * 1024 * 1024)
    mkfs = ["mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=0,lazy_journal_init=0"]
    if label is not None:
        mkfs += ["-L", label]
    if fs_uuid is not None:
        mkfs += ["-U", fs_uuid]
    if tree is not None:
        mkfs += ["-d", str(tree)]
    subprocess.run([*mkfs, str(image)], check=True, capture_output=True)
    device = subprocess.run(
        ["losetup", "--find", "--show", *(["--direct-io=on"] if direct_io else []), str(image)], check=True,
        capture_output=True, text=True
    ).stdout.strip()
    mountpoint.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["mount", "-t", "ext4", device, str(mountpoint)], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        subprocess.run(["losetup", "-d", device], capture_output=True, check=False)
        raise
    return KernelMount(mountpoint, "ext4", device=device, image=image, label=label)


class FaultMount(_PathLike):
    """A running FaultFS mount, controlled from the test process.

    Fault setters add a rule and return its id (for :meth:`remove`); rules apply from the next
    system call on.  Globs are relative to the mount root and must also match temp names
    (``"clip.mov*"`` or ``"*"`` when the writer goes through ``clip.mov.tmp``).
    """

    def __init__(
        self,
        backing: Path,
        mountpoint: Path,
        workdir: Path,
        options: Mapping[str, Any] | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        self.backing = backing
        self.mountpoint = mountpoint
        self.control = workdir / "control.json"
        self.log = workdir / "events.jsonl"
        self.options: dict[str, Any] = {**DEFAULT_OPTIONS, **(options or {})}
        self._rules: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._stderr_path = workdir / "faultfs.stderr"
        for d in (backing, mountpoint, workdir):
            d.mkdir(parents=True, exist_ok=True)
        self._write_control()
        self.log.touch()
        with open(self._stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    os.path.abspath(__file__),
                    str(backing),
                    str(mountpoint),
                    "--control",
                    str(self.control),
                    "--log",
                    str(self.log),
                    "-o",
                    ",".join(_format_options(self.options)),
                ],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
        deadline = time.monotonic() + start_timeout
        while not self.is_mounted:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"FaultFS did not mount {mountpoint}: {self.stderr()}")
            time.sleep(0.02)

    def __repr__(self) -> str:
        return f"FaultMount({self.mountpoint} -> {self.backing}, rules={self._rules})"

    # -- faults ------------------------------------------------------------------------------------

    def corrupt_on_store(self, glob: str = "*", *, offsets: Iterable[int] | None = None, xor: int = 0xFF) -> int:
        """Written bytes reach the backing file XOR-ed: by default the first byte of every WRITE
        request (up to 128 KiB each); with ``offsets``, only those absolute file offsets.  The page
        cache keeps the clean bytes."""
        return self._add("corrupt_on_store", glob, offsets=None if offsets is None else list(offsets), xor=xor)

    def eio_on_read(
        self, glob: str = "*", *, offset: int = 0, times: int | None = None, opens: int | None = None
    ) -> int:
        """READ requests that return bytes at or past ``offset`` fail with EIO.

        ``times``: only the first ``times`` failures of requests *containing* ``offset`` (requests
        wholly past it fail for free meanwhile).  What an application sees per request depends on
        the kernel (6.18, buffered): the first read() crossing ``offset`` costs 2 (readahead, then a
        one-page retry) and comes back short if it had returned bytes before ``offset``, or raises
        EIO if it started in the bad page; every later read() at the bad page costs 1 and raises
        EIO.  ``opens``: only file handles from the first ``opens`` opens of the file fail (a
        reopen-and-retry gets good data) -- independent of readahead.
        """
        return self._add("eio_on_read", glob, offset=offset, times=times, opens=opens)

    def flaky_read(self, glob: str = "*", *, xor: int = 0xFF) -> int:
        """Every 4 KiB page the filesystem hands out a second time has its first byte XOR-ed (the
        first pass is clean; a re-read after dropping the pages differs)."""
        return self._add("flaky_read", glob, xor=xor)

    def stall(
        self,
        glob: str = "*",
        seconds: float = 5.0,
        *,
        ops: Iterable[str] = ("read", "write"),
        offset: int = 0,
        times: int | None = None,
    ) -> int:
        """Requests sleep ``seconds`` before being served.  ``ops`` from: read, write, open, create,
        fsync, rename, getattr; ``offset`` applies to read/write; ``times`` caps how many requests
        stall.  Removing the rule (or :meth:`clear`) ends stalls in progress within 50 ms."""
        return self._add("stall", glob, seconds=seconds, ops=list(ops), offset=offset, times=times)

    def vanish(
        self,
        glob: str = "*",
        *,
        after_bytes: int = 0,
        errno: int = errno_mod.ENODEV,
        unmount: bool = False,
    ) -> int:
        """From the next operation on a matching path (or once ``after_bytes`` bytes were read or
        written on matching paths: the request that crosses the line still succeeds), *every*
        operation on the filesystem fails with ``errno``.  ``unmount=True`` also lazily unmounts
        it (``umount -l``) at that moment: new opens then see the empty mountpoint (ENOENT) and the
        filesystem process exits once the last open file is closed.  Removing the rule undoes the
        errors (not the unmount)."""
        return self._add("vanish", glob, after_bytes=after_bytes, errno=errno, unmount=unmount)

    def fsync_error(
        self, glob: str = "*", *, errno: int = errno_mod.EIO, ops: Iterable[str] = ("fsyncdir",),
        times: int | None = None,
    ) -> int:
        """An fsync of a matching folder (``ops=("fsyncdir",)``, the default) or file (``"fsync"``) fails
        with ``errno``; ``times`` caps how many.  The root folder's path is ``""``."""
        return self._add("fsync_error", glob, errno=errno, ops=list(ops), times=times)

    def remove(self, rule_id: int) -> None:
        self._rules = [r for r in self._rules if r["id"] != rule_id]
        self._write_control()

    def clear(self) -> None:
        """Remove every rule."""
        self._rules = []
        self._write_control()

    def _add(self, kind: str, glob: str, **params: Any) -> int:
        assert kind in FAULT_KINDS
        rule = {"id": next(self._ids), "kind": kind, "glob": glob.lstrip("/"), **params}
        self._rules.append(rule)
        self._write_control()
        return int(rule["id"])

    def _write_control(self) -> None:
        tmp = self.control.with_name(self.control.name + ".tmp")
        tmp.write_text(json.dumps({"rules": self._rules}), encoding="utf-8")
        os.replace(tmp, self.control)

    # -- observation -------------------------------------------------------------------------------

    def events(self, op: str | None = None, glob: str | None = None, fault: str | None = None) -> list[dict[str, Any]]:
        """Requests the filesystem served, oldest first, as dicts: ``t`` (time.time()), ``op``
        (open, create, read, write, fsync, fsyncdir, rename, utimens, or the op a vanish hit),
        ``path`` ("/rel/path"), and per op ``offset``, ``size``, ``length``, ``fault``, ``rule``,
        ``new``.  ``fault`` filters on the fault that acted on the request."""
        out = []
        with open(self.log, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line being written right now
                if op is not None and rec.get("op") != op:
                    continue
                if glob is not None and not fnmatch.fnmatchcase((rec.get("path") or "").lstrip("/"), glob):
                    continue
                if fault is not None and fault not in (rec.get("fault") or "").split(","):
                    continue
                out.append(rec)
        return out

    def bytes_read(self, glob: str = "*") -> int:
        """Bytes the kernel fetched from the filesystem for matching paths (page-cache hits do not
        count): the proof that a read went to the medium."""
        return sum(int(r.get("length", 0)) for r in self.events("read", glob))

    def stderr(self) -> str:
        try:
            return self._stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    # -- lifecycle ---------------------------------------------------------------------------------

    def unmount(self, lazy: bool = True) -> None:
        """Pull the mount away now (``umount -l`` by default: open files keep working until closed,
        new lookups see the empty mountpoint)."""
        if not _umount(self.mountpoint, lazy) and not lazy:
            raise OSError(errno_mod.EBUSY, f"cannot unmount {self.mountpoint}")

    def stop(self, timeout: float = 10.0) -> None:
        """Unmount and end the filesystem process; safe to call more than once, never hangs."""
        with contextlib.suppress(OSError):
            self.clear()  # ends stalls and vanish errors so the unmount can go through
        busy = not _umount(self.mountpoint, lazy=False)
        if busy:
            _umount(self.mountpoint, lazy=True)
        try:
            # after a lazy unmount the process serves open files until they close: do not wait long
            self.process.wait(1.0 if busy else timeout)
        except subprocess.TimeoutExpired:
            # still serving files held open on a lazily detached mount: ending the process aborts
            # the FUSE connection, and the kernel fails those files with ENOTCONN
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _umount(self.mountpoint, lazy=True)


if __name__ == "__main__":
    sys.exit(main())
