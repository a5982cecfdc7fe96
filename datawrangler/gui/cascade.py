"""The window's side of the cascading copy (issue 14): stage-2 jobs in the queue.

When a card's stage 1 ends verified and its preset names stage-2 drives, the catalog queues one stage-2
offload (app.cascade) that copies the verified stage-1 copy to those drives; the card is RELEASED: it may
leave the reader, but it is not safe to format until stage 2 is verified too. The window queues that
stage-2 offload as a resume (app.request.resume_request of its id, which run_offload_isolated dispatches
to run_stage2), so it runs in a worker process like any offload; the scheduler sees its write drives only
(app.drives.drives_of), so the next card's stage 1 may run beside it.

At start, stage-2 offloads still queued in the catalog (the window quit before they began) are queued and
start; interrupted ones (a crash) wait in the queue for Resume, as any interrupted offload does.

The functions here that take a catalog run on the bridge's workers: no Qt in them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from datawrangler.app import request as requests
from datawrangler.app.cascade import pending_stage2
from datawrangler.config import Settings
from datawrangler.core.presets import Preset
from datawrangler.gui import catalog_reads as reads
from datawrangler.gui.jobs import open_db
from datawrangler.gui.models.queue import QueueItem, drive_names
from datawrangler.gui.theme import Status
from datawrangler.store import cascade as store_cascade
from datawrangler.store.cascade import Stage2Job

__all__ = ["Stage2Job", "StartupJobs", "card_stage2", "stage2_item", "stage2_jobs", "stage2_label",
           "stage2_roots", "startup_jobs", "stopped_text"]


def stage2_jobs(catalog: str | os.PathLike[str] | None, offload_id: int, ids: Iterable[int]) -> list[Stage2Job]:
    """The stage-2 offloads a stage-1 offload just queued (OffloadOutcome.stage2), as the catalog has them."""
    wanted = set(ids)
    db = open_db(catalog)
    try:
        return [j for j in store_cascade.children(db, offload_id) if j.offload_id in wanted]
    finally:
        db.close()


def card_stage2(catalog: str | os.PathLike[str] | None, card_id: int) -> list[Stage2Job]:
    """The stage-2 offloads of a card not ended yet (queued, interrupted, cancelled): a card inserted again
    after a restart is RELEASED while one waits."""
    db = open_db(catalog)
    try:
        return [j for j in store_cascade.pending(db) if j.card_id == card_id]
    finally:
        db.close()


StartupJobs = tuple[list[reads.HistoryRow], list[Stage2Job]]


def startup_jobs(catalog: str | os.PathLike[str] | None) -> StartupJobs:
    """After a restart: the offloads that stopped before their end (reads.resumable: interrupted and
    cancelled, stage 2 too) and the stage-2 offloads still queued or interrupted (app.cascade), in one read so
    the queue lists each offload once."""
    rows = reads.resumable(catalog)
    return rows, pending_stage2(catalog)


def stage2_label(reel: str, source: str) -> str:
    return f"{reel or os.path.basename(os.path.normpath(source))} · stage 2"


def stage2_roots(job: Stage2Job) -> tuple[str, ...]:
    """The drives a stage-2 offload writes, as roots: each roll folder without the roll's path under its root
    (the part it shares with the stage-1 roll it copies, which sits at the same place on its own drive)."""
    src = os.path.normpath(job.source).split(os.sep)
    out = []
    for dest in job.destinations:
        parts = os.path.normpath(dest).split(os.sep)
        n = 0
        while n < min(len(src), len(parts)) - 1 and src[-1 - n] == parts[-1 - n]:
            n += 1
        out.append(os.sep.join(parts[:len(parts) - n]) or os.sep)
    return tuple(out)


def stage2_item(job: Stage2Job, settings: Settings, preset: Preset, *, card_path: str = "",
                bytes_total: int = 0, card_label: str = "") -> QueueItem:
    """The queue's row for a stage-2 offload: a resume of it, from the stage-1 roll it copies. Queued ones
    start when their drives are free; any other state (interrupted, cancelled) waits for Resume. Named after
    the card as the window named it (`card_label`), else its reel."""
    label = f"{card_label} · stage 2" if card_label else stage2_label(job.reel or "", job.source)
    req = requests.resume_request(job.offload_id, job.source, settings, preset, label=label)
    status = {"queued": Status.QUEUED, "cancelled": Status.CANCELLED}.get(job.state, Status.INTERRUPTED)
    return QueueItem(label, req, card_path, status=status, offload_id=job.offload_id,
                     bytes_total=bytes_total or job.bytes, stage=2, cascade_of=job.cascade_of,
                     targets=stage2_roots(job))


def stopped_text(item: QueueItem) -> str:
    """A card's words when its stage 2 stopped (cancelled, interrupted) before it was verified."""
    return (f"Stage 2 to {drive_names(item.targets)} stopped before its end: the card is NOT safe to format. "
            "Select it in the queue and press Resume to finish it.")
