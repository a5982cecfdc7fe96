"""Auto-offload records exactly as the CLI does: through the store's one recorded-offload path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from datawrangler.core.events import FileResult, OffloadControl, ProgressEvent
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import ScanResult
from datawrangler.store.offloads import OffloadMeta
from datawrangler.store.session import RecordedOffload, begin_and_run

__all__ = ["RecordedOffload", "run_recorded_offload"]


def run_recorded_offload(catalog: Path, plan: OffloadPlan, scan: ScanResult, fingerprint: str, meta: OffloadMeta,
                         *, copies_required: int = 2, control: OffloadControl | None = None,
                         on_progress: Callable[[ProgressEvent], None] | None = None,
                         on_file: Callable[[FileResult], None] | None = None) -> RecordedOffload:
    return begin_and_run(catalog, plan, scan, fingerprint, meta, copies_required=copies_required, control=control,
                         on_progress=on_progress, on_file=on_file)
