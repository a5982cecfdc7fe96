"""What every command shares besides printing (cli.output): exit codes and the catalog's path."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path

from datawrangler.app.catalog import catalog_file, catalog_location
from datawrangler.core.events import OffloadState
from datawrangler.store.db import Catalog, CatalogError, is_server
from datawrangler.store.liveness import mark_interrupted
from datawrangler.store.location import open_location

EXIT_OK, EXIT_ERRORS, EXIT_REFUSED, EXIT_NOT_VERIFIED, EXIT_INTERRUPTED, EXIT_CANCELLED, EXIT_BUG = 0, 1, 2, 3, 4, 5, 70

EXIT_FOR_STATE = {
    OffloadState.VERIFIED: EXIT_OK,
    OffloadState.COMPLETED_WITH_ERRORS: EXIT_ERRORS,
    OffloadState.COPIED: EXIT_NOT_VERIFIED,
    OffloadState.INTERRUPTED: EXIT_INTERRUPTED,
    OffloadState.CANCELLED: EXIT_CANCELLED,
}

# from the least to the most in need of the DIT, for a command that runs several offloads (the stages of a
# cascading copy, several stage-2 copies): a file that failed (1) before a run that could not start (2),
# before one left to resume (4, 5), before sizes checked only (3)
_SEVERITY = (EXIT_OK, EXIT_NOT_VERIFIED, EXIT_CANCELLED, EXIT_INTERRUPTED, EXIT_REFUSED, EXIT_ERRORS, EXIT_BUG)


def worst(codes: Iterable[int]) -> int:
    """The exit code of several runs: the one most in need of attention (EXIT_OK for none)."""
    return max(codes, key=lambda c: _SEVERITY.index(c) if c in _SEVERITY else len(_SEVERITY), default=EXIT_OK)


CATALOG_HELP = ("the catalog: a file, sqlite:///PATH or postgresql://USER@HOST/DATABASE (default: "
                "DATAWRANGLER_CATALOG, else the settings' catalog, else the file in the user data folder; "
                "DATAWRANGLER_HOME moves that)")


def catalog_path(args: argparse.Namespace) -> str:
    """The catalog's location (a path or a server's URL): --catalog, else DATAWRANGLER_CATALOG, else the
    settings', else the file in the data folder (app.catalog.catalog_location)."""
    given = getattr(args, "catalog", None)
    return catalog_location(os.path.expanduser(given) if given and not is_server(given) else given)


def catalog_file_only(args: argparse.Namespace, what: str) -> Path:
    """The catalog's file, for what only a file has (its backups, a restore); CatalogError for a server."""
    where = catalog_path(args)
    if is_server(where):
        from datawrangler.store.server import parse

        raise CatalogError(f"The catalog is on a server ({parse(where).shown()}): {what} is the server's own "
                           "(its administrator's pg_dump and restore), not DataWrangler's. To keep a copy of the "
                           "catalog as a file, run 'datawrangler catalog export FILE'.")
    return catalog_file(where)


def open_db(args: argparse.Namespace) -> tuple[Catalog, str]:
    """The catalog (created or migrated as needed); offloads whose process died are marked interrupted."""
    where = catalog_path(args)
    if is_server(where):  # results this station kept while the server was away go first (app.spooled)
        from datawrangler.app.spooled import deliver

        deliver(where)
    db = open_location(where)
    mark_interrupted(db)
    return db, where
