"""The window's calls into the application layer that run on the bridge's worker threads (never on the GUI
thread): each opens the catalog it needs. Pure Python, no Qt; tests call these directly."""

from __future__ import annotations

import os

from datawrangler.app.inspection import Inspection, inspect_card
from datawrangler.app.offload import open_db
from datawrangler.config import Settings
from datawrangler.core.presets import Preset

__all__ = ["inspect", "open_db"]


def inspect(path: str, settings: Settings, preset: Preset, catalog: str | os.PathLike[str] | None = None,
            label: str | None = None) -> Inspection:
    """app.inspection.inspect_card on the window's catalog."""
    db = open_db(catalog)
    try:
        return inspect_card(db, path, settings, preset, label)
    finally:
        db.close()
