"""Opening an offload's catalog row for a card the catalog may know (lineage, incremental pairs); the run
itself is app.recorded, the use case app.offload."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import ScanResult
from datawrangler.store import cards, offloads, resume
from datawrangler.store.catalog import Catalog
from datawrangler.store.offloads import OffloadMeta, OffloadRecord


def card_of(db: Catalog, offload_id: int) -> int | None:
    row = db.run("SELECT card_id FROM offloads WHERE id = ?", (offload_id,)).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class Begun:
    record: OffloadRecord
    known: cards.KnownCard | None  # what the catalog knew of this card before
    pairs: dict  # incremental: copies its earlier offloads hold verified, not copied again (run_recorded)


def begin(db: Catalog, plan: OffloadPlan, scan: ScanResult, fingerprint: str, meta: OffloadMeta, *,
          incremental: bool = False) -> Begun:
    """Create the offload's row. A card the catalog knows (by fingerprint, or reel and files) continues
    its lineage; with `incremental`, what its earlier offloads hold verified is not copied again."""
    known = cards.find_known(db, fingerprint, meta.reel, scan.files)
    pairs: dict = {}
    if known is not None:
        meta = dataclasses.replace(meta, lineage=known.lineage,
                                   incremental_of=known.last_offload_id if incremental else None)
        if incremental:
            pairs = resume.verified_pairs(db, plan.destinations, resume.lineage_offloads(db, known.card_id))
    return Begun(offloads.begin_offload(db, plan, scan, fingerprint, meta), known, pairs)
