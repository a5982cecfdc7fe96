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

from sqlite_utils import Database

from datawrangler.store.cards import lineage_offloads

_PER_FILE = """
SELECT l.rel_path, l.size,
  COUNT(DISTINCT CASE WHEN c.state = 'verified'{not_card} THEN v.disk END),
  COALESCE(SUM(c.state = 'verified'), 0),
  COALESCE(SUM(c.state IN ('failed', 'stale', 'missing', 'changed', 'unreadable')), 0),
  COALESCE(SUM(c.state = 'copied'), 0),
  COUNT(g.id) > 0,
  {on_card},
  l.mtime_ns{held}
FROM {listing} l
LEFT JOIN files g INDEXED BY idx_files_offload_id_rel_path ON g.offload_id IN (SELECT id FROM temp.lineage_offloads)
  AND g.rel_path = l.rel_path AND g.size = l.size AND g.mtime_ns = l.mtime_ns
LEFT JOIN copies c ON c.file_id = g.id
LEFT JOIN destinations d ON d.id = c.destination_id
LEFT JOIN volumes v ON v.id = d.volume_id{offloads}
GROUP BY l.rowid
"""

# the counted copies of one file as one text (drive, media kind, site; each hex-encoded so no separator can
# clash with a site's name): files with the same text share one judgement (store.rule_judge)
_HELD = (",\n  group_concat(DISTINCT CASE WHEN c.state = 'verified'{not_card} THEN hex(v.disk) || '.' ||"
         " hex(COALESCE(v.media_kind, '')) || '.' || hex(COALESCE(o.site, '')) END)")


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


def set_lineage(db: Database, card_id: int) -> None:
    """temp.lineage_offloads: the offloads whose copies count for this card (read by every query here)."""
    with db.atomic():
        db.conn.execute("DROP TABLE IF EXISTS temp.lineage_offloads")
        db.conn.execute("CREATE TEMP TABLE lineage_offloads (id INTEGER PRIMARY KEY)")
        db.conn.executemany("INSERT INTO temp.lineage_offloads (id) VALUES (?)",
                            [(oid,) for oid in lineage_offloads(db, card_id)])


def _same_place(source: str, mount_point: str) -> bool:
    def norm(path: str) -> str:
        return os.path.normcase(os.path.normpath(path))
    return norm(source) == norm(mount_point) or norm(os.path.realpath(source)) == norm(mount_point)


def card_disks(db: Database, card_id: int) -> list[str]:
    """The physical disks that formatting this card erases: the disk of the card's volume, for each offload
    of its lineage whose source was that volume's mount point (the whole card). Empty when every offload
    read a folder (see store.redundancy's docstring)."""
    ids = lineage_offloads(db, card_id)
    rows = db.conn.execute(
        "SELECT DISTINCT o.source, v.last_mount_point, v.disk FROM offloads o JOIN cards c ON c.id = o.card_id"
        f" JOIN volumes v ON v.id = c.volume_id WHERE o.id IN ({', '.join('?' for _ in ids)})", ids).fetchall()
    return sorted({disk for source, mount, disk in rows if source and mount and _same_place(source, mount)})


def prepare(db: Database, card_id: int, listing: Iterable[tuple[str, int, int]] | None) -> str:
    """Sets the lineage and the listing to walk; returns the listing's SQL source. The listing is the card's
    latest offload's (a stage-2 copy lists only what its stage-1 copy held, so only stage-1 offloads), or
    `listing` as scanned from the card now (inserted row by row: never held as a whole)."""
    set_lineage(db, card_id)
    if listing is None:
        latest = db.conn.execute("SELECT o.id FROM offloads o WHERE o.card_id = ? AND COALESCE(o.stage, 1) = 1"
                                 " ORDER BY o.started_at DESC LIMIT 1", (card_id,)).fetchone()
        latest_id = int(latest[0]) if latest else -1
        return ("(SELECT rowid, rel_path, size, mtime_ns FROM files INDEXED BY idx_files_offload_id_rel_path"
                f" WHERE offload_id = {latest_id})")
    with db.atomic():
        db.conn.execute("DROP TABLE IF EXISTS temp.listing")
        db.conn.execute("CREATE TEMP TABLE listing (rel_path TEXT, size INTEGER, mtime_ns INTEGER)")
        db.conn.executemany("INSERT INTO temp.listing VALUES (?, ?, ?)", listing)
    return "temp.listing"


def walk(db: Database, source: str, own: Sequence[str],
         held: bool = False) -> Iterator[tuple[FileRedundancy, str]]:
    """Each file of the prepared listing (`prepare`), in listing order, one at a time off the cursor. With
    `held`, also the text of its counted copies (see _HELD); else ''."""
    marks = ", ".join("?" for _ in own)
    not_card = f" AND v.disk NOT IN ({marks})" if own else ""
    sql = _PER_FILE.format(
        listing=source, not_card=not_card,
        on_card=f"COALESCE(SUM(c.state = 'verified' AND v.disk IN ({marks})), 0)" if own else "0",
        held=_HELD.format(not_card=not_card) if held else "",
        offloads="\nLEFT JOIN offloads o ON o.id = d.offload_id" if held else "")
    # the disk names are parameters, in the order their marks appear in the query
    params = [*own, *own, *own] if own and held else [*own, *own] if own else []
    for r in db.conn.execute(sql, params):
        yield FileRedundancy(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8]), (r[9] or "") if held else ""


def iter_files(db: Database, card_id: int, listing: Iterable[tuple[str, int, int]] | None = None,
               own: Sequence[str] | None = None) -> Iterator[FileRedundancy]:
    """Each file of the card (its latest offload's listing, or `listing` as scanned from the card now), one
    at a time. Verified copies on the disks `own` (default: card_disks) are counted apart, in on_card_disk.
    The catalog connection must not run another query that resets temp.lineage_offloads meanwhile."""
    own = card_disks(db, card_id) if own is None else list(own)
    source = prepare(db, card_id, listing)
    for f, _ in walk(db, source, own):
        yield f
