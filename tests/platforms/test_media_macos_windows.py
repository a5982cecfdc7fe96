"""Removable media on macOS (DiskArbitration through `diskutil info -plist`) and Windows (GetDriveTypeW and
the disk's STORAGE_DEVICE_DESCRIPTOR), from canned outputs: these modules cannot run here."""

from __future__ import annotations

import plistlib
import struct
import subprocess
from typing import Any

import pytest

from datawrangler.platform import MediaCheck, macos, windows

# -- macOS: `diskutil info -plist MOUNTPOINT`, as DiskArbitration describes each kind of disk

SD_SLOT = {"DeviceIdentifier": "disk4s1", "BusProtocol": "Secure Digital", "Internal": True, "Removable": True,
           "RemovableMedia": True, "RemovableMediaOrExternalDevice": True, "Ejectable": True, "FilesystemType": "exfat"}
USB_SSD = {"DeviceIdentifier": "disk5s2", "BusProtocol": "USB", "Internal": False, "Removable": False,
           "RemovableMedia": False, "RemovableMediaOrExternalDevice": True, "Ejectable": True, "FilesystemType": "apfs"}
INTERNAL = {"DeviceIdentifier": "disk3s5", "BusProtocol": "Apple Fabric", "Internal": True, "Removable": False,
            "RemovableMedia": False, "RemovableMediaOrExternalDevice": False, "Ejectable": False,
            "FilesystemType": "apfs"}
DMG = {"DeviceIdentifier": "disk6s1", "BusProtocol": "Disk Image", "Internal": False, "Removable": True,
       "RemovableMedia": True, "Ejectable": True, "FilesystemType": "hfs"}


def _diskutil(info: dict[str, Any] | None, returncode: int = 0) -> macos.DiskutilRunner:
    out = plistlib.dumps(info) if info is not None else b""

    def run(mount_point: str) -> subprocess.CompletedProcess[bytes]:
        err = b"" if returncode == 0 else f"Could not find disk: {mount_point}".encode()
        return subprocess.CompletedProcess(["diskutil", "info", "-plist", mount_point], returncode, out, err)

    return run


@pytest.mark.parametrize(("info", "expected"), [
    (SD_SLOT, MediaCheck(True, "removable media (disk4s1 on Secure Digital: diskutil says Removable Media)")),
    (USB_SSD, MediaCheck(True, "an external disk (disk5s2 on USB: diskutil says external, ejectable)")),
    (INTERNAL, MediaCheck(False, "an internal disk (disk3s5 on Apple Fabric: diskutil says internal, fixed)")),
    (DMG, MediaCheck(False, "a disk image (disk6s1)")),
])
def test_diskutil_says_which_disks_are_removable(info: dict[str, Any], expected: MediaCheck) -> None:
    assert macos.media_decision(macos.diskutil_info("/Volumes/X", _diskutil(info))) == expected


def test_a_mount_diskutil_knows_no_disk_for_is_not_a_card() -> None:
    """A network share under /Volumes: `diskutil info` fails ("Could not find disk")."""
    assert macos.diskutil_info("/Volumes/share", _diskutil(None, returncode=1)) is None
    assert macos.media_decision(None) == MediaCheck(
        False, "macOS knows no disk behind it (a network share or a mount it did not make)")


def test_diskutil_output_that_is_no_plist_or_a_hung_diskutil_is_no_answer() -> None:
    def garbage(mount_point: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess([], 0, b"<plist>not closed", b"")

    def hung(mount_point: str) -> subprocess.CompletedProcess[bytes]:
        raise subprocess.TimeoutExpired(["diskutil"], macos.DISKUTIL_TIMEOUT)

    def a_list(mount_point: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess([], 0, plistlib.dumps(["not", "a", "dict"]), b"")

    assert macos.diskutil_info("/Volumes/X", garbage) is None
    assert macos.diskutil_info("/Volumes/X", hung) is None
    assert macos.diskutil_info("/Volumes/X", a_list) is None


# -- Windows: GetDriveTypeW and STORAGE_DEVICE_DESCRIPTOR


def descriptor(bus: int, removable_media: bool = False) -> bytes:
    """A STORAGE_DEVICE_DESCRIPTOR as DeviceIoControl returns it (header, then vendor/product strings)."""
    head = struct.pack("<IIBBBBIIIII", 1, 60, 0, 0, int(removable_media), 1, 40, 48, 0, 0, bus)
    return head + b"\x00" * 4 + b"Generic\x00" + b"Reader\x00\x00"


def test_the_device_descriptor_gives_removable_media_and_the_bus() -> None:
    assert windows.parse_device_descriptor(descriptor(7)) == (False, 7)
    assert windows.parse_device_descriptor(descriptor(12, removable_media=True)) == (True, 12)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        windows.parse_device_descriptor(b"\x00" * 20)


@pytest.mark.parametrize(("drive_type", "bus", "media", "expected"), [
    (windows.DRIVE_REMOVABLE, 7, True, MediaCheck(True, "a removable drive (E:\\ on USB)")),
    (windows.DRIVE_FIXED, 7, False, MediaCheck(True, "an external disk (E:\\ on USB)")),
    (windows.DRIVE_FIXED, 12, False, MediaCheck(True, "an external disk (E:\\ on SD)")),
    (windows.DRIVE_FIXED, 11, True, MediaCheck(True, "an external disk (E:\\ on SATA)")),  # eSATA dock, media out
    (windows.DRIVE_FIXED, 17, False, MediaCheck(False, "a fixed internal disk (E:\\ on NVMe)")),
    (windows.DRIVE_FIXED, 11, False, MediaCheck(False, "a fixed internal disk (E:\\ on SATA)")),
    (windows.DRIVE_FIXED, 15, False, MediaCheck(False, "a mounted disk image (E:\\ on a file (VHD, ISO))")),
    (windows.DRIVE_CDROM, 15, True, MediaCheck(False, "a mounted disk image (E:\\ on a file (VHD, ISO))")),
    (windows.DRIVE_CDROM, 2, True, MediaCheck(True, "an optical drive (E:\\ on ATAPI)")),
    (windows.DRIVE_REMOTE, 0, False, MediaCheck(False, "a network drive (E:\\)")),
    (windows.DRIVE_RAMDISK, 0, False, MediaCheck(False, "a RAM disk (E:\\)")),
    (windows.DRIVE_NO_ROOT_DIR, 0, False, MediaCheck(False, "Windows does not know the drive E:\\ (GetDriveType 1)")),
])
def test_windows_drive_types_and_buses(drive_type: int, bus: int, media: bool, expected: MediaCheck) -> None:
    raw = descriptor(bus, media)
    assert windows.media_decision(drive_type, windows.parse_device_descriptor(raw), "E:\\") == expected


def test_a_removable_drive_whose_descriptor_cannot_be_read_is_still_removable() -> None:
    said = windows.media_decision(windows.DRIVE_REMOVABLE, None, "F:\\")
    assert said == MediaCheck(True, "a removable drive (F:\\)")
    assert not windows.media_decision(windows.DRIVE_FIXED, None, "F:\\").removable
