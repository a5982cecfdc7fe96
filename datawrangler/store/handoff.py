"""What the handoff files (ASC MHL, checksum lists, manifests) read from the catalog, and the rows an
imported ASC MHL history becomes. The catalog is the source of truth: a copy is listed as verified only
when its row here says so."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from datawrangler import __version__
from datawrangler.store import offloads
from datawrangler.store.catalog import Catalog
from datawrangler.store.handoff_names import SIDECAR_SUFFIXES, sidecar_name

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class DestRow:
    id: int
    idx: int
    path: str
    state: str | None


@dataclass(frozen=True)
class OffloadSummary:
    id: int
    uuid: str
    source: str
    roll_name: str | None
    reel: str | None
    project: str | None
    operator: str | None
    host: str | None
    algorithms: tuple[str, ...]
    verify_mode: str
    state: str
    started_at: float
    ended_at: float | None
    ignore: tuple[str, ...]
    destinations: tuple[DestRow, ...]


@dataclass(frozen=True)
class CopyRow:
    state: str
    digests: dict[str, str]  # read back from the destination
    verified_at: float | None
    cache_bypassed: bool | None
    already_present: bool


@dataclass(frozen=True)
class FileRow:
    rel_path: str
    size: int
    mtime_ns: int
    status: str
    digests: dict[str, str]  # taken while reading the card
    copies: dict[int, CopyRow] = field(default_factory=dict)  # by destination id


def offload_summary(db: Catalog, offload_id: int) -> OffloadSummary | None:
    row = db.run(
        "SELECT id, uuid, source, roll_name, reel, project, operator, host, algorithms, verify_mode, state,"
        " started_at, ended_at, plan FROM offloads WHERE id = ?", (offload_id,)).fetchone()
    if row is None:
        return None
    plan = json.loads(row[13] or "{}")
    dests = tuple(DestRow(*r) for r in db.run(
        "SELECT id, idx, path, state FROM destinations WHERE offload_id = ? ORDER BY idx", (offload_id,)))
    return OffloadSummary(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                          tuple(a for a in (row[8] or "").split(",") if a), row[9] or "", row[10], row[11],
                          row[12], tuple(plan.get("ignore") or ()), dests)


def offload_files(db: Catalog, offload_id: int) -> Iterator[FileRow]:
    """Every file of the offload in listing (scan) order, with its copies by destination id: one row at a time
    from the cursor (a roll's handoff files for a million files are written in one pass, never held whole).

    The files are read along their ids (the listing order) within the offload's range of ids, so that SQLite
    streams them instead of sorting the whole offload first (which the index on offload_id would need: it
    orders by path); each file's copies come in destination order from their own index."""
    low, high = db.run("SELECT MIN(id), MAX(id) FROM files WHERE offload_id = ?", (offload_id,)).fetchone()
    if low is None:
        return
    current: FileRow | None = None
    current_id = None
    for fid, rel, size, mtime, status, fdig, did, cstate, cdig, at, bypassed, present in db.run(
            "SELECT f.id, f.rel_path, f.size, f.mtime_ns, f.status, f.digests, c.destination_id, c.state, c.digests,"
            " c.verified_at, c.cache_bypassed, c.already_present FROM files f"
            " LEFT JOIN copies c ON c.file_id = f.id WHERE +f.offload_id = ? AND f.id BETWEEN ? AND ?"
            " ORDER BY f.id, c.destination_id", (offload_id, low, high)):
        if fid != current_id:
            if current is not None:
                yield current
            current = FileRow(rel, size, mtime, status, json.loads(fdig or "{}"))
            current_id = fid
        if did is not None:
            assert current is not None
            # a verified copy's digests are most often the card's, text for text: parsed once (rows are read only)
            digests = current.digests if cdig == fdig and cdig else json.loads(cdig or "{}")
            current.copies[did] = CopyRow(cstate, digests, at, None if bypassed is None else bool(bypassed),
                                          bool(present))
    if current is not None:
        yield current


def files_named(db: Catalog, offload_id: int, names: Iterable[str]) -> set[str]:
    """Which of these relative paths are files of the offload (a card file named as a handoff file would be
    overwritten by it): looked up in the catalog, never by holding every path of the offload."""
    wanted = sorted(set(names))
    found: set[str] = set()
    for i in range(0, len(wanted), 500):  # SQLite's limit on bound parameters is 999 in older builds
        part = wanted[i:i + 500]
        marks = ",".join("?" for _ in part)
        found.update(r[0] for r in db.run(
            f"SELECT rel_path FROM files WHERE offload_id = ? AND rel_path IN ({marks})", (offload_id, *part)))
    return found


@dataclass(frozen=True)
class ReverifyRow:
    rel_path: str
    size: int
    mtime_ns: int
    result: str  # verified / changed / missing / failed
    digests: dict[str, str]  # what the re-read gave
    at: float


def latest_reverify(db: Catalog, destination_ids: Sequence[int]) -> Iterator[ReverifyRow]:
    """The most recent re-verification of each file recorded at these destinations (one roll folder), by path,
    one at a time from the cursor (a path recorded at several of them: the latest row)."""
    if not destination_ids:
        return
    marks = ",".join("?" for _ in destination_ids)
    last: ReverifyRow | None = None
    for rel, size, mtime, result, dig, at in db.run(
            "SELECT f.rel_path, f.size, f.mtime_ns, v.result, v.digests, v.at FROM verifications v"
            " JOIN copies c ON c.id = v.copy_id JOIN files f ON f.id = c.file_id"
            f" WHERE c.destination_id IN ({marks}) AND v.method = 'reverify'"
            " AND v.id = (SELECT MAX(v2.id) FROM verifications v2 WHERE v2.copy_id = c.id AND v2.method = 'reverify')"
            " ORDER BY f.rel_path, v.id", tuple(destination_ids)):
        if last is not None and last.rel_path != rel:
            yield last
        last = ReverifyRow(rel, size, mtime, result, json.loads(dig or "{}"), at)
    if last is not None:
        yield last


def sidecar_names_at(db: Catalog, destination_ids: Sequence[int]) -> set[str]:
    """The names (store.handoff_names) the handoff files of these destinations' offloads have (or would have)
    in their roll folder: one per offload and suffix, at the top of the roll. Never a pattern: only
    DataWrangler's own names."""
    if not destination_ids:
        return set()
    marks = ",".join("?" for _ in destination_ids)
    rows = db.run(f"SELECT d.path, o.started_at FROM destinations d JOIN offloads o ON o.id = d.offload_id"
                           f" WHERE d.id IN ({marks})", tuple(destination_ids)).fetchall()
    return {sidecar_name(path, started, suffix) for path, started in rows if started for suffix in SIDECAR_SUFFIXES}


def destinations_at(db: Catalog, roll: str) -> list[int]:
    """Destination ids whose roll folder is this path."""
    norm = os.path.normpath(roll)
    return [r[0] for r in db.run("SELECT id, path FROM destinations") if os.path.normpath(r[1]) == norm]


def inside_roll(rel: str) -> bool:
    """Can this recorded path only name a file under its roll? Relative, '/'-separated, no '..' (nor between
    backslashes, Windows' separator), no drive letter, no NUL. A later re-verify reads the roll joined with it."""
    return (bool(rel) and "\x00" not in rel and not rel.startswith(("/", "\\")) and not _DRIVE.match(rel)
            and ".." not in re.split(r"[/\\]", rel))


@dataclass(frozen=True)
class ImportedFile:
    rel_path: str
    size: int
    mtime_ns: int
    digests: dict[str, str]
    note: str  # which generation the digests come from


def record_import(db: Catalog, roll: str, files: Sequence[ImportedFile], algorithms: Sequence[str],
                  fingerprint: str, message: str) -> int:
    """An ASC MHL history found on a drive becomes an offload in state 'imported': its files and one copy each
    (state 'copied': recorded, not read back by this station; 'datawrangler verify' re-reads and upgrades them).
    Returns the offload id."""
    from datawrangler.core.plan import OffloadPlan
    from datawrangler.store import cards
    from datawrangler.store.volumes import identify, record_volume

    for f in files:  # handoff.history refuses such a history first; the catalog never holds one either way
        if not inside_roll(f.rel_path):
            raise ValueError(f"{f.rel_path!r} is not a path inside {roll}: the history was not imported.")
    now = time.time()
    plan = OffloadPlan(source=roll, destinations=(roll,), algorithms=tuple(algorithms))
    with db.atomic():
        ident = identify(roll)
        vol = record_volume(db, ident, "destination")
        card_id = cards.record_card(db, fingerprint, reel=None, label=os.path.basename(roll), vendor=None,
                                    file_count=len(files), total_bytes=sum(f.size for f in files),
                                    volume_id=None, lineage=None)
        oid = db.new_id(
            "INSERT INTO offloads (uuid, card_id, source, roll_name, algorithms, verify_mode, plan, host, app_version,"
            " started_at, ended_at, state, message, files_total, bytes_total, files_verified, files_failed,"
            " files_skipped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'imported', ?, ?, ?, 0, 0, 0) RETURNING id",
            (str(uuid.uuid4()), card_id, roll, os.path.basename(roll), ",".join(algorithms), plan.verify_mode.value,
             offloads.plan_to_json(plan), ident.host, __version__, now, now, message, len(files),
             sum(f.size for f in files)))
        did = db.new_id(
            "INSERT INTO destinations (offload_id, idx, path, mount_point, volume_id, state, files_ok, files_failed)"
            " VALUES (?, 0, ?, ?, ?, 'imported', 0, 0) RETURNING id", (oid, roll, ident.mount_point, vol))
        for f in files:
            dig = json.dumps(f.digests)
            fid = db.new_id(
                "INSERT INTO files (offload_id, rel_path, size, mtime_ns, digests, status, message)"
                " VALUES (?, ?, ?, ?, ?, 'copied', ?) RETURNING id", (oid, f.rel_path, f.size, f.mtime_ns, dig, f.note))
            cid = db.new_id(
                "INSERT INTO copies (file_id, destination_id, state, digests, message, already_present, attempts)"
                " VALUES (?, ?, 'copied', ?, ?, 1, 0) RETURNING id", (fid, did, dig, f.note))
            db.run("INSERT INTO verifications (copy_id, at, method, digests, result, message)"
                            " VALUES (?, ?, 'imported', ?, 'copied', ?)", (cid, now, dig, f.note))
        offloads.event(db, oid, "imported", message, data={"roll": roll, "files": len(files)})
    return oid


def destinations_under(db: Catalog, path: str) -> list[int]:
    """Destination ids whose roll folder is at or under path (as recorded)."""
    real = os.path.realpath(path).rstrip("/")
    out = []
    for did, stored in db.run("SELECT id, path FROM destinations"):
        p = os.path.normpath(stored)
        if p == real or p.startswith(real + "/"):
            out.append(did)
    return out
