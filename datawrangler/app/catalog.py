"""Which catalog a use case opens, and its first opening done by one thread at a time."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from datawrangler.config import app_paths
from datawrangler.store.db import Catalog, open_catalog


def catalog_file(catalog: str | os.PathLike[str] | None) -> Path:
    return Path(catalog) if catalog else app_paths().catalog_file


_open_lock = threading.Lock()
_ready: set[Path] = set()


def open_db(catalog: str | os.PathLike[str] | None) -> Catalog:
    """open_catalog, with the first opening of a catalog (its creation or migration) done by one thread at a
    time: several of the window's workers start at once."""
    path = catalog_file(catalog)
    if path in _ready:
        return open_catalog(path)
    with _open_lock:
        db = open_catalog(path)
        _ready.add(path)
        return db
