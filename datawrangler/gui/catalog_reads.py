"""Catalog reads for the History tab, one page at a time (lazy loading), and the clip list of a card or an
offload; run on worker threads. Each opens the catalog it needs; store answers the reads (store.reads_browse,
store.clips), this module turns the window's filters and rows into what store takes and gives.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from datawrangler.core.clips import ClipState
from datawrangler.gui.jobs import open_db
from datawrangler.store import history, reads_browse
from datawrangler.store.cards import lineage_offloads
from datawrangler.store.clips import ClipRow, offload_clips, thumbnails_root
from datawrangler.store.history import Filters
from datawrangler.store.liveness import mark_interrupted
from datawrangler.store.reads_browse import CheckRow, HistoryRow

__all__ = ["PAGE", "CheckRow", "ClipList", "FileRow", "HistoryQuery", "HistoryRow", "card_clip_list", "copy_history",
           "files_page", "history_page", "latest_reads", "offload_clip_list", "resumable"]

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


def _filters(q: HistoryQuery) -> Filters:
    return Filters(since=q.since or None, until=q.until or None, project=q.project or None, reel=q.reel or None,
                   volume=q.volume or None, state=q.state or None, camera=q.camera or None, text=q.text or None)


def history_page(catalog: str | os.PathLike[str] | None, q: HistoryQuery, offset: int = 0,
                 limit: int = PAGE) -> list[HistoryRow]:
    """Newest first. Raises ValueError for a date that is not one."""
    db = open_db(catalog)
    try:
        if offset == 0:
            mark_interrupted(db)
        return reads_browse.history_page(db, _filters(q), offset, limit)
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
        rows = reads_browse.files_page(db, offload_id, offset, limit)
    finally:
        db.close()
    return [FileRow(r.id, r.rel_path, r.size, r.status, f"{r.verified}/{r.copies} verified" if r.copies else "–",
                    r.message) for r in rows]


def copy_history(catalog: str | os.PathLike[str] | None, file_id: int) -> list[CheckRow]:
    """Every verification of every copy of one file: the offload's read-back, then later re-verifies."""
    db = open_db(catalog)
    try:
        return reads_browse.copy_checks(db, file_id)
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
