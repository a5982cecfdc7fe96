"""Re-verify a drive days later: re-read (cache bypassed) what the catalog says is there, record each
result as a new verification (history is never overwritten), and report missing, changed and extra files.

The handoff files DataWrangler wrote into a roll (its ascmhl/ folder, and the checksum lists, legacy MHL and
CSV/JSON manifests at the top of the roll, under the exact names store.handoff_names.sidecar_name gives them) are
not in the offload but are not extra either: they are reported apart, as `handoff`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from datawrangler.core.medium.fs import read_back
from datawrangler.core.scan import DEFAULT_IGNORE
from datawrangler.core.transfer import is_temp_name
from datawrangler.core.words import plural
from datawrangler.store import offloads
from datawrangler.store.catalog import Catalog
from datawrangler.store.db import CatalogError
from datawrangler.store.handoff import sidecar_names_at
from datawrangler.store.handoff_names import ASCMHL_FOLDER
from datawrangler.store.volumes import identify

CHUNK = 4 << 20


@dataclass
class ReverifyReport:
    target: str
    rolls: list[str] = field(default_factory=list)
    checked: int = 0
    verified: int = 0
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # files in a roll that are not in the offload
    handoff: list[str] = field(default_factory=list)  # the handoff files DataWrangler wrote there (not extra)
    not_bypassed: int = 0  # read-backs that may have come from the OS cache
    bytes_read: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.changed or self.unreadable)


@dataclass
class _Expected:
    path: str
    rel_path: str
    copy_ids: list[int]
    digests: dict[str, str]
    size: int


def _current_mount(value: str) -> str | None:
    """The mount point of the volume whose label or filesystem UUID is `value`, if mounted now."""
    from datawrangler import platform

    for kind in ("label", "uuid"):
        for node, name in platform.disk_links(kind).items():
            if name == value:
                for m in platform.mounts():
                    if m.source.startswith("/dev/") and os.path.realpath(m.source) == node:
                        return m.mount_point
    return None


def _rolls(db: Catalog, target: str) -> list[tuple[int, str]]:
    """(destination id, roll folder where it is now) for every destination at or under target."""
    path = target
    if not os.path.exists(path):
        mounted = _current_mount(target)
        if mounted is None:
            raise CatalogError(f"{target} is neither an existing folder nor the label or UUID of a mounted drive. "
                               "Connect the drive and give its mount point or a folder on it.")
        path = mounted
    real = os.path.realpath(path)
    vol = identify(real)
    out: dict[int, str] = {}
    rows = db.run(
        "SELECT d.id, d.path, d.mount_point, v.key FROM destinations d LEFT JOIN volumes v ON v.id = d.volume_id"
    ).fetchall()
    for did, stored, mount, key in rows:
        candidates = [os.path.realpath(stored) if os.path.exists(stored) else os.path.normpath(stored)]
        if key == vol.key and mount and vol.mount_point and stored.startswith(mount.rstrip("/") + "/"):
            candidates.append(os.path.join(vol.mount_point, os.path.relpath(stored, mount)))  # mounted elsewhere
        for c in candidates:
            if c == real or c.startswith(real.rstrip("/") + "/"):
                out[did] = c
                break
    return sorted(out.items())


def _expected(db: Catalog, rolls: list[tuple[int, str]]) -> dict[str, _Expected]:
    """What the catalog says each roll holds: one entry per file path (several copies may name one file)."""
    out: dict[str, _Expected] = {}
    for did, roll in rolls:
        for cid, rel, size, cdig, fdig in db.run(
                "SELECT c.id, f.rel_path, f.size, c.digests, f.digests FROM copies c JOIN files f ON f.id = c.file_id"
                " WHERE c.destination_id = :did AND c.state IN ('verified', 'copied', 'missing', 'changed',"
                " 'unreadable') ORDER BY c.id", {"did": did}):
            full = os.path.join(roll, *rel.split("/"))
            digests = json.loads(cdig or fdig or "{}")
            e = out.get(full)
            if e is None:
                out[full] = _Expected(full, rel, [cid], digests, size)
            else:
                e.copy_ids.append(cid)
                e.digests, e.size = digests or e.digests, size  # the latest copy's word counts
    return out


def _read(path: str, algorithms: list[str], buf: bytearray) -> tuple[dict[str, str], bool, int]:
    """The engine's own read-back from the medium (core.medium.fs), so a re-verify reads as the offload did."""
    back = read_back(path, algorithms, buf)
    return back.digests, back.cache_bypassed, back.size


def _extra(db: Catalog, rolls: list[tuple[int, str]], expected: dict[str, _Expected]
           ) -> tuple[list[str], list[str]]:
    """(extra files, handoff files) in the rolls. A handoff file is one of DataWrangler's own names at the top of
    the roll (for an offload the catalog places there), or the ascmhl/ folder there (reported as the folder)."""
    found: list[str] = []
    handoff: list[str] = []
    for roll in sorted({r for _, r in rolls}):
        own = sidecar_names_at(db, [did for did, r in rolls if r == roll])
        for dirpath, dirs, names in os.walk(roll):
            top = dirpath == roll
            if top and ASCMHL_FOLDER in dirs:
                dirs.remove(ASCMHL_FOLDER)
                handoff.append(os.path.join(roll, ASCMHL_FOLDER) + os.sep)
            dirs[:] = sorted(d for d in dirs if not any(fnmatchcase(d, p) for p in DEFAULT_IGNORE))
            for name in sorted(names):
                full = os.path.join(dirpath, name)
                if full in expected or is_temp_name(name) or any(fnmatchcase(name, p) for p in DEFAULT_IGNORE):
                    continue
                (handoff if top and name in own else found).append(full)
    return found, handoff


def reverify(db: Catalog, target: str, on_file: Callable[[str, str], None] | None = None) -> ReverifyReport:
    """Re-read every file the catalog places at or under target; `on_file(path, result)` hears each."""
    rolls = _rolls(db, target)
    if not rolls:
        raise CatalogError(f"The catalog knows of no offload at or under {target}. Give a drive or a folder that "
                           "an offload wrote to ('datawrangler history' lists them).")
    report = ReverifyReport(target, sorted({r for _, r in rolls}))
    expected = _expected(db, rolls)
    buf = bytearray(CHUNK)
    for full, e in sorted(expected.items()):
        now = time.time()
        bypassed: bool | None = None
        got: dict[str, str] = {}
        code = message = None
        try:
            if not e.digests:
                raise ValueError("no digest")
            got, bypassed, n = _read(full, sorted(e.digests), buf)
            report.bytes_read += n
            result = "verified" if got == e.digests and n == e.size else "changed"
            if result == "changed":
                message = f"read back {got}, the catalog has {e.digests} ({n} of {e.size} bytes)"
        except FileNotFoundError:
            result, message = "missing", "not on the drive"
        except ValueError:
            result, message = "failed", "the catalog holds no digest for this copy"
        except OSError as exc:
            result, code, message = "failed", "verify_read_error", exc.strerror or str(exc)
        report.checked += 1
        if result == "verified":
            report.verified += 1
        else:
            {"missing": report.missing, "changed": report.changed, "failed": report.unreadable}[result].append(full)
        if bypassed is False:
            report.not_bypassed += 1
        with db.atomic():
            for cid in e.copy_ids:
                db.run("INSERT INTO verifications (copy_id, at, method, cache_bypassed, digests, result, code,"
                       " message) VALUES (:cid, :at, 'reverify', :bypassed, :digests, :result, :code, :message)",
                       {"cid": cid, "at": now, "bypassed": None if bypassed is None else int(bypassed),
                        "digests": json.dumps(got) if got else None, "result": result, "code": code,
                        "message": message})
                if result == "verified":
                    db.run("UPDATE copies SET state = 'verified', verified_at = :at, cache_bypassed = :bypassed "
                           "WHERE id = :cid", {"at": now, "bypassed": int(bool(bypassed)), "cid": cid})
                else:
                    db.run("UPDATE copies SET state = :state WHERE id = :cid",
                           {"state": result if result != "failed" else "unreadable", "cid": cid})
        if on_file is not None:
            on_file(full, result)
    report.extra, report.handoff = _extra(db, rolls, expected)
    with db.atomic():
        offloads.event(db, None, "reverify",
                       f"{report.verified} of {plural(report.checked, 'file')} verified under {target}",
                       data={"missing": len(report.missing), "changed": len(report.changed),
                             "unreadable": len(report.unreadable), "extra": len(report.extra),
                             "handoff": len(report.handoff)})
    return report
