"""The window's reads of the catalog for browsing it: History a page at a time (one query per page, however
many offloads a season holds), the files of an offload a page at a time, and each copy's verification
history.

`history.offloads` answers the CLI's `history` (a limit but no offset, and a query per row for the
destinations); a window that scrolls through thousands of offloads needs pages and one query each, so the
page reads the destinations in the same query. Both filter through `history.where_clause`.
"""

from __future__ import annotations

from dataclasses import dataclass

from datawrangler.store.catalog import Catalog
from datawrangler.store.history import Filters, where_clause


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


def history_page(db: Catalog, filters: Filters, offset: int = 0, limit: int = 200) -> list[HistoryRow]:
    """The offloads these filters select, newest first, `limit` from `offset` (`filters.limit` is not used:
    the page is). Raises ValueError, saying how to write it, for a date that is not one."""
    where, params = where_clause(filters)
    page = ("SELECT o.id, o.started_at, o.ended_at, o.state, COALESCE(o.project, '') AS project,"
            " COALESCE(o.reel, '') AS reel, COALESCE(o.camera, '') AS camera, o.source,"
            " COALESCE(o.files_total, 0) AS files_total, COALESCE(o.files_verified, 0) AS files_verified,"
            " COALESCE(o.files_failed, 0) AS files_failed, COALESCE(o.bytes_total, 0) AS bytes_total,"
            " o.card_id, COALESCE(o.message, '') AS message, COALESCE(o.stage, 1) AS stage, o.cascade_of,"
            " CASE WHEN o.released_at IS NOT NULL THEN 1 ELSE 0 END AS released"
            f" FROM offloads o{where} ORDER BY o.started_at DESC, o.id DESC LIMIT ? OFFSET ?")
    # the page's offloads, each with one row per destination ("label: state", joined below in plan order): one
    # query, and no string aggregate, which SQLite (group_concat) and PostgreSQL (string_agg) spell differently
    sql = (f"SELECT p.*, COALESCE(v.label, d.path), COALESCE(d.state, '?'), d.id FROM ({page}) p"
           " LEFT JOIN destinations d ON d.offload_id = p.id LEFT JOIN volumes v ON v.id = d.volume_id"
           " ORDER BY p.started_at DESC, p.id DESC, d.id")
    rows: dict[int, tuple] = {}
    said: dict[int, list[str]] = {}
    for r in db.run(sql, (*params, limit, offset)):
        rows.setdefault(r[0], tuple(r[:17]))
        if r[19] is not None:
            said.setdefault(r[0], []).append(f"{r[17]}: {r[18]}")
    return [HistoryRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
                       "; ".join(said.get(r[0], ())), r[12], r[13], r[14], r[15], bool(r[16]))
            for r in rows.values()]


@dataclass(frozen=True)
class FileCopies:
    """One file of an offload and how many of its copies exist and are verified."""

    id: int
    rel_path: str
    size: int
    status: str
    message: str
    verified: int
    copies: int


def files_page(db: Catalog, offload_id: int, offset: int = 0, limit: int = 200) -> list[FileCopies]:
    """The offload's files by path, `limit` from `offset`, with their copy counts (one query per page)."""
    rows = db.run(
        "SELECT f.id, f.rel_path, f.size, f.status, COALESCE(f.message, ''),"
        " CAST(SUM(CASE WHEN c.state = 'verified' THEN 1 ELSE 0 END) AS BIGINT), COUNT(c.id)"
        " FROM files f LEFT JOIN copies c ON c.file_id = f.id WHERE f.offload_id = ?"
        " GROUP BY f.id ORDER BY f.rel_path LIMIT ? OFFSET ?", (offload_id, limit, offset)).fetchall()
    return [FileCopies(r[0], r[1], r[2], r[3], r[4], r[5] or 0, r[6]) for r in rows]


@dataclass(frozen=True)
class CheckRow:
    destination: str
    at: float
    method: str
    result: str
    cache_bypassed: bool | None
    message: str


def copy_checks(db: Catalog, file_id: int) -> list[CheckRow]:
    """Every verification of every copy of one file, by destination then time: the offload's read-back, then
    later re-verifies."""
    rows = db.run(
        "SELECT d.path, v.at, v.method, v.result, v.cache_bypassed, COALESCE(v.message, '')"
        " FROM verifications v JOIN copies c ON c.id = v.copy_id JOIN destinations d ON d.id = c.destination_id"
        " WHERE c.file_id = ? ORDER BY d.idx, v.at", (file_id,)).fetchall()
    return [CheckRow(r[0], r[1], r[2], r[3], None if r[4] is None else bool(r[4]), r[5]) for r in rows]
