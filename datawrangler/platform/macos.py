"""macOS: removable media mount under /Volumes, each entry that is a mount point is a volume named by its
folder; keep-awake is `caffeinate`; eject is `diskutil eject`. No mount table is read here, so
`mount_of` and `fstype` say "unknown" (base).

On the medium: a plain fsync stops at the drive's cache, so a file is synced with F_FULLFSYNC (fsync where
the filesystem refuses it, e.g. SMB); there is no syncfs, so each file is synced as it closes; a folder is
fsynced (base). A read-back bypasses the cache with F_NOCACHE on the reading descriptor (no mincore proof).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence

from datawrangler.platform import base
from datawrangler.platform.base import (
    EjectResult,
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


def current(roots: Sequence[str]) -> dict[str, MountInfo]:
    """{mount point: mount} for every entry of a root that is a mount point (not the boot volume's link)."""
    out = []
    for root in roots:
        try:
            names = sorted(os.listdir(root))
        except OSError:
            continue
        for name in names:
            path = os.path.join(root, name)
            if os.path.ismount(path) and os.path.realpath(path) == path:  # the boot volume is a symlink to /
                out.append(MountInfo(path, "", "", device_number(path)))
    return mounts_under(out, roots)


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
