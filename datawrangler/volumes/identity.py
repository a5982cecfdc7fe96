"""What a mounted volume is: label, filesystem, UUID, device, capacity, free space, removable.

The OS-specific parts are small functions: Linux reads /dev/disk/by-uuid and by-label where udev made
them, else asks `blkid` (containers and minimal systems have no udev); removable comes from
/sys/block/<disk>/removable. macOS and Windows give what `os.statvfs`/`shutil.disk_usage` and the mount
point's name give (the label is the folder name under /Volumes, or the drive letter).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace

from datawrangler.core import devices
from datawrangler.core.devices import MountInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Volume:
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


def describe(mount: MountInfo) -> Volume:
    label, fs_uuid = _label_and_uuid(mount)
    capacity, free = _space(mount.mount_point)
    device = mount.source if mount.source.startswith("/dev/") else None
    return Volume(mount.mount_point, label, mount.fstype, device, fs_uuid, capacity, free,
                  _removable(device), mount.dev)


def volume_at(path: str) -> Volume | None:
    """The mounted volume whose mount point is `path` itself; None for a plain folder, or a folder inside a
    volume (ejecting it would take away more than the card that was offloaded). Reads the mount table and
    may run `blkid`: call it off the GUI thread.

    A device mounted at several places (a bind mount of a folder on it) keeps no device here, so an eject
    unmounts this one mount point and never acts on the whole disk."""
    real = os.path.realpath(path)
    table = devices.mounts()
    here = [m for m in table if m.mount_point == real]
    if here:
        mount = here[-1]  # later lines win: a mount over a mount point hides the one below
    elif sys.platform.startswith("linux") or not os.path.ismount(real):
        return None  # (on Linux the table is the truth: ismount misses a bind mount from the same disk)
    else:
        st = os.stat(real)
        dev = f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}" if hasattr(os, "major") else str(st.st_dev)
        mount = MountInfo(real, "", "", dev)
    volume = describe(mount)
    if volume.device is not None and sum(m.source == mount.source for m in table) > 1:
        volume = replace(volume, device=None, removable=None)
    return volume


def _space(path: str) -> tuple[int | None, int | None]:
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None, None
    return usage.total, usage.free


def _label_and_uuid(mount: MountInfo) -> tuple[str | None, str | None]:
    if sys.platform.startswith("linux"):
        if mount.source.startswith("/dev/"):
            return _linux_ids(mount.source)
        return None, None
    if sys.platform == "darwin":
        return os.path.basename(mount.mount_point.rstrip("/")) or None, None
    return _windows_label(mount.mount_point), None


def _by_link(kind: str, node: str) -> str | None:
    folder = f"/dev/disk/by-{kind}"
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    for name in names:
        if os.path.realpath(os.path.join(folder, name)) == node:
            from datawrangler.store.volumes import _unescape  # udev's \xNN escaping, one implementation

            return _unescape(name)
    return None


def _linux_ids(device: str) -> tuple[str | None, str | None]:
    node = os.path.realpath(device)
    label, fs_uuid = _by_link("label", node), _by_link("uuid", node)
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


def _removable(device: str | None) -> bool | None:
    """Linux: /sys/class/block/<dev>/removable of the whole disk (a partition asks its disk)."""
    if device is None or not sys.platform.startswith("linux"):
        return None
    name = os.path.basename(os.path.realpath(device))
    sys_dir = os.path.realpath(f"/sys/class/block/{name}")
    if os.path.exists(os.path.join(sys_dir, "partition")):
        sys_dir = os.path.dirname(sys_dir)
    try:
        with open(os.path.join(sys_dir, "removable"), encoding="ascii") as f:
            if f.read().strip() == "1":
                return True
    except OSError:
        return None
    # USB card readers often say 0; a disk hanging off a USB bus is removable for a DIT's purposes
    return "/usb" in sys_dir


def _windows_label(mount_point: str) -> str | None:  # pragma: no cover - Windows only
    try:
        import ctypes

        buf = ctypes.create_unicode_buffer(261)
        ok = ctypes.windll.kernel32.GetVolumeInformationW(  # type: ignore[attr-defined]
            ctypes.c_wchar_p(mount_point), buf, len(buf), None, None, None, None, 0)
        return buf.value or None if ok else None
    except (AttributeError, OSError):
        return None
