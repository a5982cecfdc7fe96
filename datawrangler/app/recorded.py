"""The recorded run of an offload whose catalog row exists: the engine (core.transfer) on its threads, every
file result streamed into the catalog by the Recorder's writer thread, and the end recorded. A failure that
stops the engine leaves the offload interrupted (resumable), never 'running'.

A `check` sees each file result before the catalog does and may fail it (the card's own ASC MHL history,
handoff.source): the catalog, the front end and the offload's end (core.outcome.fail_files) then only ever
hear the checked result, so no copy of such a file is ever recorded verified, not even for a moment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping

from datawrangler.app import spooled
from datawrangler.core.errors import OffloadError
from datawrangler.core.events import FileResult, FileStatus, OffloadControl, OffloadResult, ProgressEvent
from datawrangler.core.outcome import fail_files
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import ScanResult
from datawrangler.core.transfer import offload
from datawrangler.store import offloads, resume
from datawrangler.store.db import Catalog, is_server
from datawrangler.store.offloads import OffloadRecord
from datawrangler.store.recorder import Recorder

CARRIED_NOTE = "verified earlier: not copied again"


def run_recorded(db: Catalog, catalog: str | os.PathLike[str], plan: OffloadPlan, scan: ScanResult,
                 record: OffloadRecord, *,
                 pairs: dict | None = None, control: OffloadControl | None = None,
                 on_progress: Callable[[ProgressEvent], None] | None = None,
                 on_file: Callable[[FileResult], None] | None = None,
                 after_finish: Callable[[int, OffloadResult], None] | None = None,
                 check: Callable[[FileResult], FileResult] | None = None,
                 expected: Callable[[str], Mapping[str, str] | None] | None = None) -> OffloadResult:
    """Run the engine for the offload `record` names. `pairs` (store.resume.verified_pairs) are copies
    verified earlier: not copied again (resume, incremental). `after_finish(offload_id, result)` runs once
    the catalog holds the result (handoff files, the report). `check(result)` returns the result to record
    in its place (itself, or the file failed): see the module docstring. `expected(rel_path)`: the digests the
    source's file must have, checked by the engine before a copy is given its name (core.transfer.offload)."""
    spool = spooled.spool_folder() if is_server(catalog) else None  # where results wait if the server goes
    recorder = Recorder(catalog, record, plan.verify_mode, spool=spool)
    recorder.start()
    hook = None
    if pairs:
        hook = resume.already_verified(pairs, len(plan.destinations),
                                       lambda f: recorder.carried(f.rel_path, CARRIED_NOTE))

    changed: list[tuple[FileResult, FileResult]] = []  # (as the engine said it, as checked)

    def record_file(f: FileResult) -> None:
        if check is not None:
            checked = check(f)
            if checked is not f:
                changed.append((f, checked))
                f = checked
        recorder.on_file(f)
        if on_file is not None:
            on_file(f)

    try:
        result = offload(plan, control=control or OffloadControl(), on_progress=on_progress, on_file=record_file,
                         scan=scan, check=False, already_verified=hook, expected=expected)
    except BaseException as exc:
        if isinstance(exc, OffloadError):  # refused before a byte moved (a roll folder another offload holds)
            recorder.close()
            if offloads.discard_unstarted(db, record.offload_id):
                raise
            recorder = Recorder(catalog, record, plan.verify_mode, spool=spool)  # a resume: it stays, as interrupted
            recorder.start()
        recorder.close("interrupted", f"The offload stopped: {exc}. Fix the cause, then run 'datawrangler resume "
                       f"{record.offload_id}'.")
        raise
    result = fail_files(result, changed)
    reworded = {was.rel_path: now for was, now in changed if was.status is FileStatus.FAILED}
    if reworded:  # a failure the check said in other words (a stage-2 copy's source is not a card)
        result = dataclasses.replace(result, failures=tuple(reworded.get(f.rel_path, f) for f in result.failures))
    recorder.finish(result)
    if recorder.spooled is not None:  # the server went away: no handoff, no report, no verdict from it now
        raise spooled.CatalogOffline(recorder.spooled, result, recorder.shown)
    if after_finish is not None:
        after_finish(record.offload_id, result)
    return result
