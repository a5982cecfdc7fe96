"""The offload report, filed once an offload (stage 1 or stage 2) ended: built from the catalog, never
changing how the offload ended."""

from __future__ import annotations

import os

from sqlite_utils import Database

from datawrangler.app.outcome import Observer
from datawrangler.config import app_paths


def offload_report(db: Database, offload_id: int, required: int, observer: Observer, paper: str = "a4") -> list[str]:
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
