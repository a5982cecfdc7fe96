"""macOS: removable media mount under /Volumes, each entry that is a mount point is a volume named by its
folder; removable media is what DiskArbitration says (`diskutil info -plist`); keep-awake is `caffeinate`;
eject is `diskutil eject`. No mount table is read here, so
`mount_of` and `fstype` say "unknown" (base).

On the medium: a plain fsync stops at the drive's cache, so a file is synced with F_FULLFSYNC (fsync where
the filesystem refuses it, e.g. SMB); there is no syncfs, so each file is synced as it closes; a folder is
fsynced (base). A read-back bypasses the cache with F_NOCACHE on the reading descriptor (no mincore proof).
"""

from __future__ import annotations

import contextlib
import os
import plistlib
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from xml.parsers.expat import ExpatError

from datawrangler.platform import base
from datawrangler.platform.base import (
    EjectResult,
    MediaCheck,
    MountInfo,
    Runner,
    Volume,
    device_number,
    eject_with,
    mounts_under,
    open_checked,
    run,
)
from datawrangler.platform.posix import hold_inhibitor


def default_roots() -> tuple[str, ...]:
    return ("/Volumes",)


def current(roots: Sequence[str], at: Sequence[str] = ()) -> dict[str, MountInfo]:
    """{mount point: mount} for every entry of a root that is a mount point (not the boot volume's link), and
    every path of `at` that is one."""
    paths = [p for p in at if os.path.ismount(p)]
    for root in roots:
        try:
            names = sorted(os.listdir(root))
        except OSError:
            continue
        paths += [os.path.join(root, name) for name in names]
    out = [MountInfo(p, "", "", device_number(p)) for p in dict.fromkeys(paths)
           if os.path.ismount(p) and os.path.realpath(p) == p]  # the boot volume is a symlink to /
    return mounts_under(out, roots, at)


# -- removable media: what DiskArbitration says, through `diskutil info -plist MOUNTPOINT`

DISKUTIL_TIMEOUT = 10.0  # seconds; diskutil waits on DiskArbitration, which a busy disk can hold up


DiskutilRunner = Callable[[str], subprocess.CompletedProcess[bytes]]


def run_diskutil(mount_point: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["diskutil", "info", "-plist", mount_point], capture_output=True,
                          timeout=DISKUTIL_TIMEOUT, check=False)


def diskutil_info(mount_point: str, runner: DiskutilRunner = run_diskutil) -> dict[str, Any] | None:
    """DiskArbitration's description of the disk mounted at mount_point; None when it knows no disk there
    (a network share, a FUSE mount) or diskutil fails."""
    try:
        proc = runner(mount_point)
        info = plistlib.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, plistlib.InvalidFileException, ExpatError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def media_decision(info: dict[str, Any] | None) -> MediaCheck:
    """Removable media from `diskutil info -plist`: RemovableMedia (a card reader's slot, the built-in SD
    slot), else Ejectable or external (a USB or Thunderbolt drive); never a disk image or an internal disk."""
    if info is None:
        return MediaCheck(False, "macOS knows no disk behind it (a network share or a mount it did not make)")
    bus = str(info.get("BusProtocol") or "an unknown bus")
    name = str(info.get("DeviceIdentifier") or "the disk")
    if bus == "Disk Image":
        return MediaCheck(False, f"a disk image ({name})")
    if info.get("RemovableMedia") or info.get("Removable"):
        return MediaCheck(True, f"removable media ({name} on {bus}: diskutil says Removable Media)")
    if info.get("Ejectable") or info.get("RemovableMediaOrExternalDevice") or info.get("Internal") is False:
        return MediaCheck(True, f"an external disk ({name} on {bus}: diskutil says external, ejectable)")
    return MediaCheck(False, f"an internal disk ({name} on {bus}: diskutil says internal, fixed)")


def removable_media(mount: MountInfo) -> MediaCheck:
    """Whether the device behind mount is removable media, and why (DiskArbitration, through diskutil)."""
    return media_decision(diskutil_info(mount.mount_point))


def label_and_uuid(mount: MountInfo) -> tuple[str | None, str | None]:
    """The label is the folder name under /Volumes; the UUID is not read."""
    return os.path.basename(mount.mount_point.rstrip("/")) or None, None


def describe(mount: MountInfo) -> Volume:
    return base.describe(mount, label_and_uuid)


def volume_at(path: str) -> Volume | None:
    """The mounted volume whose mount point is `path` itself (base.volume_at, with this OS's labels)."""
    return base.volume_at(path, label_and_uuid)


@contextlib.contextmanager
def keep_awake(reason: str = "Offloading a camera card") -> Iterator[bool]:
    """Keep the machine from sleeping while held (`caffeinate -i -w PID`, which ends with this process)."""
    cmd = ["caffeinate", "-i", "-w", str(os.getpid())] if shutil.which("caffeinate") else None
    with hold_inhibitor(cmd) as held:
        yield held


def eject_commands(volume: Volume) -> list[list[str]]:
    return [["diskutil", "eject", volume.mount_point]]


def eject(volume: Volume, runner: Runner = run) -> EjectResult:
    """Eject the volume with the OS's own tool, so the desktop knows the card went away."""
    return eject_with(eject_commands(volume), volume, runner)


# -- durable I/O: "on the medium"

_F_FULLFSYNC = 51  # <fcntl.h>
_F_NOCACHE = 48


def sync_file(fd: int) -> None:
    """Data and metadata on the medium: F_FULLFSYNC (plain fsync stops at the drive's cache)."""
    import fcntl

    try:
        fcntl.fcntl(fd, _F_FULLFSYNC)
        return
    except OSError:
        pass  # not supported by this filesystem (e.g. SMB): fall back to fsync
    os.fsync(fd)


def drop_cache(fd: int) -> bool:
    """Reads of fd from now on bypass the cache (F_NOCACHE). True when the filesystem took it."""
    import fcntl

    try:
        fcntl.fcntl(fd, _F_NOCACHE, 1)
        return True
    except OSError:
        return False


def open_for_verify(path: str) -> tuple[int, bool]:
    """Open a synced file so that reads come from the medium (F_NOCACHE). Returns (fd, cache_bypassed)."""
    return open_checked(path, drop_cache)
