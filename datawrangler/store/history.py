"""Searching the catalog: offloads by date, project, reel, volume and state; a card by path, reel or id."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from datawrangler.store.cards import lineage_offloads
from datawrangler.store.catalog import LIKE, Catalog, contains, starts_with

_COLUMNS = ("id", "uuid", "card_id", "project", "reel", "camera", "source", "operator", "host", "state",
            "message", "started_at", "ended_at", "files_total", "files_verified", "files_failed", "bytes_total",
            "verify_mode", "algorithms", "resumes", "incremental_of")


def _day(value: str, end: bool = False) -> float:
    try:
        d = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date: write it as YYYY-MM-DD (or YYYY-MM-DDTHH:MM).") from None
    if end and len(value) <= 10:
        d += dt.timedelta(days=1)
    return d.timestamp()


@dataclass(frozen=True)
class Filters:
    since: str | None = None
    until: str | None = None
    project: str | None = None
    reel: str | None = None
    volume: str | None = None  # a label (or part of one), filesystem UUID, or part of a destination's path
    state: str | None = None
    camera: str | None = None
    text: str | None = None  # any of reel, project, source, camera, state
    limit: int = 200


def where_clause(f: Filters) -> tuple[str, list[object]]:
    """The SQL filter over `offloads o` for these filters: (" WHERE ...", params), or ("", []).
    Raises ValueError, saying how to write it, for a date that is not one."""
    where: list[str] = []
    params: list[object] = []
    if f.since:
        where.append("o.started_at >= ?")
        params.append(_day(f.since))
    if f.until:
        where.append("o.started_at < ?")
        params.append(_day(f.until, end=True))
    for col, val in (("o.project", f.project), ("o.camera", f.camera)):
        if val:
            where.append(f"lower({col}) {LIKE}")  # case-insensitive on both, as SQLite's LIKE
            params.append(contains(val))
    if f.reel:
        where.append(f"lower(o.reel) {LIKE}")
        params.append(starts_with(f.reel))
    if f.state:
        where.append("o.state = ?")
        params.append(f.state)
    if f.volume:
        where.append("o.id IN (SELECT d.offload_id FROM destinations d LEFT JOIN volumes v ON v.id = d.volume_id"
                     f" WHERE lower(v.label) {LIKE} OR v.fs_uuid = ? OR v.key = ?"
                     f" OR lower(d.path) {LIKE})")
        params += [contains(f.volume), f.volume, f.volume, contains(f.volume.rstrip('/'))]
    if f.text:
        where.append(f"(lower(o.reel) {LIKE} OR lower(o.project) {LIKE} OR lower(o.source) {LIKE}"
                     f" OR lower(o.camera) {LIKE} OR lower(o.state) {LIKE})")
        params += [contains(f.text)] * 5
    return (" WHERE " + " AND ".join(where) if where else ""), params


def offloads(db: Catalog, f: Filters) -> list[dict]:
    where, params = where_clause(f)
    sql = (f"SELECT {', '.join('o.' + c for c in _COLUMNS)} FROM offloads o{where}"
           " ORDER BY o.started_at DESC, o.id DESC LIMIT ?")  # where_clause's marks are positional (reads_browse)
    rows = [dict(zip(_COLUMNS, r, strict=True)) for r in db.run(sql, (*params, f.limit))]
    for r in rows:
        r["destinations"] = destinations(db, r["id"])
    return rows


def destinations(db: Catalog, offload_id: int) -> list[dict]:
    return [{"path": p, "state": s, "volume": label or key, "disk": disk} for p, s, label, key, disk in db.run(
        "SELECT d.path, d.state, v.label, v.key, v.disk FROM destinations d LEFT JOIN volumes v ON v.id = d.volume_id"
        " WHERE d.offload_id = :id ORDER BY d.idx", {"id": offload_id})]


def offload(db: Catalog, offload_id: int) -> dict | None:
    row = db.row(f"SELECT {', '.join(_COLUMNS)} FROM offloads WHERE id = :id", {"id": offload_id})
    if row is None:
        return None
    out = dict(zip(_COLUMNS, row, strict=True))
    out["destinations"] = destinations(db, offload_id)
    return out


def card(db: Catalog, card_id: int) -> dict | None:
    row = db.row("SELECT id, fingerprint, reel, label, lineage, file_count, total_bytes, first_seen "
                 "FROM cards WHERE id = :id", {"id": card_id})
    if row is None:
        return None
    keys = ("id", "fingerprint", "reel", "label", "lineage", "file_count", "total_bytes", "first_seen")
    out = dict(zip(keys, row, strict=True))
    out["offloads"] = [offload(db, oid) for oid in lineage_offloads(db, card_id)]
    return out


def find_card(db: Catalog, text: str) -> int | None:
    """A card by id ('card:12' or '12'), fingerprint prefix, or reel (the latest card of that reel)."""
    t = text.strip()
    if t.lower().startswith("card:"):
        t = t[5:]
    if t.isdigit():
        row = db.row("SELECT id FROM cards WHERE id = :id", {"id": int(t)})
        if row:
            return int(row[0])
    if len(t) >= 8 and all(c in "0123456789abcdef" for c in t.lower()):
        row = db.row("SELECT id FROM cards WHERE fingerprint LIKE :prefix ORDER BY id DESC LIMIT 1",
                     {"prefix": t.lower() + "%"})
        if row:
            return int(row[0])
    row = db.row("SELECT c.id FROM cards c JOIN offloads o ON o.card_id = c.id WHERE c.reel = :reel "
                 "ORDER BY o.started_at DESC, o.id DESC LIMIT 1", {"reel": t})
    return int(row[0]) if row else None
