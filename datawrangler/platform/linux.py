"""Linux: the mount table is /proc/self/mountinfo; volume identity comes from udev's /dev/disk links where
udev made them, else `blkid` (containers and minimal systems have no udev), and /sys; a process's start
token is its start time in clock ticks; keep-awake is `systemd-inhibit`; eject is udisks, else `umount`.

Redundancy counts physical volumes: a block device's partitions are folded into their disk through
/sys/dev/block; virtual filesystems (tmpfs, FUSE, NFS: major 0) are identified by their device number alone.

Whether a mount's device is removable media (a card may be in it) is `linux_media`'s: udisks where it
answers, else sysfs; never the system's own disks, loop devices or RAM disks.

psutil reads the mount table too (`disk_partitions`), but without the device number ("major:minor") that
tells a remount from the same volume, so the table is read here.

On the medium: a file is fsynced (base); a batch of files on one filesystem gets one `syncfs` (libc, through
ctypes: the prototypes are declared once, at import); a folder is fsynced (base). A read-back comes from the
medium because the file's pages, clean once synced, are evicted (POSIX_FADV_DONTNEED) and `cachestat` (Linux
6.5; `mincore` before it) then proves that none is left; on tmpfs and ramfs the pages are the medium and stay,
so such a read-back is said not to bypass the cache.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import getpass
import logging
import mmap
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from datawrangler.platform.base import (
    EjectResult,
    MediaCheck,
    MountInfo,
    Runner,
    Volume,
    alive_as,
    containing_mount,
    device_of,
    disk_space,
    eject_with,
    mounts_under,
    open_checked,
    run,
)
from datawrangler.platform.linux_media import block_dir, block_name, media_check, sysfs_check, whole_disk
from datawrangler.platform.posix import hold_inhibitor

log = logging.getLogger(__name__)

MOUNTINFO = "/proc/self/mountinfo"
_BY = "/dev/disk"


# -- the mount table


def _unescape_mount(field: str) -> str:
    # /proc/self/mountinfo escapes space, tab, newline and backslash as octal
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mounts() -> list[MountInfo]:
    """The mount table, in the kernel's order (a later mount over a mount point hides the earlier)."""
    out: list[MountInfo] = []
    try:
        with open(MOUNTINFO, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                a = left.split()
                b = right.split()
                if len(a) >= 5 and len(b) >= 2:
                    out.append(MountInfo(_unescape_mount(a[4]), b[0], _unescape_mount(b[1]), a[2]))
    except OSError:
        pass
    return out


def current(roots: Sequence[str], at: Sequence[str] = ()) -> dict[str, MountInfo]:
    """{mount point: mount} for every mount strictly under one of roots, or at one of `at`."""
    return mounts_under(mounts(), roots, at)


def default_roots() -> tuple[str, ...]:
    """Where udisks and the desktops mount removable media."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    roots = ["/media", "/mnt"]
    if user:
        roots[1:1] = [f"/media/{user}", f"/run/media/{user}"]
    return tuple(roots)


def mount_of(path: str) -> MountInfo | None:
    """The mount that holds path (the longest mount point that is a prefix of its real path)."""
    return containing_mount(mounts(), path)


def fstype(path: str) -> str:
    m = mount_of(path)
    return m.fstype if m else ""


# -- volume identity


def physical_volume(path: str) -> str:
    """A stable id of the physical volume that holds path: the disk for a partition."""
    st = os.stat(path)
    major, minor = os.major(st.st_dev), os.minor(st.st_dev)
    if major != 0:
        sys_path = f"/sys/dev/block/{major}:{minor}"
        try:
            real = os.path.realpath(sys_path)
            if os.path.exists(os.path.join(real, "partition")):
                with open(os.path.join(os.path.dirname(real), "dev"), encoding="ascii") as f:
                    return "blk:" + f.read().strip()
            return f"blk:{major}:{minor}"
        except OSError:
            pass
    return f"dev:{major}:{minor}"


def _unescape_udev(name: str) -> str:
    """udev writes unsafe bytes of a label as \\xNN."""
    raw = re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), os.fsencode(name))
    return raw.decode("utf-8", "replace")


def disk_links(kind: str) -> dict[str, str]:
    """/dev/disk/by-<kind> ("label", "uuid"): {resolved device node: name}."""
    folder = os.path.join(_BY, f"by-{kind}")
    out: dict[str, str] = {}
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return out
    for name in names:
        target = os.path.realpath(os.path.join(folder, name))
        out.setdefault(target, _unescape_udev(name))
    return out


def disk_serial(physical: str) -> str | None:
    """A /dev/disk/by-id name for the whole disk with device number `blk:MAJ:MIN` (stable across plugs)."""
    if not physical.startswith("blk:"):
        return None
    folder = os.path.join(_BY, "by-id")
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return None
    for name in names:
        try:
            st = os.stat(os.path.join(folder, name))
        except OSError:
            continue
        if f"blk:{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}" == physical and not name.startswith("wwn-"):
            return name
    return None


def label_and_uuid(mount: MountInfo) -> tuple[str | None, str | None]:
    """The filesystem's label and UUID: udev's links, else `blkid` (for what the links did not give)."""
    if not mount.source.startswith("/dev/"):
        return None, None
    node = os.path.realpath(mount.source)
    label, fs_uuid = disk_links("label").get(node), disk_links("uuid").get(node)
    if label is None or fs_uuid is None:
        found = blkid(node)
        label = label or found.get("LABEL") or None
        fs_uuid = fs_uuid or found.get("UUID") or None
    return label, fs_uuid


def blkid(device: str) -> dict[str, str]:
    """`blkid -o export DEVICE` as a dict (LABEL, UUID, TYPE, ...); {} when blkid is missing or fails.
    `-p` probes the device itself, bypassing blkid's cache (which may be stale for a fresh card)."""
    exe = shutil.which("blkid") or next((p for p in ("/sbin/blkid", "/usr/sbin/blkid") if os.path.exists(p)), None)
    if exe is None:
        return {}
    try:
        proc = subprocess.run([exe, "-p", "-o", "export", device], capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("blkid %s failed: %s", device, exc)
        return {}
    out = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = _unquote(value.strip())
    return out


def _unquote(value: str) -> str:
    # blkid -o export escapes with backslashes (shell style)
    out, esc = [], False
    for c in value:
        if esc:
            out.append(c)
            esc = False
        elif c == "\\":
            esc = True
        else:
            out.append(c)
    return "".join(out)


def removable(device: str | None) -> bool | None:
    """What sysfs says of the device's whole disk (linux_media.sysfs_check: removable=1, a hotplug port or
    bus, an SD card); None when sysfs does not know the device. USB card readers often say removable=0: a
    disk hanging off a USB bus is removable for a DIT's purposes."""
    name = block_name(device) if device is not None else None
    block = block_dir(name) if name is not None else None
    return None if block is None else sysfs_check(whole_disk(block)).removable


def removable_media(mount: MountInfo) -> MediaCheck:
    """Whether the device behind mount is removable media, and why (linux_media: the system's disks, udisks
    where it answers, else sysfs)."""
    return media_check(mount, mounts())


def describe(mount: MountInfo) -> Volume:
    label, fs_uuid = label_and_uuid(mount)
    device = device_of(mount)
    return Volume(mount.mount_point, label, mount.fstype, device, fs_uuid, *disk_space(mount.mount_point),
                  removable(device), mount.dev)


def volume_at(path: str) -> Volume | None:
    """The mounted volume whose mount point is `path` itself; None for a plain folder, or a folder inside a
    volume (ejecting it would take away more than the card that was offloaded). Reads the mount table and
    may run `blkid`: call it off the GUI thread.

    The table is the truth (os.path.ismount misses a bind mount from the same disk). A device mounted at
    several places (a bind mount of a folder on it) keeps no device here, so an eject unmounts this one
    mount point and never acts on the whole disk."""
    real = os.path.realpath(path)
    table = mounts()
    here = [m for m in table if m.mount_point == real]
    if not here:
        return None
    mount = here[-1]  # later lines win: a mount over a mount point hides the one below
    volume = describe(mount)
    if volume.device is not None and sum(m.source == mount.source for m in table) > 1:
        volume = replace(volume, device=None, removable=None)
    return volume


# -- process liveness


def start_token(pid: int) -> str:
    """The process's start time in clock ticks since boot (/proc/PID/stat), or '' when it is gone.

    Not psutil's create_time: that adds the boot time as the wall clock sees it now, which moves when the
    clock is set (a laptop that finds the network after boot), and a running offload would look ended."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return fields[19] if len(fields) > 19 else ""


def process_alive(pid: int | None, token: str | None) -> bool:
    """True when the process named by pid and its start token may still be running on this machine."""
    return alive_as(pid, token, start_token)


# -- keep-awake


def inhibitor_command(reason: str) -> list[str] | None:
    if not shutil.which("systemd-inhibit"):
        return None
    # The lock lives as long as the command it runs: `tail --pid` ends when this process ends, even when it is
    # killed (a `sleep infinity` would hold the lock for ever after a crash).
    return ["systemd-inhibit", "--what=idle:sleep", "--who=DataWrangler", f"--why={reason}", "--mode=block",
            "tail", f"--pid={os.getpid()}", "-f", "/dev/null"]


@contextlib.contextmanager
def keep_awake(reason: str = "Offloading a camera card") -> Iterator[bool]:
    """Keep the machine from sleeping while held (a `systemd-inhibit` idle/sleep block lock). Yields True when
    the lock is held, False when there is none (logged)."""
    with hold_inhibitor(inhibitor_command(reason)) as held:
        yield held


# -- eject


def eject_commands(volume: Volume, which: Callable[[str], str | None] = shutil.which) -> list[list[str]]:
    """`udisksctl unmount` then `udisksctl power-off` (the reader's light goes out); without udisks, `umount`
    (works as root or for an fstab 'user' mount). A volume without a device (a bind mount) is unmounted at its
    mount point only."""
    if which("udisksctl") and volume.device:
        cmds = [["udisksctl", "unmount", "--no-user-interaction", "-b", volume.device]]
        if volume.removable:
            cmds.append(["udisksctl", "power-off", "--no-user-interaction", "-b", volume.device])
        return cmds
    return [["umount", volume.mount_point]]


def eject(volume: Volume, runner: Runner = run) -> EjectResult:
    """Eject the volume with the OS's own tool, so the desktop knows the card went away."""
    return eject_with(eject_commands(volume), volume, runner)


# -- durable I/O: "on the medium"

_libc: ctypes.CDLL | None = None
with contextlib.suppress(OSError):
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)

if _libc is not None:  # prototypes declared once, not per verified file
    _libc.mmap.restype = ctypes.c_void_p
    _libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    _libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    _libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]

_HAVE_SYNCFS = _libc is not None and hasattr(_libc, "syncfs")


def have_syncfs() -> bool:
    return _HAVE_SYNCFS


def sync_filesystem(fd: int) -> None:
    """Flush every dirty page of the filesystem that holds fd, and wait for it (syncfs)."""
    assert _libc is not None
    if _libc.syncfs(fd) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def drop_cache(fd: int) -> bool:
    """Evict the cached pages of fd (POSIX_FADV_DONTNEED; only clean pages go: sync first). True when the
    kernel took the advice."""
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return True
    except OSError:
        return False


_LOW_BIT = bytes(b & 1 for b in range(256))  # mincore: the low bit of each byte says "resident"


def resident_pages(fd: int, size: int) -> int | None:
    """How many pages of the file are in the page cache now (mincore), or None if unknown."""
    if _libc is None or size <= 0:
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


# cachestat(2) (Linux 6.5): a file's cached pages counted in one call on the descriptor, where mincore needs an
# fstat, an mmap (which takes the process's memory-map lock, contended by every thread of an offload) and a
# munmap. Its number is one for every architecture (it came after the syscall tables were unified).
_NR_CACHESTAT = 451


class _CachestatRange(ctypes.Structure):
    _fields_ = [("off", ctypes.c_uint64), ("len", ctypes.c_uint64)]  # len 0: to the end of the file


class _Cachestat(ctypes.Structure):
    _fields_ = [("nr_cache", ctypes.c_uint64), ("nr_dirty", ctypes.c_uint64), ("nr_writeback", ctypes.c_uint64),
                ("nr_evicted", ctypes.c_uint64), ("nr_recently_evicted", ctypes.c_uint64)]


_WHOLE_FILE = _CachestatRange(0, 0)
_cachestat_works = _libc is not None and hasattr(_libc, "syscall")  # False once the kernel says ENOSYS


def cached_pages(fd: int) -> int | None:
    """How many pages of the file the page cache holds now, by cachestat(2); None when this kernel (older than
    6.5) or this filesystem cannot say, and the caller asks mincore instead."""
    global _cachestat_works
    if not _cachestat_works:
        return None
    assert _libc is not None
    stat = _Cachestat()
    if _libc.syscall(_NR_CACHESTAT, fd, ctypes.byref(_WHOLE_FILE), ctypes.byref(stat), 0) == 0:
        return int(stat.nr_cache)
    if ctypes.get_errno() == errno.ENOSYS:
        _cachestat_works = False  # asked once per process, not once per file
    return None


# renameat2(2) with RENAME_NOREPLACE (Linux 3.15; ext4, xfs, btrfs, tmpfs, f2fs...): a verified copy takes its
# name in one directory operation that fails with EEXIST when a file is there, where link + unlink take two
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_NOREPLACE_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}
_renameat2: Callable[[int, bytes, int, bytes, int], int] | None = None
if _libc is not None and hasattr(_libc, "renameat2"):
    _libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    _renameat2 = _libc.renameat2


def rename_exclusive(src: str, dst: str) -> bool:
    """Rename src to dst, never replacing dst: FileExistsError when something is there, another OSError as the
    rename failed. False when the filesystem (FUSE, NFS, exFAT on older kernels...) has no RENAME_NOREPLACE:
    nothing was done, and the caller links and unlinks instead."""
    if _renameat2 is None:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
        return True
    err = ctypes.get_errno()
    if err in _NOREPLACE_UNSUPPORTED:
        return False
    if err == errno.EEXIST:
        raise FileExistsError(err, os.strerror(err), dst)
    raise OSError(err, os.strerror(err), src, None, dst)


def _dropped(fd: int) -> bool:
    """The pages of fd evicted, and the kernel says none is left (cachestat, else mincore). tmpfs and ramfs
    keep a file only in RAM: their pages are the medium and stay resident, so a read-back there is not said to
    bypass the cache. Unknown is never taken for gone."""
    if not drop_cache(fd):
        return False
    left = cached_pages(fd)
    if left is None:
        left = resident_pages(fd, os.fstat(fd).st_size)
    return left == 0


def open_for_verify(path: str) -> tuple[int, bool]:
    """Open a synced file so that reads come from the medium. Returns (fd, cache_bypassed)."""
    return open_checked(path, _dropped)
