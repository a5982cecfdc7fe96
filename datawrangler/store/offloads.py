"""Offload rows: created 'running' before the engine starts, finished from its OffloadResult.

The row names the process that runs it (host, pid, start token): if that process dies, the next opening
of the catalog shows the offload as 'interrupted' (see liveness).
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

from datawrangler import __version__
from datawrangler.core.events import OffloadResult, VerifyMode
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import ScanResult
from datawrangler.core.words import plural
from datawrangler.store import cards, liveness
from datawrangler.store.catalog import Catalog
from datawrangler.store.volumes import identify, record_volume


@dataclass(frozen=True)
class OffloadMeta:
    project: str | None = None
    reel: str | None = None
    camera: str | None = None
    operator: str | None = None
    vendor: str | None = None
    incremental_of: int | None = None  # the offload whose verified copies this one does not repeat
    lineage: int | None = None  # the card this one grew from (a card that went back into the camera)
    shooting_day: int | None = None  # the production's day number (the preset's 'day', or --day)
    location: str | None = None
    station: str | None = None  # the station that makes the copies (None: this computer's host name)
    site: str | None = None  # where the station stands now (None: not said); a station moves, the row keeps it


@dataclass(frozen=True)
class OffloadRecord:
    offload_id: int
    uuid: str
    destination_ids: tuple[int, ...]  # by plan index


def plan_to_json(plan: OffloadPlan) -> str:
    return json.dumps(dataclasses.asdict(plan), sort_keys=True)


def plan_from_json(text: str) -> OffloadPlan:
    data = json.loads(text)
    names = {f.name for f in dataclasses.fields(OffloadPlan)}
    kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
    kwargs["verify_mode"] = VerifyMode(kwargs.get("verify_mode", VerifyMode.FULL))
    return OffloadPlan(**kwargs)


def _process() -> dict[str, object]:
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "start_token": liveness.start_token(pid)}


def event(db: Catalog, offload_id: int | None, kind: str, message: str = "", code: str | None = None,
          data: dict | None = None) -> None:
    db.run("INSERT INTO events (at, offload_id, kind, code, message, data) VALUES (?, ?, ?, ?, ?, ?)",
                    (time.time(), offload_id, kind, code, message, json.dumps(data) if data else None))


def _destinations(db: Catalog, offload_id: int, plan: OffloadPlan) -> tuple[int, ...]:
    ids = []
    for i, path in enumerate(plan.destinations):
        ident = identify(os.path.dirname(path))
        vol = record_volume(db, ident, "destination")
        row = db.run("SELECT id FROM destinations WHERE offload_id = ? AND idx = ?",
                              (offload_id, i)).fetchone()
        if row:
            db.run("UPDATE destinations SET volume_id = ?, mount_point = ?, state = 'running' WHERE id = ?",
                            (vol, ident.mount_point, row[0]))
            ids.append(int(row[0]))
        else:
            ids.append(db.new_id("INSERT INTO destinations (offload_id, idx, path, mount_point, volume_id, state) "
                                 "VALUES (?, ?, ?, ?, ?, 'running') RETURNING id",
                                 (offload_id, i, path, ident.mount_point, vol)))
    return tuple(ids)


def _insert_listing(db: Catalog, offload_id: int, scan: ScanResult) -> None:
    """Every file of the card, 'pending': the offload's listing (new files of a resume are added;
    a file whose size or time changed since goes back to pending)."""
    db.run_many(
        "INSERT INTO files (offload_id, rel_path, size, mtime_ns, status) VALUES (?, ?, ?, ?, 'pending') "
        "ON CONFLICT (offload_id, rel_path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
        "status = 'pending' WHERE files.size != excluded.size OR files.mtime_ns != excluded.mtime_ns",
        ((offload_id, f.rel_path, f.size, f.mtime_ns) for f in scan.files))


def begin_offload(db: Catalog, plan: OffloadPlan, scan: ScanResult, fingerprint: str,
                  meta: OffloadMeta) -> OffloadRecord:
    """Create the card (if new), the offload row ('running'), its destinations and its listing."""
    now = time.time()
    with db.atomic():
        card_vol = record_volume(db, identify(plan.source), "card")
        card_id = cards.record_card(db, fingerprint, reel=meta.reel, label=os.path.basename(plan.source),
                                    vendor=meta.vendor, file_count=len(scan.files), total_bytes=scan.total_bytes,
                                    volume_id=card_vol, lineage=meta.lineage)
        uid = str(uuid.uuid4())
        oid = db.new_id(
            "INSERT INTO offloads (uuid, card_id, project, reel, camera, source, roll_name, algorithms, verify_mode,"
            " plan, operator, host, pid, start_token, app_version, started_at, state, files_total, bytes_total,"
            " incremental_of, shooting_day, location, station, site) VALUES (:uuid, :card, :project, :reel, :camera,"
            " :source, :roll, :alg, :mode, :plan, :operator, :host, :pid, :start_token, :version, :now, 'running',"
            " :files, :bytes, :inc, :day, :location, :station, :site) RETURNING id",
            {"uuid": uid, "card": card_id, "project": meta.project, "reel": meta.reel, "camera": meta.camera,
             "source": plan.source, "roll": os.path.basename(plan.destinations[0]) if plan.destinations else None,
             "alg": ",".join(plan.algorithms), "mode": plan.verify_mode.value, "plan": plan_to_json(plan),
             "operator": meta.operator, **_process(), "version": __version__, "now": now,
             "files": len(scan.files), "bytes": scan.total_bytes, "inc": meta.incremental_of,
             "day": meta.shooting_day, "location": meta.location,
             "station": meta.station or socket.gethostname(), "site": meta.site or None})
        dest_ids = _destinations(db, oid, plan)
        # a new offload holds no file yet: the listing goes straight in (COPY on a server: 20,000 files 0.5 s
        # through batched upserts; SQLite's executemany either way)
        db.copy_rows("files", ("offload_id", "rel_path", "size", "mtime_ns", "status"),
                     ((oid, f.rel_path, f.size, f.mtime_ns, "pending") for f in scan.files))
        event(db, oid, "started", f"{plural(len(scan.files), 'file')} from {plan.source}",
              data={"destinations": list(plan.destinations)})
    return OffloadRecord(oid, uid, dest_ids)


def state_of(db: Catalog, offload_id: int) -> str | None:
    """The offload's state as recorded ('verified', 'running', 'interrupted', ...); None for no such offload."""
    row = db.run("SELECT state FROM offloads WHERE id = ?", (offload_id,)).fetchone()
    return row[0] if row else None


def discard_unstarted(db: Catalog, offload_id: int) -> bool:
    """Remove a new offload that was refused before a byte moved (e.g. another offload holds its roll
    folder): nothing to resume, so nothing stays in the catalog. False, and nothing removed, if it was ever
    resumed or recorded any file result, or is a stage-2 copy (queued by its stage 1: it stays, interrupted,
    to run later)."""
    with db.atomic():
        row = db.run("SELECT resumes, card_id, stage FROM offloads WHERE id = ?", (offload_id,)).fetchone()
        if row is not None and row[2] == 2:  # a stage-2 copy (store.cascade) stays, to run when it can
            return False
        started = db.run("SELECT EXISTS (SELECT 1 FROM files f WHERE f.offload_id = ? AND (f.status != "
                                  "'pending' OR EXISTS (SELECT 1 FROM copies c WHERE c.file_id = f.id)))",
                                  (offload_id,)).fetchone()[0]
        if row is None or row[0] or started:
            return False
        db.run("DELETE FROM files WHERE offload_id = ?", (offload_id,))
        db.run("DELETE FROM destinations WHERE offload_id = ?", (offload_id,))
        db.run("DELETE FROM events WHERE offload_id = ?", (offload_id,))
        db.run("DELETE FROM offloads WHERE id = ?", (offload_id,))
        db.run("DELETE FROM cards WHERE id = ? AND NOT EXISTS (SELECT 1 FROM offloads WHERE card_id = ?)"
                        " AND NOT EXISTS (SELECT 1 FROM cards WHERE lineage = ? AND id != ?)",
                        (row[1], row[1], row[1], row[1]))
    return True


def reopen_offload(db: Catalog, offload_id: int, plan: OffloadPlan, scan: ScanResult) -> OffloadRecord:
    """A resume: the same offload row goes back to 'running' under this process; new files are listed. A
    queued offload (a stage 2 of a cascading copy, store.cascade) starts here: its start is now, and it is
    not counted as resumed."""
    with db.atomic():
        row = db.run("SELECT uuid, state FROM offloads WHERE id = ?", (offload_id,)).fetchone()
        p = _process()
        first = row[1] == "queued"
        db.run("UPDATE offloads SET state = 'running', host = ?, pid = ?, start_token = ?, ended_at = NULL,"
                        " message = NULL, resumes = resumes + ?, files_total = ?, bytes_total = ?,"
                        " started_at = CASE WHEN ? = 1 THEN ? ELSE started_at END WHERE id = ?",
                        (p["host"], p["pid"], p["start_token"], 0 if first else 1, len(scan.files), scan.total_bytes,
                         int(first), time.time(), offload_id))
        dest_ids = _destinations(db, offload_id, plan)
        _insert_listing(db, offload_id, scan)
        # a file changed on the card since: its copies hold the old bytes and no longer count
        db.run("UPDATE copies SET state = 'stale' WHERE state != 'stale' AND file_id IN "
                        "(SELECT id FROM files WHERE offload_id = ? AND status = 'pending')", (offload_id,))
        event(db, offload_id, "started" if first else "resumed",
              f"{plural(len(scan.files), 'file')} from {plan.source}")
    return OffloadRecord(offload_id, row[0], dest_ids)


def finish_offload(db: Catalog, record: OffloadRecord, result: OffloadResult) -> None:
    """Record the end state (inside the caller's transaction)."""
    db.run(
        "UPDATE offloads SET state = ?, message = ?, ended_at = ?, files_verified = ?, files_failed = ?,"
        " files_skipped = ? WHERE id = ?",
        (result.state.value, result.message, result.ended_at, result.files_verified, result.files_failed,
         result.files_skipped, record.offload_id))
    for dest_id, d in zip(record.destination_ids, result.destinations, strict=False):
        db.run("UPDATE destinations SET state = ?, files_ok = ?, files_failed = ?, code = ?, message = ?"
                        " WHERE id = ?", (d.state, d.files_ok, d.files_failed, d.code.value if d.code else None,
                                          d.message, dest_id))
    for s in result.skipped:
        event(db, record.offload_id, "skipped", s.message, s.code.value, {"path": s.rel_path})
    event(db, record.offload_id, "finished", result.message, data={"state": result.state.value})


def stations(db: Catalog, offload_ids: list[int]) -> dict[int, tuple[str | None, str | None]]:
    """{offload id: (station, site)} as each offload recorded them (None: an offload made before schema 5, or
    imported from another unit's manifests)."""
    if not offload_ids:
        return {}
    marks = ", ".join("?" for _ in offload_ids)
    rows = db.run(f"SELECT id, station, site FROM offloads WHERE id IN ({marks})", offload_ids).fetchall()
    return {int(r[0]): (r[1], r[2]) for r in rows}
