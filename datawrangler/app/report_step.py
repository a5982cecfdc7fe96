"""What an offload (stage 1 or stage 2) writes once its copies ended: the handoff files into each roll and the
offload report into the reports folder, both built from the catalog, neither ever changing how it ended."""

from __future__ import annotations

import os

from datawrangler.app.outcome import Observer
from datawrangler.config import app_paths
from datawrangler.handoff.history import History
from datawrangler.handoff.writer import HandoffOptions, write_handoff
from datawrangler.store.db import Catalog


def handoff_step(db: Catalog, offload_id: int, options: HandoffOptions, observer: Observer,
                 source_history: History | None = None) -> list[str]:
    """The handoff files into each roll (none for an interrupted or cancelled offload: the writer says so),
    continuing `source_history` (the source's own ASC MHL). What went wrong is said; the paths written
    are returned."""
    try:
        out = write_handoff(db, offload_id, options, source_history=source_history)
    except (OSError, ValueError) as exc:
        observer.warn(f"The handoff files could not be written ({exc}). The copies are not affected: write "
                      f"them with 'datawrangler mhl-write {offload_id}'.", "handoff")
        return []
    for w in out.warnings:
        observer.warn(w, "handoff")
    if out.written:
        observer.say("handoff", f"handoff files written: {len(out.written)}", paths=out.written)
    return list(out.written)


def offload_report(db: Catalog, offload_id: int, required: int, observer: Observer, paper: str = "a4") -> list[str]:
    """The offload report into the reports folder, built from the catalog. A folder that cannot be written
    is said and skipped: the report never changes how an offload ended."""
    from datawrangler.reports.output import write_offload_report

    try:
        written = [str(p) for p in write_offload_report(db, offload_id, required, paper=paper)]
    except OSError as exc:
        where = os.path.dirname(exc.filename) if exc.filename else str(app_paths().reports_dir)
        observer.warn(f"The offload report could not be written into {where} ({exc.strerror or exc}). The offload "
                      "itself is not affected: free space there, then write the report with 'datawrangler report "
                      f"offload {offload_id} --pdf FILE'.", "report", path=where)
        return []
    except ImportError as exc:  # a build without Qt's PDF support: the catalog still holds it all
        observer.warn(f"The offload report could not be made ({exc}); the catalog holds the offload.", "report")
        return []
    observer.say("report", f"offload report: {written[0]}", paths=written)
    return written
