"""Volume identity as the catalog keeps it: which filesystem, on which physical disk.

Redundancy counts physical disks (`disk`): two folders on one drive, or two partitions of one disk, are
one copy. Where the OS names it, the filesystem UUID gives a volume a global identity (`key`) that
survives replugging and merges across stations, and a disk serial (Linux /dev/disk/by-id) names the disk.
Elsewhere the identity falls back to the host and the device number. What the OS says about a volume comes
from `platform`; how the catalog names it is decided here.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

from sqlite_utils import Database

from datawrangler import platform


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


def identify(path: str) -> VolumeIdentity:
    """The volume that holds path (which must exist)."""
    host = socket.gethostname()
    physical = platform.physical_volume(path)
    mount = platform.mount_of(path)
    device = mount.source if mount else None
    label, fs_uuid = platform.label_and_uuid(mount) if mount else (None, None)
    try:
        st = os.statvfs(path)
        capacity: int | None = st.f_blocks * (st.f_frsize or st.f_bsize)
    except OSError:
        capacity = None
    serial = platform.disk_serial(physical)
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
