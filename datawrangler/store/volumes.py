"""Volume identity as the catalog keeps it: which filesystem, on which physical disk.

Redundancy counts physical disks (`disk`): two folders on one drive, or two partitions of one disk, are
one copy. Where Linux names them, the filesystem UUID gives a volume a global identity (`key`) that
survives replugging and merges across stations, and /dev/disk/by-id names the disk by its serial.
Elsewhere the identity falls back to the host and the device number.
"""

from __future__ import annotations

import os
import re
import socket
import time
from dataclasses import dataclass

from sqlite_utils import Database

from datawrangler.core import devices

_BY = "/dev/disk"


@dataclass(frozen=True)
class VolumeIdentity:
    key: str
    disk: str
    fs_uuid: str | None
    label: str | None
    device: str | None
    fstype: str | None
    capacity: int | None
    mount_point: str | None
    host: str


def _unescape(name: str) -> str:
    """udev writes unsafe bytes of a label as \\xNN."""
    raw = re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), os.fsencode(name))
    return raw.decode("utf-8", "replace")


def _links(kind: str) -> dict[str, str]:
    """/dev/disk/by-<kind>: {resolved device node: name}."""
    folder = os.path.join(_BY, f"by-{kind}")
    out: dict[str, str] = {}
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return out
    for name in names:
        target = os.path.realpath(os.path.join(folder, name))
        out.setdefault(target, _unescape(name))
    return out


def _disk_serial(physical: str) -> str | None:
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


def identify(path: str) -> VolumeIdentity:
    """The volume that holds path (which must exist)."""
    host = socket.gethostname()
    physical = devices.physical_volume(path)
    mount = devices.mount_of(path)
    device = mount.source if mount else None
    node = os.path.realpath(device) if device and device.startswith("/dev/") else None
    fs_uuid = _links("uuid").get(node) if node else None
    label = _links("label").get(node) if node else None
    try:
        st = os.statvfs(path)
        capacity: int | None = st.f_blocks * (st.f_frsize or st.f_bsize)
    except OSError:
        capacity = None
    serial = _disk_serial(physical)
    disk = f"id:{serial}" if serial else f"dev:{host}:{physical}"
    key = f"uuid:{fs_uuid}" if fs_uuid else f"dev:{host}:{physical}:{mount.mount_point if mount else ''}"
    return VolumeIdentity(key, disk, fs_uuid, label, device, mount.fstype if mount else None, capacity,
                          mount.mount_point if mount else None, host)


def record_volume(db: Database, vol: VolumeIdentity, kind: str, now: float | None = None) -> int:
    """Insert or refresh the volume's row (inside the caller's transaction); returns its id."""
    now = time.time() if now is None else now
    conn = db.conn
    row = conn.execute("SELECT id FROM volumes WHERE key = ?", (vol.key,)).fetchone()
    values = {"disk": vol.disk, "fs_uuid": vol.fs_uuid, "label": vol.label, "device": vol.device,
              "fstype": vol.fstype, "capacity": vol.capacity, "host": vol.host,
              "last_mount_point": vol.mount_point, "last_seen": now}
    if row:
        sets = ", ".join(f"{k} = ?" for k in values)
        conn.execute(f"UPDATE volumes SET {sets} WHERE id = ?", (*values.values(), row[0]))
        return int(row[0])
    cur = conn.execute(
        "INSERT INTO volumes (key, kind, first_seen, " + ", ".join(values) + ") VALUES (?, ?, ?, "
        + ", ".join("?" for _ in values) + ")", (vol.key, kind, now, *values.values()))
    return int(cur.lastrowid or 0)
