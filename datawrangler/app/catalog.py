"""Which catalog a use case opens, and its first opening done by one thread at a time.

A catalog is named by a location (a string): a path or sqlite:///PATH (the embedded file, the default) or
postgresql://USER@HOST/DATABASE (a server several stations share). The one given (--catalog, the window's
argument) comes first, then DATAWRANGLER_CATALOG, then the settings' `catalog`, then the file in the data folder
(config.resolve_catalog). What a station keeps of its own (the card holds, store.card_hold) sits beside the
catalog's file, or in this station's data folder when the catalog is on a server: a card is in one station's
reader at a time.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from datawrangler.config import app_paths, load_settings_leniently, resolve_catalog
from datawrangler.store.db import Catalog, is_server
from datawrangler.store.location import open_location

if TYPE_CHECKING:
    from datawrangler.store.server import ConnectionCheck

Location = str | os.PathLike[str]


def catalog_location(catalog: Location | None = None) -> str:
    """The catalog's location: the one given, else DATAWRANGLER_CATALOG, else the settings', else the file in
    the data folder. A setting that cannot be read counts as not set (the settings' own check says why)."""
    if catalog:
        return os.fspath(catalog)
    return resolve_catalog(None, load_settings_leniently()[0].catalog)


def catalog_file(catalog: Location | None) -> Path:
    """The catalog's file, or for a catalog on a server a file name in this station's data folder: the place
    beside which this station keeps its own things (store.card_hold's holds)."""
    where = catalog_location(catalog)
    if is_server(where):
        return app_paths().data_dir / "server-catalog"
    if where.lower().startswith("sqlite:"):
        from datawrangler.store.server import parse

        path = parse(where).path
        assert path is not None
        return path
    return Path(where).expanduser()


def on_server(catalog: Location | None) -> bool:
    return is_server(catalog_location(catalog))


_open_lock = threading.Lock()
_ready: set[str] = set()


def open_db(catalog: Location | None) -> Catalog:
    """The catalog, with its first opening (its creation or migration) done by one thread at a time: several of
    the window's workers start at once."""
    where = catalog_location(catalog)
    if where in _ready:
        return open_location(where)
    with _open_lock:
        db = open_location(where)
        _ready.add(where)
        return db


def check_location(where: str) -> ConnectionCheck:
    """The window's "Test connection": whether this station can use the catalog there, and exactly why not
    (store.server.check_connection: reads only). An empty location is the file in the data folder."""
    from datawrangler.store.server import check_connection

    return check_connection(where.strip() or str(app_paths().catalog_file))


def create_at(where: str) -> ConnectionCheck:
    """Create the catalog's tables there (or upgrade an older catalog), then check it again: CatalogError with
    the check's words when it cannot be done from here."""
    from datawrangler.store.server import create_schema

    return create_schema(where.strip() or str(app_paths().catalog_file))
