"""Cards in the catalog: recognise a card seen before, exactly (same fingerprint) or grown (it went back
into the camera and shot more: same reel, and most of what was offloaded is still there unchanged)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from datawrangler.core.scan import SourceFile
from datawrangler.store.catalog import Catalog


@dataclass(frozen=True)
class KnownCard:
    card_id: int
    lineage: int
    reel: str | None
    fingerprint: str
    exact: bool  # the same listing; False: a grown card (new or changed files)
    last_offload_id: int | None
    last_offload_at: float | None
    new_or_changed: int  # files of the current listing that no offload of this card's lineage holds


def lineage_offloads(db: Catalog, card_id: int) -> list[int]:
    """Every offload of the card's lineage (the card, and the card it grew from), oldest first. The one lineage
    query: resume, redundancy, history and the reports all ask it."""
    return [r[0] for r in db.run(
        "SELECT o.id FROM offloads o JOIN cards c ON c.id = o.card_id"
        " WHERE c.lineage = (SELECT lineage FROM cards WHERE id = ?) ORDER BY o.started_at, o.id", (card_id,))]


def _last_offload(db: Catalog, card_id: int) -> tuple[int | None, float | None]:
    """The lineage's last offload that read the card (a stage-2 copy of a cascade read a stage-1 copy)."""
    row = db.run(
        "SELECT o.id, o.started_at FROM offloads o JOIN cards c ON c.id = o.card_id WHERE c.lineage = (SELECT"
        " lineage FROM cards WHERE id = ?) AND COALESCE(o.stage, 1) = 1 ORDER BY o.started_at DESC, o.id DESC"
        " LIMIT 1", (card_id,)).fetchone()
    return (row[0], row[1]) if row else (None, None)


def _listing(db: Catalog, offload_id: int) -> set[int]:
    """The offload's listing as the hashes of its (rel_path, size, mtime_ns): a few dozen bytes a file where
    the triples took a few hundred. Two of 1,000,000 files meet by chance once in 10^7 such comparisons, and
    only the count of new files said to the DIT would be off by one: what is copied never depends on it."""
    return {hash((r[0], r[1], r[2])) for r in db.run(
        "SELECT rel_path, size, mtime_ns FROM files WHERE offload_id = ?", (offload_id,))}


def find_known(db: Catalog, fingerprint: str, reel: str | None, files: Sequence[SourceFile]) -> KnownCard | None:
    row = db.run("SELECT id, lineage, reel FROM cards WHERE fingerprint = ?", (fingerprint,)).fetchone()
    if row:
        oid, at = _last_offload(db, row[0])
        return KnownCard(row[0], row[1], row[2], fingerprint, True, oid, at, 0)
    if not reel:
        return None
    best: KnownCard | None = None
    for cid, lineage, fp in db.run(
            "SELECT id, lineage, fingerprint FROM cards WHERE reel = ? ORDER BY id DESC", (reel,)).fetchall():
        oid, at = _last_offload(db, cid)
        if oid is None:
            continue
        # the card's files are streamed against the catalog's listings, never held as a set of their own
        before = _listing(db, oid)
        kept = sum(1 for f in files if hash((f.rel_path, f.size, f.mtime_ns)) in before)
        if before and kept * 2 >= len(before):
            known = set()
            for o in lineage_offloads(db, cid):
                known |= _listing(db, o)
            new = sum(1 for f in files if hash((f.rel_path, f.size, f.mtime_ns)) not in known)
            cand = KnownCard(cid, lineage, reel, fp, False, oid, at, new)
            if best is None or (cand.last_offload_at or 0) > (best.last_offload_at or 0):
                best = cand
    return best


def record_card(db: Catalog, fingerprint: str, *, reel: str | None, label: str | None, vendor: str | None,
                file_count: int, total_bytes: int, volume_id: int | None, lineage: int | None) -> int:
    """The card's id (inserted if new), inside the caller's transaction. A card seen before gets the vendor
    if the catalog had none for it.

    One upsert on the global identity (cards.fingerprint is unique): two stations recording the same card at
    once on a shared server get one row. A new card without a lineage is its own lineage (its id, known only
    once inserted: one more statement)."""
    row = db.row(
        "INSERT INTO cards (fingerprint, vendor, reel, label, file_count, total_bytes, volume_id, first_seen, "
        "lineage) VALUES (:fingerprint, :vendor, :reel, :label, :file_count, :total_bytes, :volume_id, :now, "
        ":lineage) ON CONFLICT (fingerprint) DO UPDATE SET vendor = COALESCE(cards.vendor, excluded.vendor) "
        "RETURNING id, lineage",
        {"fingerprint": fingerprint, "vendor": vendor, "reel": reel, "label": label, "file_count": file_count,
         "total_bytes": total_bytes, "volume_id": volume_id, "now": time.time(), "lineage": lineage or None})
    assert row is not None  # an upsert with RETURNING always gives its row
    cid = int(row[0])
    if row[1] is None:
        db.run("UPDATE cards SET lineage = :id WHERE id = :id AND lineage IS NULL", {"id": cid})
    return cid


def fill_vendor(db: Catalog, card_id: int, vendor: str | None) -> None:
    """Record the recognised vendor of a card the catalog has none for (first recorded by an offload that did
    not recognise it). A vendor already recorded stays."""
    if vendor:
        db.run("UPDATE cards SET vendor = ? WHERE id = ? AND vendor IS NULL", (vendor, card_id))


def record_vendor(db: Catalog, card_id: int, vendor: str | None) -> None:
    """fill_vendor in a transaction of its own (a resumed offload recognising the card it began without)."""
    with db.atomic():
        fill_vendor(db, card_id, vendor)
