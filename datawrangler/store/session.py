"""One recorded offload: begin (or reopen) its catalog row, stream every file result through the Recorder's
writer thread, finish it, and answer safe-to-format from the catalog.

The one path used by `datawrangler offload`/`resume`, by auto-offload (volumes) and by the GUI, so the
catalog is written the same way whoever starts the offload.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from datawrangler.core.errors import OffloadError
from datawrangler.core.events import FileResult, OffloadControl, OffloadResult, ProgressEvent
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import ScanResult
from datawrangler.core.transfer import offload
from datawrangler.store import cards, offloads, redundancy, resume
from datawrangler.store.db import open_catalog
from datawrangler.store.liveness import mark_interrupted
from datawrangler.store.offloads import OffloadMeta, OffloadRecord
from datawrangler.store.recorder import Recorder

CARRIED_NOTE = "verified earlier: not copied again"


@dataclass(frozen=True)
class RecordedOffload:
    offload_id: int
    result: OffloadResult
    safe_to_format: bool
    reasons: list[str] = field(default_factory=list)


def card_of(db: Database, offload_id: int) -> int | None:
    row = db.conn.execute("SELECT card_id FROM offloads WHERE id = ?", (offload_id,)).fetchone()
    return row[0] if row else None


def run_recorded(db: Database, catalog: Path, plan: OffloadPlan, scan: ScanResult, record: OffloadRecord, *,
                 pairs: dict | None = None, copies_required: int = 2, control: OffloadControl | None = None,
                 on_progress: Callable[[ProgressEvent], None] | None = None,
                 on_file: Callable[[FileResult], None] | None = None,
                 after_finish: Callable[[int, OffloadResult], None] | None = None) -> RecordedOffload:
    """Run the engine for an offload whose row exists. `pairs` (from store.resume.verified_pairs) are copies
    verified earlier: not copied again (resume, incremental). `after_finish(offload_id, result)` runs once
    the catalog holds the result (handoff files, reports)."""
    recorder = Recorder(catalog, record, plan.verify_mode)
    recorder.start()
    hook = None
    if pairs:
        hook = resume.already_verified(pairs, len(plan.destinations),
                                       lambda f: recorder.carried(f.rel_path, CARRIED_NOTE))

    def record_file(f: FileResult) -> None:
        recorder.on_file(f)
        if on_file is not None:
            on_file(f)

    try:
        result = offload(plan, control=control or OffloadControl(), on_progress=on_progress, on_file=record_file,
                         scan=scan, check=False, already_verified=hook)
    except BaseException as exc:
        if isinstance(exc, OffloadError):  # refused before a byte moved (a roll folder another offload holds)
            recorder.close()
            if offloads.discard_unstarted(db, record.offload_id):
                raise
            recorder = Recorder(catalog, record, plan.verify_mode)  # a resume: it stays, as interrupted
            recorder.start()
        recorder.close("interrupted", f"The offload stopped: {exc}. Fix the cause, then run 'datawrangler resume "
                       f"{record.offload_id}'.")
        raise
    recorder.finish(result)
    if after_finish is not None:
        after_finish(record.offload_id, result)
    red = redundancy.card_redundancy(db, card_of(db, record.offload_id), copies_required)
    return RecordedOffload(record.offload_id, result, red.safe, list(red.reasons))


@dataclass(frozen=True)
class Begun:
    record: OffloadRecord
    known: cards.KnownCard | None  # what the catalog knew of this card before
    pairs: dict  # incremental: copies its earlier offloads hold verified, not copied again (run_recorded)


def begin(db: Database, plan: OffloadPlan, scan: ScanResult, fingerprint: str, meta: OffloadMeta, *,
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


def begin_and_run(catalog: Path, plan: OffloadPlan, scan: ScanResult, fingerprint: str, meta: OffloadMeta,
                  **kwargs: object) -> RecordedOffload:
    """Open the catalog, create the offload's row, and run it (see run_recorded for the options)."""
    db = open_catalog(catalog)
    try:
        mark_interrupted(db)
        record = offloads.begin_offload(db, plan, scan, fingerprint, meta)
        return run_recorded(db, catalog, plan, scan, record, **kwargs)  # type: ignore[arg-type]
    finally:
        db.close()
