"""Open the catalog a location names: a path or sqlite:///PATH (the embedded file, store.db) or postgresql://...
(a server, store.server_catalog). Apart from store.db, which never imports the server's modules: a file's
command loads no SQLAlchemy, and no import goes round in a circle."""

from __future__ import annotations

import os
from pathlib import Path

from datawrangler.store.catalog import Catalog
from datawrangler.store.db import is_server, open_catalog

__all__ = ["is_server", "open_location"]


def open_location(location: str | os.PathLike[str]) -> Catalog:
    """Open the catalog a location names: a path or sqlite:///PATH (the file: open_catalog), or
    postgresql://... (the server: checked, its schema created or upgraded when needed). A file never loads
    SQLAlchemy."""
    text = os.fspath(location).strip()
    if is_server(text):
        from datawrangler.store.server_catalog import open_server

        return open_server(text)
    if text.lower().startswith("sqlite:"):
        from datawrangler.store import server

        where = server.parse(text)
        assert where.path is not None
        return open_catalog(where.path)
    return open_catalog(Path(text).expanduser())
