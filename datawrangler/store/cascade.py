"""Cascading copy in the catalog: a stage-2 offload copies a card's verified stage-1 copy to more drives.

A stage-2 offload is an offload row of its own (`stage` 2), of the same card, linked to the stage-1 offload
(`cascade_of`) and to the stage-1 copy it reads (`made_from`, a destination of the stage-1 offload). So it is
recorded, resumed, reported and counted toward safe to format as any offload is (store.redundancy counts
every offload of the card's lineage), and the catalog says for each copy what it was made from.

Its files are the stage-1 offload's files that copy holds verified; each is checked against the digests
taken from the card (`card_digests`), never only against the copy it reads. The stage-1 offload records the
stage-2 roll folders asked for (`stage2`, so a resume of stage 1 still queues them) and when the card was
released (`released_at`: stage 1 ended verified, the card may leave the reader).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from datawrangler import __version__
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import ScanResult, SourceFile
from datawrangler.core.words import plural
from datawrangler.store import offloads
from datawrangler.store.cards import lineage_offloads
from datawrangler.store.catalog import Catalog, in_list
from datawrangler.store.db import CatalogError
from datawrangler.store.offloads import plan_from_json, plan_to_json
from datawrangler.store.resume import verified_pairs

QUEUED = "queued"  # a stage-2 offload waiting to run: the state no other offload has


@dataclass(frozen=True)
class Stage2Job:
    """A stage-2 offload: what it reads (`source`, the stage-1 roll folder) and writes (`destinations`)."""

    offload_id: int
    uuid: str
    cascade_of: int  # the stage-1 offload
    card_id: int | None
    reel: str | None
    source: str  # the stage-1 copy's roll folder
    destinations: tuple[str, ...]  # the stage-2 roll folders
    state: str  # queued / running / interrupted / verified / ...
    made_from: int  # destinations.id of the stage-1 copy
    made_from_label: str  # that drive's label (or its mount point)
    files: int
    bytes: int


_JOB = ("SELECT o.id, o.uuid, o.cascade_of, o.card_id, o.reel, o.source, o.plan, o.state, o.made_from,"
        " COALESCE(NULLIF(v.label, ''), d.mount_point, ''), o.files_total, o.bytes_total"
        " FROM offloads o LEFT JOIN destinations d ON d.id = o.made_from LEFT JOIN volumes v ON v.id = d.volume_id"
        " WHERE o.stage = 2")


def _job(row: Any) -> Stage2Job:
    plan = plan_from_json(row[6])
    return Stage2Job(row[0], row[1], row[2], row[3], row[4], row[5], tuple(plan.destinations), row[7], row[8],
                     row[9], row[10] or 0, row[11] or 0)


def job(db: Catalog, offload_id: int) -> Stage2Job | None:
    """The stage-2 offload `offload_id`, or None when it is not one."""
    row = db.row(_JOB + " AND o.id = :id", {"id": offload_id})
    return _job(row) if row else None


def pending(db: Catalog) -> list[Stage2Job]:
    """The stage-2 offloads still to run: queued, interrupted (a crash) or cancelled (a quit), oldest first."""
    return [_job(r) for r in db.run(
        _JOB + " AND o.state IN (:queued, 'interrupted', 'cancelled') ORDER BY o.id", {"queued": QUEUED})]


def children(db: Catalog, offload_id: int) -> list[Stage2Job]:
    """The stage-2 offloads made from a stage-1 offload's copies, whatever their state, oldest first."""
    return [_job(r) for r in db.run(_JOB + " AND o.cascade_of = :id ORDER BY o.id", {"id": offload_id})]


def parent_of(db: Catalog, offload_id: int) -> int | None:
    """The stage-1 offload a stage-2 offload copies from; None for any other offload."""
    row = db.row("SELECT cascade_of FROM offloads WHERE id = :id AND stage = 2", {"id": offload_id})
    return row[0] if row else None


def set_stage2(db: Catalog, offload_id: int, targets: tuple[tuple[str, str], ...], *, copies_required: int,
               handoff: Mapping[str, Any] | None, rule: str = "") -> None:
    """Record on a stage-1 offload the stage-2 drives asked for, as (root, roll folder) pairs, and what its
    stage 2 is to require and write (the copies required for safe to format; the handoff options as a
    mapping, None for none; the protection rule beside the copies, "" for N copies): a resume of stage 1
    queues them too, and whichever front end runs the stage-2
    copy later judges and writes it as stage 1 was asked to."""
    with db.atomic():
        db.run("UPDATE offloads SET stage2 = :stage2 WHERE id = :id", {"stage2": json.dumps({
            "targets": [{"root": r, "roll": f} for r, f in targets], "copies_required": copies_required,
            "rule": rule, "handoff": None if handoff is None else dict(handoff)}), "id": offload_id})


def _stage2_of(db: Catalog, offload_id: int) -> dict[str, Any]:
    row = db.row("SELECT stage2 FROM offloads WHERE id = :id", {"id": offload_id})
    data = json.loads(row[0]) if row and row[0] else {}
    return data if isinstance(data, dict) else {"targets": data}  # a bare list of targets: nothing else asked


def stage2_targets(db: Catalog, offload_id: int) -> tuple[tuple[str, str], ...]:
    """The (root, roll folder) pairs of the stage-2 drives a stage-1 offload asked for; () for none."""
    return tuple((t["root"], t["roll"]) for t in _stage2_of(db, offload_id).get("targets", ()))


@dataclass(frozen=True)
class Stage2Asked:
    """What the stage-1 offload asked of its stage 2: the copies required, and the handoff options as a
    mapping (handoff.writer.HandoffOptions.from_mapping), None for no handoff files."""

    copies_required: int
    handoff: Mapping[str, Any] | None
    rule: str = ""  # core.presets.protection_rule's text: "" = copies_required copies on distinct drives


def stage2_asked(db: Catalog, offload_id: int) -> Stage2Asked | None:
    """What the stage-1 offload `offload_id` (or the stage-1 offload of the stage-2 copy `offload_id`) asked
    of its stage 2; None when it recorded nothing."""
    parent = parent_of(db, offload_id) or offload_id
    data = _stage2_of(db, parent)
    if "copies_required" not in data:
        return None
    return Stage2Asked(int(data["copies_required"]), data.get("handoff"), str(data.get("rule") or ""))


def stage2_rolls(db: Catalog, offload_id: int) -> tuple[str, ...]:
    """The stage-2 roll folders a stage-1 offload asked for; () for none."""
    return tuple(roll for _, roll in stage2_targets(db, offload_id))


def released_at(db: Catalog, offload_id: int) -> float | None:
    row = db.row("SELECT released_at FROM offloads WHERE id = :id", {"id": offload_id})
    return row[0] if row else None


@dataclass(frozen=True)
class StageOneCopy:
    """A stage-1 destination a stage-2 offload may read: the one with the most verified files first."""

    destination_id: int
    path: str
    verified: int


def stage1_copies(db: Catalog, offload_id: int) -> list[StageOneCopy]:
    """The stage-1 offload's destinations ordered by how many of its files each holds verified (then by
    plan order)."""
    return [StageOneCopy(*r) for r in db.run(
        "SELECT d.id, d.path, (SELECT COUNT(*) FROM copies c JOIN files f ON f.id = c.file_id"
        "  WHERE c.destination_id = d.id AND c.state = 'verified' AND f.offload_id = d.offload_id) AS n"
        " FROM destinations d WHERE d.offload_id = :id ORDER BY n DESC, d.idx", {"id": offload_id})]


def _held_files(db: Catalog, parent_id: int, roll: str) -> list[SourceFile]:
    """The stage-1 offload's files held verified at the roll folder `roll` (by this offload, or for an
    incremental one by an earlier offload of its card at the same place)."""
    card = db.row("SELECT card_id FROM offloads WHERE id = :id", {"id": parent_id})
    ids = lineage_offloads(db, card[0]) if card and card[0] is not None else [parent_id]
    held = verified_pairs(db, [roll], ids)
    return [SourceFile(r, s, m) for r, s, m in db.run(
        "SELECT rel_path, size, mtime_ns FROM files WHERE offload_id = :id AND status = 'verified'"
        " ORDER BY rel_path", {"id": parent_id}) if (r, s, m) in held]


def queue(db: Catalog, parent_id: int, made_from: StageOneCopy, plan: OffloadPlan, *,
          released: float | None = None) -> int:
    """Queue the stage-2 offload that copies `made_from` (a stage-1 copy of `parent_id`) as `plan` says;
    with `released`, record on the stage-1 offload that the card was released then. Its files are listed
    'pending'; it has no destination rows until it starts (the drives may not be connected yet)."""
    files = _held_files(db, parent_id, made_from.path)
    now = time.time()
    with db.atomic():
        row = db.row("SELECT card_id, project, reel, camera, operator, shooting_day, location, station, site"
                     " FROM offloads WHERE id = :id", {"id": parent_id})
        if row is None:
            raise CatalogError(f"There is no offload {parent_id} in the catalog to copy on from.")
        uid = str(uuid.uuid4())
        oid = db.new_id(
            "INSERT INTO offloads (uuid, card_id, project, reel, camera, source, roll_name, algorithms, verify_mode,"
            " plan, operator, app_version, started_at, state, files_total, bytes_total, shooting_day, location,"
            " stage, cascade_of, made_from, message, station, site) VALUES (:uuid, :card_id, :project, :reel,"
            " :camera, :source, :roll_name, :algorithms, :verify_mode, :plan, :operator, :app_version, :started_at,"
            " :state, :files_total, :bytes_total, :shooting_day, :location, 2, :cascade_of, :made_from, :message,"
            " :station, :site) RETURNING id",
            {"uuid": uid, "card_id": row[0], "project": row[1], "reel": row[2], "camera": row[3],
             "source": plan.source,
             "roll_name": os.path.basename(plan.destinations[0]) if plan.destinations else None,
             "algorithms": ",".join(plan.algorithms), "verify_mode": plan.verify_mode.value,
             "plan": plan_to_json(plan), "operator": row[4], "app_version": __version__, "started_at": now,
             "state": QUEUED, "files_total": len(files), "bytes_total": sum(f.size for f in files),
             "shooting_day": row[5], "location": row[6], "cascade_of": parent_id,
             "made_from": made_from.destination_id,
             "message": f"Queued: stage 2 of offload {parent_id}, from {plan.source}.", "station": row[7],
             "site": row[8]})
        db.run_many("INSERT INTO files (offload_id, rel_path, size, mtime_ns, status) VALUES (:oid, :rel_path,"
                    " :size, :mtime_ns, 'pending')",
                    ({"oid": oid, "rel_path": f.rel_path, "size": f.size, "mtime_ns": f.mtime_ns} for f in files))
        if released is not None:
            db.run("UPDATE offloads SET released_at = :at WHERE id = :id", {"at": released, "id": parent_id})
            offloads.event(db, parent_id, "released", "stage 1 verified: the card may leave the reader")
        offloads.event(db, oid, "queued", f"stage 2 of offload {parent_id}: {plural(len(files), 'file')} from "
                       f"{plan.source}", data={"destinations": list(plan.destinations)})
    return oid


def scan_of(db: Catalog, offload_id: int) -> ScanResult:
    """What a stage-2 offload copies, from the catalog (never a scan of the stage-1 folder, which also holds
    the handoff files written there): its files as the card had them."""
    row = db.row("SELECT source FROM offloads WHERE id = :id AND stage = 2", {"id": offload_id})
    if row is None:
        raise CatalogError(f"Offload {offload_id} is not a stage-2 copy. 'datawrangler stage2' lists them.")
    files = [SourceFile(*r) for r in db.run(
        "SELECT rel_path, size, mtime_ns FROM files WHERE offload_id = :id ORDER BY rel_path", {"id": offload_id})]
    return ScanResult(row[0], files, [], [], sum(f.size for f in files))


def card_digests(db: Catalog, offload_id: int) -> dict[str, dict[str, str]]:
    """{rel_path: {algorithm: hex}} for a stage-2 offload's files: the digests taken from the card when it
    was read (the stage-1 offload's, else the earliest offload of the card's lineage that read the card and
    hashed that file at that size and time). A stage-2 offload's own digests are never used here."""
    card = db.row("SELECT card_id FROM offloads WHERE id = :id", {"id": offload_id})
    ids = [i for i in lineage_offloads(db, card[0])] if card and card[0] is not None else []
    order = {oid: n for n, oid in enumerate(ids)}
    out: dict[str, dict[str, str]] = {}
    rank: dict[str, int] = {}
    for rel, digests, oid in db.run(
            "SELECT g.rel_path, g.digests, g.offload_id FROM files f JOIN files g ON g.rel_path = f.rel_path"
            " AND g.size = f.size AND g.mtime_ns = f.mtime_ns JOIN offloads o ON o.id = g.offload_id"
            " WHERE f.offload_id = :id AND g.digests IS NOT NULL AND COALESCE(o.stage, 1) = 1", {"id": offload_id}):
        n = order.get(oid)
        if n is None or (rel in rank and rank[rel] <= n):
            continue
        out[rel], rank[rel] = json.loads(digests), n
    return out



@dataclass(frozen=True)
class Stage1Finding:
    """What a stage-2 copy found of a file on the stage-1 copy it read: `changed` (its digests differ from
    the card's: `digests` read), `missing` (not there) or `unreadable` (the drive could not read it)."""

    rel_path: str
    state: str
    code: str
    message: str
    digests: Mapping[str, str] | None = None


def mark_stage1(db: Catalog, offload_id: int, found: Sequence[Stage1Finding]) -> int:
    """The stage-1 copies of these files (at the roll folder the stage-2 copy `offload_id` read, by any
    offload of the card) take the state found, with a verification saying so, so they no longer count
    toward safe to format. Returns how many copies were marked."""
    row = db.row("SELECT o.card_id, o.source FROM offloads o WHERE o.id = :id AND o.stage = 2", {"id": offload_id})
    if row is None or not found:
        return 0
    card_id, roll = row
    ids = lineage_offloads(db, card_id) if card_id is not None else []
    marks, params = in_list("ids", ids)
    now = time.time()
    n = 0
    with db.atomic():
        for f in found:
            for (cid,) in db.run(
                    "SELECT c.id FROM copies c JOIN files f ON f.id = c.file_id JOIN destinations d ON"
                    f" d.id = c.destination_id WHERE f.offload_id IN {marks} AND f.rel_path = :rel_path"
                    " AND d.path = :roll AND c.state = 'verified'",
                    {**params, "rel_path": f.rel_path, "roll": roll}).fetchall():
                said = {"state": f.state, "code": f.code, "message": f.message, "cid": cid}
                db.run("UPDATE copies SET state = :state, code = :code, message = :message WHERE id = :cid", said)
                db.run("INSERT INTO verifications (copy_id, at, method, cache_bypassed, digests, result, code,"
                       " message) VALUES (:cid, :at, 'stage2-read', 1, :digests, :state, :code, :message)",
                       {**said, "at": now, "digests": json.dumps(dict(f.digests)) if f.digests else None})
                n += 1
        if n:
            offloads.event(db, offload_id, "stage1_changed",
                           f"{plural(n, 'stage-1 copy', 'stage-1 copies')} at {roll} "
                           f"{'does' if n == 1 else 'do'} not hold the card's file any more (changed, missing or "
                           f"unreadable): {'it no longer counts' if n == 1 else 'they no longer count'} toward safe "
                           "to format", code=found[0].code)
    return n
