"""Windows: every drive letter but the system drive is a volume, named by its volume label; keep-awake is
SetThreadExecutionState (held by the calling thread); a device number is st_dev whole (os.major does not
exist). Ejecting is not automated yet: the DIT uses "Safely Remove Hardware" (a PowerShell
`Shell.Application` "Eject" verb would do it).

On the medium: os.fsync is FlushFileBuffers (base); there is no syncfs, so each file is synced as it closes;
a folder cannot be opened to be synced, and NTFS journals the rename (`sync_dir` says done). A read-back does
not bypass the cache (unbuffered reads need sector-aligned buffers that Python's file API does not give):
the result says so (cache_bypassed=False, base) and so does every report."""

from __future__ import annotations

import contextlib
import os
import string
from collections.abc import Iterator, Sequence

from datawrangler.platform import base
from datawrangler.platform.base import MountInfo, Volume


def current(roots: Sequence[str]) -> dict[str, MountInfo]:
    """Every drive letter but the system drive: each mount is a root of its own (roots are not used)."""
    out: dict[str, MountInfo] = {}
    system = os.environ.get("SYSTEMDRIVE", "C:").upper()
    for letter in string.ascii_uppercase:
        path = f"{letter}:\\"
        if f"{letter}:" != system and os.path.exists(path):
            try:
                dev = str(os.stat(path).st_dev)
            except OSError:
                continue
            out[path] = MountInfo(path, "", "", dev)
    return out


def label_and_uuid(mount: MountInfo) -> tuple[str | None, str | None]:
    """The volume label (GetVolumeInformationW); the UUID is not read."""
    try:
        import ctypes

        buf = ctypes.create_unicode_buffer(261)
        ok = ctypes.windll.kernel32.GetVolumeInformationW(  # type: ignore[attr-defined, unused-ignore]
            ctypes.c_wchar_p(mount.mount_point), buf, len(buf), None, None, None, None, 0)
        return (buf.value or None if ok else None), None
    except (AttributeError, OSError):
        return None, None


def describe(mount: MountInfo) -> Volume:
    return base.describe(mount, label_and_uuid)


def volume_at(path: str) -> Volume | None:
    """The mounted volume whose mount point is `path` itself (base.volume_at, with this OS's labels)."""
    return base.volume_at(path, label_and_uuid)


@contextlib.contextmanager
def keep_awake(reason: str = "Offloading a camera card") -> Iterator[bool]:
    """Keep the machine from sleeping while held (SetThreadExecutionState, for the calling thread)."""
    import ctypes

    es_continuous, es_system_required = 0x80000000, 0x00000001
    try:
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined, unused-ignore]
        held = bool(kernel32.SetThreadExecutionState(es_continuous | es_system_required))
    except (AttributeError, OSError):
        held = False
    try:
        yield held
    finally:
        if held:
            kernel32.SetThreadExecutionState(es_continuous)


# -- durable I/O: "on the medium"


def sync_dir(path: str) -> bool:
    """NTFS journals the rename; a folder cannot be opened for fsync here. Always True."""
    return True
