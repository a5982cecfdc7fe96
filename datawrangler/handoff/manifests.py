"""CSV and JSON manifests of an offload's roll: every file with size, modification time, the card's digests
and what the catalog says of each destination (verified / copied / failed / not copied)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from datawrangler.handoff.common import iso, iso_ns
from datawrangler.store.handoff import FileRow, OffloadSummary


def _state(f: FileRow, dest_id: int) -> str:
    c = f.copies.get(dest_id)
    return c.state if c is not None else "not copied"


def render_csv(summary: OffloadSummary, files: Sequence[FileRow]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    algs = list(summary.algorithms)
    w.writerow(["path", "size", "mtime", *algs, *(f"verification {d.path}" for d in summary.destinations)])
    for f in files:
        w.writerow([f.rel_path, f.size, iso_ns(f.mtime_ns), *(f.digests.get(a, "") for a in algs),
                    *(_state(f, d.id) for d in summary.destinations)])
    return buf.getvalue().encode("utf-8", "surrogateescape")


def render_json(summary: OffloadSummary, files: Sequence[FileRow]) -> bytes:
    doc = {
        "offload": {"uuid": summary.uuid, "source": summary.source, "roll": summary.roll_name,
                    "reel": summary.reel, "project": summary.project, "state": summary.state,
                    "verify_mode": summary.verify_mode, "algorithms": list(summary.algorithms),
                    "started": iso(summary.started_at),
                    "ended": iso(summary.ended_at) if summary.ended_at else None},
        "destinations": [{"path": d.path, "state": d.state} for d in summary.destinations],
        "files": [{
            "path": f.rel_path, "size": f.size, "mtime": iso_ns(f.mtime_ns), "digests": dict(f.digests),
            "status": f.status,
            "verification": [{
                "destination": d.path, "state": _state(f, d.id),
                "verified_at": iso(c.verified_at, micro=True) if (c := f.copies.get(d.id)) and c.verified_at
                else None,
                "cache_bypassed": c.cache_bypassed if c else None,
            } for d in summary.destinations],
        } for f in files],
    }
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8", "surrogateescape")
