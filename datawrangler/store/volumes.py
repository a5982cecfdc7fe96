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

from datawrangler import platform
from datawrangler.store.catalog import Catalog


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


def record_volume(db: Catalog, vol: VolumeIdentity, kind: str, now: float | None = None) -> int:
    """Insert or refresh the volume's row (inside the caller's transaction); returns its id.

    One upsert on the global identity (volumes.key is unique): two stations recording the same drive at once
    on a shared server get one row, whatever order their statements run in. `kind` is kept from the first
    sighting (the role the drive was first seen in)."""
    now = time.time() if now is None else now
    values = {"disk": vol.disk, "fs_uuid": vol.fs_uuid, "label": vol.label, "device": vol.device,
              "fstype": vol.fstype, "capacity": vol.capacity, "host": vol.host,
              "last_mount_point": vol.mount_point, "last_seen": now}
    names = ", ".join(values)
    marks = ", ".join(f":{k}" for k in values)
    sets = ", ".join(f"{k} = excluded.{k}" for k in values)
    return db.new_id(
        f"INSERT INTO volumes (key, kind, first_seen, {names}) VALUES (:key, :kind, :first_seen, {marks}) "
        f"ON CONFLICT (key) DO UPDATE SET {sets} RETURNING id",
        {"key": vol.key, "kind": kind, "first_seen": now, **values})


@dataclass(frozen=True)
class Drive:
    """A physical drive as the catalog knows it, for `datawrangler drive list` and the window."""

    disk: str
    labels: tuple[str, ...]
    mount_points: tuple[str, ...]
    media_kind: str | None  # core.protection.MediaKind value; None: nobody said
    kind: str  # card / destination (the role the drive was first seen in)
    last_seen: float | None


def set_media_kind(db: Catalog, path: str, media_kind: str | None) -> tuple[VolumeIdentity, int]:
    """Record what the drive holding `path` is (a MediaKind value; None forgets it) on its volume row, made
    when the catalog has not seen the volume yet, and on every other volume of the same physical disk: a
    rule counts disks, and one disk is one kind of media. Returns the identity and how many rows say so."""
    vol = identify(path)
    with db.atomic():
        record_volume(db, vol, "destination")
        cur = db.run("UPDATE volumes SET media_kind = ? WHERE disk = ?", (media_kind, vol.disk))
    return vol, int(cur.rowcount or 0)


def drives(db: Catalog) -> list[Drive]:
    """Every physical drive in the catalog, most recently seen first, with its recorded media kind."""
    rows = db.run("SELECT disk, label, last_mount_point, media_kind, kind, last_seen FROM volumes"
                           " ORDER BY disk, last_seen").fetchall()
    grouped: dict[str, list[tuple[str | None, str | None, str | None, str, float | None]]] = {}
    for disk, label, mount, media, kind, seen in rows:
        grouped.setdefault(disk, []).append((label, mount, media, kind, seen))
    out = []
    for disk, vols in grouped.items():
        kinds = [v[2] for v in vols if v[2]]
        out.append(Drive(disk, tuple(sorted({v[0] for v in vols if v[0]})), tuple(sorted({v[1] for v in vols if v[1]})),
                         kinds[-1] if kinds else None, "destination" if any(v[3] == "destination" for v in vols)
                         else vols[-1][3], max((v[4] for v in vols if v[4] is not None), default=None)))
    return sorted(out, key=lambda d: -(d.last_seen or 0))


def media_kind_at(db: Catalog, path: str) -> str | None:
    """The media kind recorded for the drive holding `path` (None when not said, or not in the catalog)."""
    vol = identify(path)
    row = db.run("SELECT media_kind FROM volumes WHERE disk = ? AND media_kind IS NOT NULL"
                          " ORDER BY last_seen DESC", (vol.disk,)).fetchone()
    return row[0] if row else None
