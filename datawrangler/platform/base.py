"""What holds on every OS, and the fallbacks where an OS module has nothing better.

The types (a mount table entry, a mounted volume, an eject's result), the filename rules of restricted
filesystems, and the helpers the OS modules share. A function here that an OS module also defines is the
portable fallback: it says "unknown" (an empty table, no label, no inhibitor, a read-back not proven to
bypass the cache) rather than guess.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import psutil

log = logging.getLogger(__name__)

# Filesystems whose names cannot hold " * / : < > ? \ | or control characters.
RESTRICTED_FS = {"exfat", "vfat", "msdos", "fat", "ntfs", "ntfs3", "fuseblk", "smb3", "cifs"}
FORBIDDEN_CHARS = set('"*:<>?\\|') | {chr(c) for c in range(32)}

MOUNTINFO = ""  # the file whose changes announce a mount or unmount (Linux); "" where there is none

# What is never a camera card, whatever device is behind it. Network filesystems (and a VM's folders shared
# by its host) are someone else's disk; the pseudo filesystems are the kernel's own (autofs is a trigger that
# mounts something else on top); the system mount points are this machine's own disks.
NETWORK_FS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "sshfs", "fuse.sshfs", "9p", "afs", "ceph", "fuse.ceph-fuse",
    "glusterfs", "fuse.glusterfs", "davfs", "fuse.davfs2", "webdav", "afpfs", "ncpfs", "lustre", "gfs2", "ocfs2",
    "fuse.rclone", "fuse.s3fs", "fuse.gcsfuse", "fuse.curlftpfs", "virtiofs", "vboxsf", "vmhgfs", "fuse.vmhgfs-fuse",
    "prl_fs"})
PSEUDO_FS = frozenset({
    "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs", "tracefs", "configfs",
    "pstore", "bpf", "mqueue", "hugetlbfs", "fusectl", "binfmt_misc", "autofs", "efivarfs", "rpc_pipefs", "nsfs",
    "selinuxfs"})
SYSTEM_MOUNT_POINTS = frozenset({"/", "/boot", "/boot/efi", "/efi", "/home", "/usr", "/var", "/tmp"})


@dataclass(frozen=True)
class MountInfo:
    mount_point: str
    fstype: str
    source: str
    dev: str  # "major:minor"


@dataclass(frozen=True)
class Volume:
    """A mounted volume as the OS describes it."""

    mount_point: str
    label: str | None
    fstype: str
    device: str | None  # /dev/sdb1, /dev/loop3; None where the OS names none
    fs_uuid: str | None
    capacity: int | None  # bytes
    free: int | None  # bytes available to the user
    removable: bool | None  # None: the OS did not say
    dev: str = ""  # "major:minor" from the mount table (a remount elsewhere is a new volume)

    @property
    def name(self) -> str:
        return self.label or os.path.basename(self.mount_point.rstrip("/\\")) or self.mount_point


@dataclass(frozen=True)
class MediaCheck:
    """What the OS says of the device behind a mount: removable media (a card may be in it) or not, and why,
    in words a person can check ("removable media (sdb: removable=1)")."""

    removable: bool
    why: str


@dataclass(frozen=True)
class EjectResult:
    ok: bool
    message: str


# -- the mount table


def mounts() -> list[MountInfo]:
    """The OS's mount table; empty where it has none that is read here."""
    return []


def current(roots: Sequence[str], at: Sequence[str] = ()) -> dict[str, MountInfo]:
    """{mount point: mount} for every mount strictly under one of roots, or at one of `at`."""
    return {}


def default_roots() -> tuple[str, ...]:
    """Where the OS mounts removable media."""
    return ()


def normalise_roots(roots: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(os.path.realpath(os.path.abspath(os.path.expanduser(r))) for r in roots))


def mounts_under(table: Iterable[MountInfo], roots: Sequence[str], at: Sequence[str] = ()) -> dict[str, MountInfo]:
    """The mounts of table strictly under one of roots, or at one of `at` (a root the user added may be a
    mount point itself: a reader's fixed mount point); later entries win (a mount over a mount point hides
    the one below). A mount at a platform root (/mnt on a cloud machine) is not under it."""
    prefixes = [r.rstrip(os.sep) + os.sep for r in roots]
    exact = set(at)
    return {m.mount_point: m for m in table
            if m.mount_point in exact or any(m.mount_point.startswith(p) for p in prefixes)}


def containing_mount(table: Iterable[MountInfo], path: str) -> MountInfo | None:
    """The mount of table that holds path (the longest mount point that is a prefix of its real path)."""
    real = os.path.realpath(path)
    best: MountInfo | None = None
    for m in table:
        mp = m.mount_point
        if (real == mp or real.startswith(mp.rstrip("/") + "/") or mp == "/") and (
            best is None or len(mp) >= len(best.mount_point)
        ):
            best = m
    return best


def mount_of(path: str) -> MountInfo | None:
    """The mount that holds path; None where the OS's table is not read."""
    return None


def fstype(path: str) -> str:
    """The filesystem type that holds path; "" where unknown."""
    return ""


def is_network(mount: MountInfo) -> bool:
    """A network filesystem: by its type, or by a source that names a server (`//server/share`,
    `host:/export`, `user@host:path`), which catches FUSE clients this list does not name."""
    if mount.fstype.lower() in NETWORK_FS:
        return True
    src = mount.source
    if src.startswith("//"):
        return True
    host, sep, _ = src.partition(":")
    return bool(sep and host) and "/" not in host


def removable_media(mount: MountInfo) -> MediaCheck:
    """Whether the OS calls the device behind mount removable (or on a hotplug bus). Here the OS is not
    asked: not removable, and the reason says so."""
    return MediaCheck(False, "this system does not say whether its device is removable")


# -- volume identity


def device_number(path: str) -> str:
    """The device number of the filesystem at path: "major:minor" where the OS splits it."""
    st_dev = os.stat(path).st_dev
    if sys.platform == "win32":
        return str(st_dev)
    return f"{os.major(st_dev)}:{os.minor(st_dev)}"


def physical_volume(path: str) -> str:
    """A stable id of the physical volume that holds path. Here, the filesystem's device number."""
    return f"dev:{device_number(path)}"


def disk_links(kind: str) -> dict[str, str]:
    """{device node: name} of the OS's named links to block devices (Linux /dev/disk/by-<kind>)."""
    return {}


def disk_serial(physical: str) -> str | None:
    """A name of the whole disk that stays the same across plugs (Linux: its serial); None here."""
    return None


def label_and_uuid(mount: MountInfo) -> tuple[str | None, str | None]:
    """The filesystem's label and UUID, where the OS gives them."""
    return None, None


def device_of(mount: MountInfo) -> str | None:
    return mount.source if mount.source.startswith("/dev/") else None


def disk_space(path: str) -> tuple[int | None, int | None]:
    """(capacity, free to the user) in bytes; (None, None) when the OS cannot say."""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None, None
    return usage.total, usage.free


LabelReader = Callable[[MountInfo], tuple[str | None, str | None]]


def describe(mount: MountInfo, labels: LabelReader = label_and_uuid) -> Volume:
    """A Volume from what the mount table says and `labels` (the OS module's label_and_uuid) reads."""
    label, fs_uuid = labels(mount)
    return Volume(mount.mount_point, label, mount.fstype, device_of(mount), fs_uuid, *disk_space(mount.mount_point),
                  None, mount.dev)


def volume_at(path: str, labels: LabelReader = label_and_uuid) -> Volume | None:
    """The mounted volume whose mount point is `path` itself; None for a plain folder, or a folder inside a
    volume (ejecting it would take away more than the card that was offloaded)."""
    real = os.path.realpath(path)
    if not os.path.ismount(real):
        return None
    return describe(MountInfo(real, "", "", device_number(real)), labels)


# -- process liveness


def start_token(pid: int) -> str:
    """What tells this process from a later one given the same pid: its start time; '' where unknown."""
    try:
        return f"{psutil.Process(pid).create_time():.6f}"
    except psutil.Error:
        return ""


def running(pid: int) -> bool:
    """True while pid names a process that has not ended (a zombie has ended; another user's counts)."""
    if pid <= 0:
        return False
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # exists, owned by someone else


def alive_as(pid: int | None, token: str | None, token_of: Callable[[int], str]) -> bool:
    """True when process pid runs and, where both are known, started when token says."""
    if not pid or not running(pid):
        return False
    now = token_of(pid)
    return not (token and now and now != token)


def process_alive(pid: int | None, token: str | None) -> bool:
    """True when the process named by pid and its start token may still be running on this machine."""
    return alive_as(pid, token, start_token)


# -- keep-awake


@contextlib.contextmanager
def keep_awake(reason: str = "Offloading a camera card") -> Iterator[bool]:
    """Keep the machine from sleeping while held. Yields True when an inhibitor is held, False when the
    platform gave none (logged)."""
    log.info("keep-awake: no systemd-inhibit/caffeinate here; the machine may sleep during the offload")
    yield False


# -- eject

Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


def run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60, check=False)


def eject_commands(volume: Volume) -> list[list[str]]:
    """The commands that eject the volume, in order; [] where this platform has none automated."""
    return []


def eject_with(cmds: Sequence[Sequence[str]], volume: Volume, runner: Runner) -> EjectResult:
    """Run the eject commands in order; the first unmounts, later ones (power-off) may fail harmlessly."""
    if not cmds:
        return EjectResult(False, f"Ejecting is not automated on this system: eject {volume.name} with "
                           "'Safely Remove Hardware'.")
    for i, cmd in enumerate(cmds):
        try:
            proc = runner(cmd)
        except (OSError, subprocess.SubprocessError) as exc:
            return EjectResult(False, f"Could not eject {volume.name}: {exc}. Eject it from the desktop.")
        if proc.returncode != 0:
            if i > 0:  # unmounted; only the power-off failed
                return EjectResult(True, f"{volume.name} is unmounted (power-off failed: "
                                   f"{(proc.stderr or '').strip()}); it can be removed.")
            return EjectResult(False, f"Could not eject {volume.name} ({(proc.stderr or proc.stdout).strip()}). "
                               "Something may still be using it: close files open on the card, then eject it "
                               "from the desktop.")
    return EjectResult(True, f"{volume.name} was ejected; it can be removed.")


def eject(volume: Volume, runner: Runner = run) -> EjectResult:
    """Eject the volume with the OS's own tool, so the desktop knows the card went away."""
    return eject_with(eject_commands(volume), volume, runner)


# -- durable I/O: "on the medium"
#
# - `sync_file(fd)`: the file's data and metadata on the medium, not in a cache (fsync here).
# - `have_syncfs()` / `sync_filesystem(fd)`: one barrier for a batch of files on one filesystem; where the OS
#   has none (here), the caller syncs each file as it closes.
# - `sync_dir(path)`: make a rename into a folder durable: True when done, False where the filesystem cannot
#   sync a folder, OSError on any other failure (the names may not be on the medium: fail their copies).
# - `drop_cache(fd)` and `open_for_verify(path)`: make the next read of a file come from the medium, and say
#   whether that is proven (`cache_bypassed`); here it is not, and every report says so.
# - `resident_pages(fd, size)`: how many of the file's pages the page cache holds now; None when unknown.

# What fsync on a folder fails with where the filesystem cannot do it (FUSE without fsyncdir, SMB, some
# network filesystems): the rename is then only as durable as the filesystem makes it on its own.
UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP})


def sync_file(fd: int) -> None:
    """Data and metadata of fd on the medium (fsync)."""
    os.fsync(fd)


def have_syncfs() -> bool:
    """True where `sync_filesystem` exists (Linux syncfs); elsewhere each file is synced as it closes."""
    return False


def sync_filesystem(fd: int) -> None:
    """Flush every dirty page of the filesystem that holds fd, and wait for it. Not here: see `have_syncfs`."""
    raise OSError(errno.ENOSYS, "no syncfs on this system")


def make_dirs(folder: str) -> list[str]:
    """Make a folder and its missing parents; the folders made, deepest first. A new folder's name is an entry
    in its parent, stored only when that parent is synced (`sync_dir`), as a file's name is: the caller syncs
    the parents of what was made."""
    missing: list[str] = []
    path = os.path.abspath(folder)
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    if missing:
        os.makedirs(folder, exist_ok=True)
    return missing


def sync_dir(path: str) -> bool:
    """Make the names in a folder (a rename into it) durable: an fsync of the folder. True when done; False
    when this filesystem cannot sync a folder (EINVAL/ENOTSUP/EOPNOTSUPP): the caller says so. Any other
    failure raises OSError: the names may not be on the medium."""
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


def rename_exclusive(src: str, dst: str) -> bool:
    """Rename src to dst in one step that never replaces dst (FileExistsError when dst exists). False when the
    OS or the filesystem has no such rename (nothing was done): the caller links and unlinks instead."""
    return False


def drop_cache(fd: int) -> bool:
    """Ask the OS to forget the cached pages of fd. True when the OS offers a way to do it (not here)."""
    return False


def resident_pages(fd: int, size: int) -> int | None:
    """How many pages of the file are in the page cache now, or None if unknown (here, for a non-empty file)."""
    return None if size > 0 else 0


def open_checked(path: str, bypass: Callable[[int], bool]) -> tuple[int, bool]:
    """Open path for reading; (fd, bypass(fd)), the descriptor closed if bypass raises."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        return fd, bypass(fd)
    except BaseException:
        os.close(fd)
        raise


def open_for_verify(path: str) -> tuple[int, bool]:
    """Open a synced file so that reads come from the medium. Returns (fd, cache_bypassed): here the reads
    may come from the cache, and cache_bypassed is False."""
    return open_checked(path, drop_cache)
