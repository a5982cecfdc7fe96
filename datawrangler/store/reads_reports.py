"""The reports' reads of the catalog (per-file tables, cache-bypass counts, day windows, what each drive holds
of a card): store answers them so that no layer above it speaks SQL. Nothing here writes.

Each report asks a fixed number of these whatever the card holds (the file table is one joined query read
as it streams, not one per file): a report of 100,000 files costs the queries of a report of ten."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from datawrangler.store.cards import lineage_offloads
from datawrangler.store.catalog import Catalog, column_names, count_where

_VOLUME = ("id", "key", "disk", "fs_uuid", "label", "device", "fstype", "capacity", "last_mount_point")


def _row(db: Catalog, sql: str, params: tuple) -> dict[str, Any] | None:
    cur = db.run(sql, params)
    row = cur.fetchone()
    return None if row is None else dict(zip(column_names(cur), row, strict=True))


def offload(db: Catalog, offload_id: int) -> dict[str, Any] | None:
    return _row(db, "SELECT * FROM offloads WHERE id = ?", (offload_id,))


def card(db: Catalog, card_id: int | None) -> dict[str, Any] | None:
    return _row(db, "SELECT * FROM cards WHERE id = ?", (card_id,)) if card_id is not None else None


def volume(db: Catalog, volume_id: int | None) -> dict[str, Any] | None:
    if volume_id is None:
        return None
    return _row(db, f"SELECT {', '.join(_VOLUME)} FROM volumes WHERE id = ?", (volume_id,))


def destinations(db: Catalog, offload_id: int) -> list[dict[str, Any]]:
    """The offload's destinations by plan index, with their volume and read-back counts; `changed`: copies
    found different from the card since (by a re-verify, or by a stage-2 copy that read them)."""
    counts = ", ".join(count_where(cond, name) for cond, name in (
        ("c.state = 'verified' AND c.cache_bypassed = 1", "bypassed"),
        ("c.state = 'verified' AND c.cache_bypassed = 0", "not_bypassed"), ("c.state = 'verified'", "verified"),
        ("c.state = 'failed'", "failed"), ("c.state = 'copied'", "copied"),
        ("c.already_present = 1", "already_present"), ("c.state = 'changed'", "changed")))
    cur = db.run(
        "SELECT d.id, d.idx, d.path, d.mount_point, d.volume_id, d.state, d.files_ok, d.files_failed, d.code,"
        f" d.message, {counts}"
        " FROM destinations d LEFT JOIN copies c ON c.destination_id = d.id"
        " WHERE d.offload_id = ? GROUP BY d.id ORDER BY d.idx", (offload_id,))
    names = column_names(cur)
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def status_counts(db: Catalog, offload_id: int) -> dict[str, int]:
    return {s: n for s, n in db.run(
        "SELECT status, COUNT(*) FROM files WHERE offload_id = ? GROUP BY status", (offload_id,))}


def rel_paths(db: Catalog, offload_id: int) -> Iterator[str]:
    for (p,) in db.run("SELECT rel_path FROM files WHERE offload_id = ?", (offload_id,)):
        yield p


def failed_copies(db: Catalog, offload_id: int) -> Iterator[tuple[int, str, str | None, str | None]]:
    """(destination idx, rel_path, code, message) of every copy that failed, in listing order."""
    yield from db.run(
        "SELECT d.idx, f.rel_path, c.code, c.message FROM copies c JOIN files f ON f.id = c.file_id"
        " JOIN destinations d ON d.id = c.destination_id WHERE f.offload_id = ? AND c.state = 'failed'"
        " ORDER BY f.id, d.idx", (offload_id,))


def failed_files_without_copy(db: Catalog, offload_id: int) -> Iterator[tuple[str, str | None, str | None]]:
    """Files that failed with no failed copy to say why (a card read error, a changed source)."""
    yield from db.run(
        "SELECT f.rel_path, f.code, f.message FROM files f WHERE f.offload_id = ? AND f.status = 'failed'"
        " AND NOT EXISTS (SELECT 1 FROM copies c WHERE c.file_id = f.id AND c.state = 'failed') ORDER BY f.id",
        (offload_id,))


def events(db: Catalog, offload_id: int, kinds: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    sql = "SELECT at, kind, code, message, data FROM events WHERE offload_id = ?"
    params: list[Any] = [offload_id]
    if kinds:
        sql += f" AND kind IN ({', '.join('?' for _ in kinds)})"
        params += kinds
    out = []
    for at, kind, code, message, data in db.run(sql + " ORDER BY id", params):
        out.append({"at": at, "kind": kind, "code": code, "message": message or "",
                    "data": json.loads(data) if data else {}})
    return out


def file_rows(db: Catalog, offload_id: int, dest_ids: list[int]
              ) -> Iterator[tuple[str, int, dict[str, str], str, str | None, str | None, tuple[str, ...]]]:
    """Every file of the offload in listing order: (path, size, card digests, status, code, message,
    the copy's state on each destination, '' where none)."""
    where = {d: i for i, d in enumerate(dest_ids)}
    cur = db.run(
        "SELECT f.id, f.rel_path, f.size, f.digests, f.status, f.code, f.message, c.destination_id, c.state, c.code"
        " FROM files f LEFT JOIN copies c ON c.file_id = f.id WHERE f.offload_id = ? ORDER BY f.id",
        (offload_id,))
    current: list[Any] | None = None
    for fid, path, size, digests, status, code, message, did, cstate, ccode in cur:
        if current is None or current[0] != fid:
            if current is not None:
                yield _file_tuple(current)
            current = [fid, path, size, digests, status, code, message, [""] * len(dest_ids)]
        if did in where:
            current[7][where[did]] = cstate if cstate != "failed" or not ccode else f"failed: {ccode}"
    if current is not None:
        yield _file_tuple(current)


def _file_tuple(c: list[Any]) -> tuple[str, int, dict[str, str], str, str | None, str | None, tuple[str, ...]]:
    return c[1], c[2], json.loads(c[3]) if c[3] else {}, c[4], c[5], c[6], tuple(c[7])


def offloads_between(db: Catalog, start: float, end: float) -> list[dict[str, Any]]:
    cur = db.run("SELECT * FROM offloads WHERE started_at >= ? AND started_at < ? ORDER BY started_at, id",
                          (start, end))
    names = column_names(cur)
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def drive_totals(db: Catalog, offload_ids: list[int]) -> list[dict[str, Any]]:
    """Per physical disk, over these offloads: cards, verified copies and their bytes, failed copies."""
    if not offload_ids:
        return []
    marks = ", ".join("?" for _ in offload_ids)
    verified = count_where("c.state = 'verified'", "copies_verified")
    failed = count_where("c.state = 'failed'", "copies_failed")
    cur = db.run(
        f"SELECT v.disk, COUNT(DISTINCT o.card_id) AS cards, {verified},"
        " COALESCE(CAST(SUM(CASE WHEN c.state = 'verified' THEN f.size END) AS BIGINT), 0) AS bytes_verified,"
        f" {failed}"
        " FROM destinations d JOIN offloads o ON o.id = d.offload_id JOIN volumes v ON v.id = d.volume_id"
        " LEFT JOIN copies c ON c.destination_id = d.id LEFT JOIN files f ON f.id = c.file_id"
        f" WHERE d.offload_id IN ({marks}) GROUP BY v.disk ORDER BY MIN(d.idx), v.disk", offload_ids)
    names = column_names(cur)
    totals = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    # each disk's labels and mount points, as the volumes' rows name them (first seen first): joined here,
    # the one aggregate SQLite (group_concat) and PostgreSQL (string_agg) spell differently
    named: dict[str, tuple[list[str], list[str]]] = {}
    for disk, label, mount, _ in db.run(
            "SELECT DISTINCT v.disk, v.label, v.last_mount_point, v.id FROM destinations d JOIN volumes v"
            f" ON v.id = d.volume_id WHERE d.offload_id IN ({marks}) ORDER BY v.id", offload_ids).fetchall():
        labels, mounts = named.setdefault(disk, ([], []))
        if label is not None and label not in labels:
            labels.append(label)
        if mount is not None and mount not in mounts:
            mounts.append(mount)
    out = []
    for t in totals:
        labels, mounts = named.get(t["disk"], ([], []))
        out.append({"disk": t["disk"], "labels": ",".join(labels) or None, "mounts": ",".join(mounts) or None,
                    **{k: v for k, v in t.items() if k != "disk"}})
    return out


def latest_offload_of_card(db: Catalog, card_id: int) -> int | None:
    """The card's latest offload that read the card (a stage-2 offload lists only what its stage-1 copy held)."""
    row = db.run("SELECT id FROM offloads WHERE card_id = ? AND COALESCE(stage, 1) = 1"
                          " ORDER BY started_at DESC, id DESC LIMIT 1", (card_id,)).fetchone()
    return int(row[0]) if row else None


def card_ids(db: Catalog) -> list[int]:
    """Every card with an offload, in order of its first offload."""
    return [r[0] for r in db.run(
        "SELECT card_id FROM offloads WHERE card_id IS NOT NULL GROUP BY card_id ORDER BY MIN(started_at)")]


def disk_membership(db: Catalog, card_id: int) -> Iterator[tuple[str, int, str | None]]:
    """(rel_path, size, disk) for each file of the card's latest listing and each physical disk that
    holds a verified copy of it (from any offload of the card's lineage; matched by path, size and time,
    as the store's redundancy does); disk None for a file with no verified copy."""
    latest = latest_offload_of_card(db, card_id)
    lineage = lineage_offloads(db, card_id)
    yield from db.run(
        f"WITH lineage(id) AS (VALUES {', '.join('(?)' for _ in lineage) or '(NULL)'}),"
        " held AS (SELECT DISTINCT g.rel_path, g.size, g.mtime_ns, v.disk FROM files g"
        "   JOIN copies c ON c.file_id = g.id AND c.state = 'verified'"
        "   JOIN destinations d ON d.id = c.destination_id JOIN volumes v ON v.id = d.volume_id"
        "   WHERE g.offload_id IN (SELECT id FROM lineage))"
        " SELECT l.rel_path, l.size, h.disk FROM files l LEFT JOIN held h ON h.rel_path = l.rel_path"
        "   AND h.size = l.size AND h.mtime_ns = l.mtime_ns WHERE l.offload_id = ? ORDER BY l.id",
        (*lineage, latest if latest is not None else -1))


def disks(db: Catalog, disk_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Labels, identities and last mount points of the volumes on each physical disk."""
    out: dict[str, dict[str, Any]] = {}
    for disk in disk_ids:
        cur = db.run(f"SELECT {', '.join(_VOLUME)} FROM volumes WHERE disk = ? ORDER BY last_seen DESC",
                              (disk,))
        names = column_names(cur)
        out[disk] = {"volumes": [dict(zip(names, r, strict=True)) for r in cur.fetchall()]}
    return out


def projects(db: Catalog, offload_ids: list[int]) -> set[str]:
    if not offload_ids:
        return set()
    return {r[0] for r in db.run(
        f"SELECT DISTINCT project FROM offloads WHERE project IS NOT NULL AND project != '' AND id IN "
        f"({', '.join('?' for _ in offload_ids)})", offload_ids)}


def stage2_offloads(db: Catalog, offload_id: int) -> list[dict[str, Any]]:
    """The stage-2 offloads made from a stage-1 offload's copies, any state, oldest first, with their file
    counts (verified, failed, failed because the stage-1 copy no longer matched the card) and the stage-1 roll
    folder each reads (its `source`)."""
    counts = ", ".join(count_where(cond, name) for cond, name in (
        ("f.status = 'verified'", "verified"), ("f.status = 'failed'", "failed"),
        ("f.status = 'failed' AND f.code = 'stage_source_mismatch'", "mismatched")))
    cur = db.run(
        f"SELECT o.id, o.state, o.plan, o.source, COUNT(f.id) AS files, {counts}"
        " FROM offloads o LEFT JOIN files f ON f.offload_id = o.id WHERE o.stage = 2 AND o.cascade_of = ?"
        " GROUP BY o.id ORDER BY o.id", (offload_id,))
    names = column_names(cur)
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def destination(db: Catalog, destination_id: int | None) -> dict[str, Any] | None:
    """One destination row (a stage-2 offload's `made_from`: the stage-1 copy it read)."""
    if destination_id is None:
        return None
    return _row(db, "SELECT id, offload_id, idx, path, mount_point, volume_id FROM destinations WHERE id = ?",
                (destination_id,))


def copy_sources(db: Catalog, card_id: int) -> Iterator[tuple[str, int, int, int | None, str | None, int | None]]:
    """What each physical disk's verified copies of a card were made from: (disk, offload id, stage,
    stage-1 offload or None, the stage-1 roll folder read or None, that folder's volume id or None), one row
    per destination of the card's lineage holding at least one verified copy."""
    lineage = lineage_offloads(db, card_id)
    if not lineage:
        return
    yield from db.run(
        "SELECT v.disk, o.id, COALESCE(o.stage, 1), o.cascade_of, m.path, m.volume_id FROM destinations d"
        " JOIN offloads o ON o.id = d.offload_id JOIN volumes v ON v.id = d.volume_id"
        " LEFT JOIN destinations m ON m.id = o.made_from"
        f" WHERE o.id IN ({', '.join('?' for _ in lineage)}) AND EXISTS (SELECT 1 FROM copies c"
        "   WHERE c.destination_id = d.id AND c.state = 'verified') ORDER BY o.id, d.idx", lineage)


def stage2_not_ended(db: Catalog, offload_ids: list[int]) -> list[tuple[int, str]]:
    """(id, state) of the stage-2 offloads among these that have not ended (queued, running, stopped)."""
    if not offload_ids:
        return []
    return [(r[0], r[1]) for r in db.run(
        f"SELECT id, state FROM offloads WHERE id IN ({', '.join('?' for _ in offload_ids)}) AND stage = 2"
        " AND state IN ('queued', 'running', 'interrupted', 'cancelled') ORDER BY id", offload_ids)]
