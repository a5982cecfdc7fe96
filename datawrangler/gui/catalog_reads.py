"""Catalog reads for the History tab, one page at a time (lazy loading), and the clip list of a card or an
offload; run on worker threads.

`store.history.offloads` answers the CLI's `history` (with a limit but no offset, and a query per row for
the destinations); a window that scrolls through a season of offloads needs pages and one query per
page, so these read the same tables here. They belong in store.history once both agree.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from datawrangler.core.clips import ClipState
from datawrangler.gui.jobs import open_db
from datawrangler.store import history
from datawrangler.store.cards import lineage_offloads
from datawrangler.store.clips import ClipRow, offload_clips, thumbnails_root
from datawrangler.store.history import Filters, where_clause
from datawrangler.store.liveness import mark_interrupted

PAGE = 200


@dataclass(frozen=True)
class HistoryQuery:
    text: str = ""  # any of reel, project, source, camera, label
    since: str = ""  # YYYY-MM-DD
    until: str = ""
    project: str = ""
    reel: str = ""
    camera: str = ""
    volume: str = ""
    state: str = ""


@dataclass(frozen=True)
class HistoryRow:
    id: int
    started_at: float
    ended_at: float | None
    state: str
    project: str
    reel: str
    camera: str
    source: str
    files_total: int
    files_verified: int
    files_failed: int
    bytes_total: int
    destinations: str  # "label: state; label: state"
    card_id: int | None
    message: str
    stage: int = 1  # the cascading copy: 2 for a copy made from a verified stage-1 copy
    cascade_of: int | None = None  # stage 2: the stage-1 offload it copies from
    released: bool = False  # stage 1: it ended verified and released the card before stage 2


def _where(q: HistoryQuery) -> tuple[str, list]:
    return where_clause(Filters(since=q.since or None, until=q.until or None, project=q.project or None,
                                reel=q.reel or None, volume=q.volume or None, state=q.state or None,
                                camera=q.camera or None, text=q.text or None))


def history_page(catalog: str | os.PathLike[str] | None, q: HistoryQuery, offset: int = 0,
                 limit: int = PAGE) -> list[HistoryRow]:
    """Newest first. Raises ValueError for a date that is not one."""
    db = open_db(catalog)
    try:
        if offset == 0:
            mark_interrupted(db)
        where, params = _where(q)
        sql = ("SELECT o.id, o.started_at, o.ended_at, o.state, COALESCE(o.project, ''), COALESCE(o.reel, ''),"
               " COALESCE(o.camera, ''), o.source, COALESCE(o.files_total, 0), COALESCE(o.files_verified, 0),"
               " COALESCE(o.files_failed, 0), COALESCE(o.bytes_total, 0),"
               " (SELECT group_concat(COALESCE(v.label, d.path) || ': ' || COALESCE(d.state, '?'), '; ')"
               "  FROM destinations d LEFT JOIN volumes v ON v.id = d.volume_id WHERE d.offload_id = o.id),"
               " o.card_id, COALESCE(o.message, ''), COALESCE(o.stage, 1), o.cascade_of, o.released_at IS NOT NULL"
               f" FROM offloads o{where} ORDER BY o.started_at DESC, o.id DESC LIMIT ? OFFSET ?")
        return [HistoryRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12] or "",
                           r[13], r[14], r[15], r[16], bool(r[17]))
                for r in db.conn.execute(sql, (*params, limit, offset))]
    finally:
        db.close()


@dataclass(frozen=True)
class FileRow:
    id: int
    rel_path: str
    size: int
    status: str
    copies: str  # "verified 2/2" or the failed states
    message: str


def files_page(catalog: str | os.PathLike[str] | None, offload_id: int, offset: int = 0,
               limit: int = PAGE) -> list[FileRow]:
    db = open_db(catalog)
    try:
        rows = db.conn.execute(
            "SELECT f.id, f.rel_path, f.size, f.status, COALESCE(f.message, ''),"
            " SUM(c.state = 'verified'), COUNT(c.id)"
            " FROM files f LEFT JOIN copies c ON c.file_id = f.id WHERE f.offload_id = ?"
            " GROUP BY f.id ORDER BY f.rel_path LIMIT ? OFFSET ?", (offload_id, limit, offset)).fetchall()
        return [FileRow(r[0], r[1], r[2], r[3], f"{r[5] or 0}/{r[6]} verified" if r[6] else "–", r[4]) for r in rows]
    finally:
        db.close()


@dataclass(frozen=True)
class CheckRow:
    destination: str
    at: float
    method: str
    result: str
    cache_bypassed: bool | None
    message: str


def copy_history(catalog: str | os.PathLike[str] | None, file_id: int) -> list[CheckRow]:
    """Every verification of every copy of one file: the offload's read-back, then later re-verifies."""
    db = open_db(catalog)
    try:
        rows = db.conn.execute(
            "SELECT d.path, v.at, v.method, v.result, v.cache_bypassed, COALESCE(v.message, '')"
            " FROM verifications v JOIN copies c ON c.id = v.copy_id JOIN destinations d ON d.id = c.destination_id"
            " WHERE c.file_id = ? ORDER BY d.idx, v.at", (file_id,)).fetchall()
        return [CheckRow(r[0], r[1], r[2], r[3], None if r[4] is None else bool(r[4]), r[5]) for r in rows]
    finally:
        db.close()


def resumable(catalog: str | os.PathLike[str] | None, days: float = 7.0) -> list[HistoryRow]:
    """Offloads that stopped before the end (a crash, a quit, a cancel) in the last days: the queue offers
    to resume them after a restart."""
    import time

    db = open_db(catalog)
    try:
        mark_interrupted(db)
    finally:
        db.close()
    since = dt.datetime.fromtimestamp(time.time() - days * 86400).strftime("%Y-%m-%dT%H:%M")
    out = []
    for state in ("interrupted", "cancelled"):
        out += history_page(catalog, HistoryQuery(since=since, state=state), 0, 50)
    return sorted(out, key=lambda r: r.started_at)


@dataclass(frozen=True)
class ClipList:
    """The clips the window lists for a card or an offload, where their thumbnails are, and which offloads
    they come from (the newest last: 'datawrangler clips OFFLOAD --read' names it when none were read)."""

    clips: tuple[ClipRow, ...]
    thumbnails_root: Path | None
    offloads: tuple[int, ...]
    label: str = ""  # the offload's reel (or roll) when one offload was asked for


def latest_reads(rows: list[ClipRow]) -> list[ClipRow]:
    """One row per clip of a card offloaded more than once (again, or incrementally): the latest read, in
    catalog order, unless that one could not read the clip (no verified copy) and an earlier one could."""
    chosen: dict[tuple[str, str], ClipRow] = {}
    for r in rows:  # oldest offload first
        key = (r.name, r.kind.value)
        before = chosen.get(key)
        if before is None or r.state is not ClipState.UNAVAILABLE or before.state is ClipState.UNAVAILABLE:
            chosen[key] = r
    keep = {id(r) for r in chosen.values()}
    return [r for r in rows if id(r) in keep]


def card_clip_list(catalog: str | os.PathLike[str] | None, card_id: int | None,
                   offload_id: int | None = None) -> ClipList:
    """The clips of every offload of a card's lineage (a card that grew, offloaded again). A card the window
    knows only by the offload it just made (a new card: it had no id when it was inspected) is found through
    that offload."""
    db = open_db(catalog)
    try:
        if card_id is None and offload_id is not None:
            row = history.offload(db, offload_id)
            card_id = row["card_id"] if row else None
        ids = lineage_offloads(db, card_id) if card_id is not None else []
        if not ids and offload_id is not None:
            ids = [offload_id]
        rows = latest_reads([c for oid in ids for c in offload_clips(db, oid)])
        return ClipList(tuple(rows), thumbnails_root(db), tuple(ids))
    finally:
        db.close()


def offload_clip_list(catalog: str | os.PathLike[str] | None, offload_id: int) -> ClipList:
    """The clips of one offload (History), with its reel for the panel's title."""
    db = open_db(catalog)
    try:
        row = history.offload(db, offload_id)
        label = (row.get("reel") or "") if row else ""
        return ClipList(tuple(offload_clips(db, offload_id)), thumbnails_root(db), (offload_id,), label)
    finally:
        db.close()
