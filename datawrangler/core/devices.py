"""Which physical volume and filesystem a path lives on, from the OS (no Qt, no watching).

Redundancy counts physical volumes: two folders on one drive, or two partitions of one disk, are one copy.
On Linux a block device's partitions are folded into their disk through /sys/dev/block; virtual
filesystems (tmpfs, FUSE, NFS: major 0) are identified by their device number alone.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class MountInfo:
    mount_point: str
    fstype: str
    source: str
    dev: str  # "major:minor"


def _unescape(field: str) -> str:
    # /proc/self/mountinfo escapes space, tab, newline and backslash as octal
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mounts() -> list[MountInfo]:
    """The mount table (Linux /proc/self/mountinfo); empty where the OS has none."""
    out: list[MountInfo] = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                a = left.split()
                b = right.split()
                if len(a) >= 5 and len(b) >= 2:
                    out.append(MountInfo(_unescape(a[4]), b[0], _unescape(b[1]), a[2]))
    except OSError:
        pass
    return out


def mount_of(path: str) -> MountInfo | None:
    """The mount that holds path (the longest mount point that is a prefix of its real path)."""
    real = os.path.realpath(path)
    best: MountInfo | None = None
    for m in mounts():
        mp = m.mount_point
        if (real == mp or real.startswith(mp.rstrip("/") + "/") or mp == "/") and (
            best is None or len(mp) >= len(best.mount_point)
        ):
            best = m
    return best


def fstype(path: str) -> str:
    m = mount_of(path)
    return m.fstype if m else ""


def physical_volume(path: str) -> str:
    """A stable id of the physical volume that holds path: the disk for a partition."""
    st = os.stat(path)
    major, minor = os.major(st.st_dev), os.minor(st.st_dev)
    if sys.platform.startswith("linux") and major != 0:
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


# Filesystems whose names cannot hold " * / : < > ? \ | or control characters.
RESTRICTED_FS = {"exfat", "vfat", "msdos", "fat", "ntfs", "ntfs3", "fuseblk", "smb3", "cifs"}
FORBIDDEN_CHARS = set('"*:<>?\\|') | {chr(c) for c in range(32)}
