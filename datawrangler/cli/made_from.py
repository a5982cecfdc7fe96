"""What each copy of an offload was made from, as `status` and `history` say it: the card (a stage-1 or
ordinary offload), or a stage-1 offload's verified copy (a stage-2 offload of a cascading copy). Read through
store.cascade, so a copy of a copy is never shown as if it came from the card."""

from __future__ import annotations

from typing import Any

from datawrangler.core.words import when
from datawrangler.store import cascade
from datawrangler.store.db import Catalog


def made_from(db: Catalog, offload_id: int) -> dict[str, Any]:
    """{"kind": "card", "released_at", "stage2": [ids]} or {"kind": "stage1_copy", "offload_id" (the stage-1
    offload), "path" (its roll folder read), "drive", "destinations" (the stage-2 roll folders)}."""
    job = cascade.job(db, offload_id)
    if job is None:
        return {"kind": "card", "released_at": cascade.released_at(db, offload_id),
                "stage2": [j.offload_id for j in cascade.children(db, offload_id)]}
    return {"kind": "stage1_copy", "offload_id": job.cascade_of, "path": job.source,
            "drive": job.made_from_label or None, "destinations": list(job.destinations)}


def made_from_text(m: dict[str, Any]) -> str:
    """'the card', or "offload 3's stage-1 copy at /Volumes/RAID/Day01/A001 (on RAID)"."""
    if m["kind"] == "card":
        return "the card"
    drive = f" (on {m['drive']})" if m.get("drive") else ""
    return f"offload {m['offload_id']}'s stage-1 copy at {m['path']}{drive}"


def stage_note(m: dict[str, Any]) -> str:
    """What an offload line adds for a cascading copy: '' for an ordinary offload."""
    if m["kind"] == "stage1_copy":
        return f"  stage 2 of offload {m['offload_id']}"
    said = []
    if m.get("released_at"):
        said.append(f"card released {when(m['released_at'])}")
    if m.get("stage2"):
        said.append("stage 2: offload " + ", ".join(map(str, m["stage2"])))
    return ("  " + "; ".join(said)) if said else ""
