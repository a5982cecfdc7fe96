"""Windows: every drive letter but the system drive is a volume, named by its volume label; removable media
is what GetDriveTypeW and the disk's bus type say (a Thunderbolt NVMe reader says NVMe, like an internal
disk: add its drive letter to the mount roots); keep-awake is
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
import struct
from collections.abc import Iterator, Sequence

from datawrangler.platform import base
from datawrangler.platform.base import MediaCheck, MountInfo, Volume


def current(roots: Sequence[str], at: Sequence[str] = ()) -> dict[str, MountInfo]:
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


# -- removable media: GetDriveTypeW, and the bus of the disk (IOCTL_STORAGE_QUERY_PROPERTY)

DRIVE_UNKNOWN, DRIVE_NO_ROOT_DIR, DRIVE_REMOVABLE, DRIVE_FIXED, DRIVE_REMOTE, DRIVE_CDROM, DRIVE_RAMDISK = range(7)
# STORAGE_BUS_TYPE (winioctl.h)
BUS_NAMES = {1: "SCSI", 2: "ATAPI", 3: "ATA", 4: "FireWire", 6: "Fibre Channel", 7: "USB", 8: "RAID", 9: "iSCSI",
             10: "SAS", 11: "SATA", 12: "SD", 13: "MMC", 14: "a virtual bus", 15: "a file (VHD, ISO)",
             16: "Storage Spaces", 17: "NVMe", 18: "SCM", 19: "UFS", 20: "NVMe over Fabrics"}
HOTPLUG_BUSES = frozenset({4, 7, 12, 13})  # FireWire, USB, SD, MMC
IMAGE_BUSES = frozenset({14, 15})  # a mounted VHD or ISO
_IOCTL_STORAGE_QUERY_PROPERTY = 0x002D1400


def parse_device_descriptor(raw: bytes) -> tuple[bool, int]:
    """(RemovableMedia, BusType) from a STORAGE_DEVICE_DESCRIPTOR: Version, Size (DWORDs), DeviceType,
    DeviceTypeModifier, RemovableMedia, CommandQueueing (BYTEs), four offsets (DWORDs), then BusType."""
    if len(raw) < 32:
        raise ValueError(f"a storage device descriptor holds at least 32 bytes, not {len(raw)}")
    return raw[10] != 0, struct.unpack_from("<I", raw, 28)[0]


def media_decision(drive_type: int, descriptor: tuple[bool, int] | None, root: str) -> MediaCheck:
    """Removable media from the drive type and, where read, the disk's bus: a removable drive, an optical
    drive, or a fixed drive on USB, FireWire or an SD/MMC reader. A network drive, a RAM disk, a mounted VHD
    or ISO and an internal disk are not."""
    removable_media, bus = descriptor if descriptor is not None else (False, 0)
    on = f" on {BUS_NAMES[bus]}" if bus in BUS_NAMES else ""
    if drive_type == DRIVE_REMOTE:
        return MediaCheck(False, f"a network drive ({root})")
    if drive_type == DRIVE_RAMDISK:
        return MediaCheck(False, f"a RAM disk ({root})")
    if drive_type not in (DRIVE_REMOVABLE, DRIVE_FIXED, DRIVE_CDROM):
        return MediaCheck(False, f"Windows does not know the drive {root} (GetDriveType {drive_type})")
    if bus in IMAGE_BUSES:
        return MediaCheck(False, f"a mounted disk image ({root}{on})")
    if drive_type == DRIVE_REMOVABLE:
        return MediaCheck(True, f"a removable drive ({root}{on})")
    if drive_type == DRIVE_CDROM:
        return MediaCheck(True, f"an optical drive ({root}{on})")
    if removable_media or bus in HOTPLUG_BUSES:
        return MediaCheck(True, f"an external disk ({root}{on})")
    return MediaCheck(False, f"a fixed internal disk ({root}{on})")


def _device_descriptor(root: str) -> tuple[bool, int] | None:
    """The disk's STORAGE_DEVICE_DESCRIPTOR, from the drive letter opened as a device (no access rights
    needed); None on any failure."""
    try:
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined, unused-ignore]  # our own prototypes
        kernel32.CreateFileW.restype = wintypes.HANDLE
        kernel32.CreateFileW.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD, wintypes.LPVOID,
                                         wintypes.DWORD, wintypes.DWORD, wintypes.HANDLE]
        kernel32.DeviceIoControl.argtypes = [wintypes.HANDLE, wintypes.DWORD, wintypes.LPVOID, wintypes.DWORD,
                                             wintypes.LPVOID, wintypes.DWORD, ctypes.POINTER(wintypes.DWORD),
                                             wintypes.LPVOID]
        kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
        handle = kernel32.CreateFileW(f"\\\\.\\{root[:2]}", 0, 3, None, 3, 0, None)  # share r/w, OPEN_EXISTING
        if handle in (None, wintypes.HANDLE(-1).value):
            return None
        try:
            query = ctypes.create_string_buffer(12)  # StorageDeviceProperty, PropertyStandardQuery
            out = ctypes.create_string_buffer(1024)
            got = wintypes.DWORD()
            if not kernel32.DeviceIoControl(handle, _IOCTL_STORAGE_QUERY_PROPERTY, query, len(query), out,
                                            len(out), ctypes.byref(got), None):
                return None
            return parse_device_descriptor(out.raw[:got.value])
        finally:
            kernel32.CloseHandle(handle)
    except (AttributeError, OSError, ValueError):
        return None


def removable_media(mount: MountInfo) -> MediaCheck:
    """Whether the drive is removable media, and why (GetDriveTypeW, and the disk's bus type)."""
    root = mount.mount_point
    try:
        import ctypes

        drive_type = int(ctypes.windll.kernel32.GetDriveTypeW(  # type: ignore[attr-defined, unused-ignore]
            ctypes.c_wchar_p(root)))
    except (AttributeError, OSError):
        drive_type = DRIVE_UNKNOWN
    descriptor = _device_descriptor(root) if drive_type in (DRIVE_REMOVABLE, DRIVE_FIXED, DRIVE_CDROM) else None
    return media_decision(drive_type, descriptor, root)


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
