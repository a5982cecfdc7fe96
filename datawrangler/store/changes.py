"""What tells a window that another station changed the catalog: the newest event's id. Every offload's start,
resume and end adds an event (store.offloads.event), so a new id means there is something new to show; the read
is one index lookup, cheap enough to ask every few seconds of a server several stations share."""

from __future__ import annotations

from datawrangler.store.catalog import Catalog


def last_change(db: Catalog) -> int:
    """The newest event's id (0 for a catalog without events)."""
    return int(db.value("SELECT COALESCE(MAX(id), 0) FROM events") or 0)
