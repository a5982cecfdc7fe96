"""Run an offload and record it in the catalog: begin the offload row, stream every file result through the
store's Recorder, finish it, and answer safe-to-format.

This is the recording path of `datawrangler offload` (cli/offload.py `_run`) without the terminal: the CLI
module cannot be imported from here (layers point down) and its functions take argparse namespaces and
print. The steps and their order are the same; keep the two in step (or move this into the store and have
the CLI use it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from datawrangler.core.events import FileResult, OffloadControl, OffloadResult, ProgressEvent
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import ScanResult
from datawrangler.core.transfer import offload
from datawrangler.store import offloads, redundancy
from datawrangler.store.db import open_catalog
from datawrangler.store.liveness import mark_interrupted
from datawrangler.store.offloads import OffloadMeta
from datawrangler.store.recorder import Recorder


@dataclass(frozen=True)
class RecordedOffload:
    offload_id: int
    result: OffloadResult
    safe_to_format: bool
    reasons: list[str] = field(default_factory=list)


def run_recorded_offload(catalog: Path, plan: OffloadPlan, scan: ScanResult, fingerprint: str, meta: OffloadMeta,
                         *, copies_required: int = 2, control: OffloadControl | None = None,
                         on_progress: Callable[[ProgressEvent], None] | None = None,
                         on_file: Callable[[FileResult], None] | None = None) -> RecordedOffload:
    db = open_catalog(catalog)
    try:
        mark_interrupted(db)
        record = offloads.begin_offload(db, plan, scan, fingerprint, meta)
        recorder = Recorder(catalog, record, plan.verify_mode)
        recorder.start()

        def record_file(f: FileResult) -> None:
            recorder.on_file(f)
            if on_file is not None:
                on_file(f)

        try:
            result = offload(plan, control=control or OffloadControl(), on_progress=on_progress,
                             on_file=record_file, scan=scan, check=False)
        except BaseException as exc:
            recorder.close("interrupted", f"The offload stopped: {exc}. Fix the cause, then run 'datawrangler "
                           f"resume {record.offload_id}'.")
            raise
        recorder.finish(result)
        row = db.conn.execute("SELECT card_id FROM offloads WHERE id = ?", (record.offload_id,)).fetchone()
        red = redundancy.card_redundancy(db, row[0] if row else None, copies_required)
        return RecordedOffload(record.offload_id, result, red.safe, list(red.reasons))
    finally:
        db.close()
