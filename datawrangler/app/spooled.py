"""Offloads whose results wait in this station's spool (store.spool) because the catalog's server went away:
what the offload says when it ends so, and their delivery once the server answers again.

An offload whose Recorder spooled results ends as the engine ended it (the copies are what they are), but its
verdict is not safe to format: the catalog has not got every result, and safe to format is asked of the
catalog. Its handoff files and report are written at delivery, from the catalog's rows (what the offload asked
for is kept in the spool: `After`).

Delivery (`deliver`): each spool, oldest first, is replayed into the server in one transaction through the
Recorder's own statements (store.recorder.replay), its handoff files and report written, and the file removed.
`datawrangler catalog deliver` runs it; so does every offload and `status` on a server catalog before it
starts, so a verdict never misses a result this station still holds.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from datawrangler.app.catalog import catalog_location, open_db
from datawrangler.app.outcome import Observer
from datawrangler.app.report_step import handoff_step, offload_report
from datawrangler.config import app_paths
from datawrangler.core.events import OffloadResult
from datawrangler.handoff.options import HandoffOptions
from datawrangler.store import spool
from datawrangler.store.db import BACKEND_ERRORS, is_server
from datawrangler.store.errors import CatalogError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class After:
    """What an offload asked to be done once the catalog holds its results."""

    handoff: HandoffOptions | None
    report: bool
    copies_required: int
    paper: str


class CatalogOffline(Exception):
    """The offload ran to its end but the catalog's server did not get every result: they are in `spool`."""

    def __init__(self, spool_path: Path, result: OffloadResult, catalog: str) -> None:
        super().__init__(offline_reason(spool_path, catalog))
        self.spool = spool_path
        self.result = result


@dataclass(frozen=True)
class Delivered:
    offload_id: int
    results: int
    written: tuple[str, ...]  # handoff files and reports written after the delivery


def spool_folder() -> Path:
    return spool.folder_of(app_paths().data_dir)


def offline_reason(path: Path, catalog: str) -> str:
    return (f"The catalog server {catalog} stopped answering during the offload: its results are kept on this "
            f"station ({path.name} in DataWrangler's spool folder) and are not in the catalog yet, so the card is not "
            "called safe to format. Once the server is back, run 'datawrangler catalog deliver' (every offload and "
            "status on that catalog delivers first too); the handoff files and the report are written then.")


def waiting() -> list[spool.SpoolInfo]:
    """The spools of this station that wait for the server (one that cannot be read is logged and skipped)."""
    found = []
    for path in spool.pending(spool_folder()):
        try:
            found.append(spool.info(path))
        except spool.SpoolError as exc:
            log.error("%s", exc)
    return found


def deliver(catalog: str | os.PathLike[str] | None = None, observer: Observer | None = None,
            on_error: Callable[[str], None] | None = None) -> list[Delivered]:
    """Deliver every spool of this station to the server catalog (nothing for a catalog in a file). A spool
    that cannot be delivered now (the server still away, a spool of another catalog) stays, and is said through
    `on_error`; the others go on."""
    where = catalog_location(catalog)
    if not is_server(where):
        return []
    observer = observer or Observer()
    said = on_error or (lambda text: log.warning("%s", text))
    done: list[Delivered] = []
    for path in spool.pending(spool_folder()):
        try:
            done.append(_deliver_one(where, path, observer))
        except (CatalogError, *BACKEND_ERRORS) as exc:  # type: ignore[misc]
            said(str(exc))
    return done


def _deliver_one(where: str, path: Path, observer: Observer) -> Delivered:
    from datawrangler.store.recorder import replay

    held = spool.info(path)
    db = open_db(where)
    try:
        replay(db, held.record, spool.read(path))  # one transaction: all of it, or nothing and the file stays
        after = spool.after(path)
        spool.remove(path)
        written: list[str] = []
        if isinstance(after, After):
            if after.handoff is not None:
                written += handoff_step(db, held.record.offload_id, after.handoff, observer)
            if after.report:
                written += offload_report(db, held.record.offload_id, after.copies_required, observer, after.paper)
    finally:
        db.close()
    log.info("delivered %d spooled results of offload %s to %s", held.results, held.record.offload_id, where)
    return Delivered(held.record.offload_id, held.results, tuple(written))
