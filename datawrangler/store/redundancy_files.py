"""Per file of a card: its verified copies on distinct physical disks, streamed from one catalog query.

A card's files are matched with the copies of every offload of its lineage (the card, and the card it grew
from), by path, size and modification time; copies on the card's own disks (store.redundancy.card_disks) are
counted apart. `iter_files` yields one row at a time straight off the cursor, so a caller that only counts
(store.redundancy.card_redundancy, at the end of every offload) holds no per-file list: a 1,000,000-file card
costs the same memory as a 10-file one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from datawrangler.store.cards import lineage_offloads
from datawrangler.store.catalog import Catalog, Params, in_list

_PER_FILE = """
SELECT l.rel_path, l.size,
  COUNT(DISTINCT CASE WHEN c.state = 'verified'{not_card} THEN v.disk END),
  COALESCE(CAST(SUM(CASE WHEN c.state = 'verified' THEN 1 ELSE 0 END) AS BIGINT), 0),
  COALESCE(CAST(SUM(CASE WHEN c.state IN ('failed', 'stale', 'missing', 'changed', 'unreadable') THEN 1 ELSE 0 END)
    AS BIGINT), 0),
  COALESCE(CAST(SUM(CASE WHEN c.state = 'copied' THEN 1 ELSE 0 END) AS BIGINT), 0),
  CASE WHEN COUNT(g.id) > 0 THEN 1 ELSE 0 END,
  {on_card},
  l.mtime_ns{held}
FROM {listing} l
LEFT JOIN files g{hint} ON g.offload_id IN (SELECT id FROM lineage_offloads)
  AND g.rel_path = l.rel_path AND g.size = l.size AND g.mtime_ns = l.mtime_ns
LEFT JOIN copies c ON c.file_id = g.id
LEFT JOIN destinations d ON d.id = c.destination_id
LEFT JOIN volumes v ON v.id = d.volume_id{offloads}
GROUP BY l.k, l.rel_path, l.size, l.mtime_ns
ORDER BY l.k
"""

# the counted copies of one file as one text (drive, media kind, site; each hex-encoded so no separator can
# clash with a site's name): files with the same text share one judgement (store.rule_judge)
_COPY = ("CASE WHEN c.state = 'verified'{not_card} THEN {disk} || '.' || {media} || '.' || {site} END")

# Joining texts in an aggregate and the hex of a text have no spelling that SQLite and PostgreSQL share
# (SQLite has no string_agg, PostgreSQL no group_concat and no hex() of a text), so these two are spelled per
# dialect; every other part of the statements here is one text for both. PostgreSQL orders the joined items,
# so that files with the same copies give the same text (one judgement each, store.rule_judge).
_AGG = {"sqlite": "group_concat(DISTINCT {x})", "postgresql": "string_agg(DISTINCT {x}, ',' ORDER BY {x})"}
_HEX = {"sqlite": "hex({x})", "postgresql": "encode(convert_to({x}, 'UTF8'), 'hex')"}

# SQLite plans without statistics (the catalog is never ANALYZEd) and chose a full scan of files, or an
# automatic index, on a 1,000,000-file catalog: its query is pinned to the (offload, path) index. PostgreSQL
# has no index hints and plans from the statistics its autovacuum keeps.
_HINT = {"sqlite": " INDEXED BY idx_files_offload_id_rel_path", "postgresql": ""}


def distinct_texts(db: Catalog, expr: str) -> str:
    """SQL for the distinct values of a text expression joined by commas, in a GROUP BY query."""
    return _AGG[db.dialect].format(x=expr)


def _hex(db: Catalog, expr: str) -> str:
    return _HEX[db.dialect].format(x=expr)


def stream(db: Catalog, sql: str, params: Params) -> Iterable[Any]:
    """The rows of a query over every file of a card, one at a time. SQLite's cursor steps through the result
    as it is read; on the server a plain `run` fetches the whole result into this process first, so a handle
    that offers `run_stream` (a server-side cursor) is asked through it."""
    run_stream = getattr(db, "run_stream", None)
    if callable(run_stream):
        rows: Iterable[Any] = run_stream(sql, params)
        return rows
    return db.run(sql, params)


@dataclass(frozen=True)
class FileRedundancy:
    rel_path: str
    size: int
    disks: int  # distinct physical disks holding a verified copy
    verified: int  # verified copies (several may share a disk)
    failed: int
    unverified: int  # copied, sizes checked only
    known: bool  # the catalog lists this file for the card
    on_card_disk: int = 0  # verified copies on the card's own disk: not counted in `disks`
    mtime_ns: int = 0


def set_lineage(db: Catalog, card_id: int) -> None:
    """The temporary table lineage_offloads: the offloads whose copies count for this card (read by every query
    here). A temporary table belongs to this connection alone, on either backend: two stations asking about
    two cards at once on one server never see each other's."""
    with db.atomic():
        db.run("DROP TABLE IF EXISTS lineage_offloads")
        db.run("CREATE TEMP TABLE lineage_offloads (id INTEGER PRIMARY KEY)")
        db.run_many("INSERT INTO lineage_offloads (id) VALUES (:id)",
                    [{"id": oid} for oid in lineage_offloads(db, card_id)])
        _analyze(db, "lineage_offloads")


def _analyze(db: Catalog, table: str) -> None:
    """PostgreSQL: statistics for a temporary table just filled. Autovacuum never reaches temporary tables, and
    without statistics the planner guesses thousands of rows and scans every file of the catalog (2 s for a
    10,000-file card in a 1,000,000-file catalog, 90 ms with them). SQLite plans this query by its pinned
    index, and an ANALYZE there would only add a statement."""
    if db.is_server:
        db.run(f"ANALYZE {table}")


def _same_place(source: str, mount_point: str) -> bool:
    def norm(path: str) -> str:
        return os.path.normcase(os.path.normpath(path))
    return norm(source) == norm(mount_point) or norm(os.path.realpath(source)) == norm(mount_point)


def card_disks(db: Catalog, card_id: int) -> list[str]:
    """The physical disks that formatting this card erases: the disk of the card's volume, for each offload
    of its lineage whose source was that volume's mount point (the whole card). Empty when every offload
    read a folder (see store.redundancy's docstring)."""
    marks, params = in_list("ids", lineage_offloads(db, card_id))
    rows = db.run(
        "SELECT DISTINCT o.source, v.last_mount_point, v.disk FROM offloads o JOIN cards c ON c.id = o.card_id"
        f" JOIN volumes v ON v.id = c.volume_id WHERE o.id IN {marks}", params).fetchall()
    return sorted({disk for source, mount, disk in rows if source and mount and _same_place(source, mount)})


def prepare(db: Catalog, card_id: int, listing: Iterable[tuple[str, int, int]] | None) -> str:
    """Sets the lineage and the listing to walk; returns the listing's SQL source, whose `k` orders it. The
    listing is the card's latest offload's (a stage-2 copy lists only what its stage-1 copy held, so only
    stage-1 offloads), or `listing` as scanned from the card now (inserted in batches: never held whole)."""
    set_lineage(db, card_id)
    if listing is None:
        latest = db.row("SELECT o.id FROM offloads o WHERE o.card_id = :card AND COALESCE(o.stage, 1) = 1"
                        " ORDER BY o.started_at DESC, o.id DESC LIMIT 1", {"card": card_id})
        latest_id = int(latest[0]) if latest else -1
        return (f"(SELECT id AS k, rel_path, size, mtime_ns FROM files{_HINT[db.dialect]}"
                f" WHERE offload_id = {latest_id})")
    with db.atomic():
        db.run("DROP TABLE IF EXISTS listing")
        db.run("CREATE TEMP TABLE listing (k INTEGER PRIMARY KEY, rel_path TEXT, size BIGINT, mtime_ns BIGINT)")
        db.run_many("INSERT INTO listing (k, rel_path, size, mtime_ns) VALUES (:k, :rel_path, :size, :mtime_ns)",
                    ({"k": k, "rel_path": r, "size": s, "mtime_ns": m} for k, (r, s, m) in enumerate(listing)))
        _analyze(db, "listing")
    return "listing"


def walk(db: Catalog, source: str, own: Sequence[str],
         held: bool = False) -> Iterator[tuple[FileRedundancy, str]]:
    """Each file of the prepared listing (`prepare`), in listing order, one at a time off the cursor. With
    `held`, also the text of its counted copies (see _COPY); else ''."""
    marks, params = in_list("own", own)  # one set of named parameters, read wherever the disks are named
    not_card = f" AND v.disk NOT IN {marks}" if own else ""
    copy = _COPY.format(not_card=not_card, disk=_hex(db, "v.disk"), media=_hex(db, "COALESCE(v.media_kind, '')"),
                        site=_hex(db, "COALESCE(o.site, '')"))
    sql = _PER_FILE.format(
        listing=source, not_card=not_card, hint=_HINT[db.dialect],
        on_card=(f"COALESCE(CAST(SUM(CASE WHEN c.state = 'verified' AND v.disk IN {marks} THEN 1 ELSE 0 END)"
                 " AS BIGINT), 0)") if own else "0",
        held=f",\n  {distinct_texts(db, copy)}" if held else "",
        offloads="\nLEFT JOIN offloads o ON o.id = d.offload_id" if held else "")
    for r in stream(db, sql, params):
        yield FileRedundancy(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8]), (r[9] or "") if held else ""


def iter_files(db: Catalog, card_id: int, listing: Iterable[tuple[str, int, int]] | None = None,
               own: Sequence[str] | None = None) -> Iterator[FileRedundancy]:
    """Each file of the card (its latest offload's listing, or `listing` as scanned from the card now), one
    at a time. Verified copies on the disks `own` (default: card_disks) are counted apart, in on_card_disk.
    The catalog connection must not run another query that resets the lineage_offloads table meanwhile."""
    own = card_disks(db, card_id) if own is None else list(own)
    source = prepare(db, card_id, listing)
    for f, _ in walk(db, source, own):
        yield f
