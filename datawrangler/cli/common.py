"""What every command shares besides printing (cli.output): exit codes and the catalog's path."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlite_utils import Database

from datawrangler.config import app_paths
from datawrangler.core.events import OffloadState
from datawrangler.store.db import open_catalog
from datawrangler.store.liveness import mark_interrupted

EXIT_OK, EXIT_ERRORS, EXIT_REFUSED, EXIT_NOT_VERIFIED, EXIT_INTERRUPTED, EXIT_CANCELLED, EXIT_BUG = 0, 1, 2, 3, 4, 5, 70

EXIT_FOR_STATE = {
    OffloadState.VERIFIED: EXIT_OK,
    OffloadState.COMPLETED_WITH_ERRORS: EXIT_ERRORS,
    OffloadState.COPIED: EXIT_NOT_VERIFIED,
    OffloadState.INTERRUPTED: EXIT_INTERRUPTED,
    OffloadState.CANCELLED: EXIT_CANCELLED,
}


def catalog_path(args: argparse.Namespace) -> Path:
    given = getattr(args, "catalog", None)
    return Path(given).expanduser() if given else app_paths().catalog_file


def open_db(args: argparse.Namespace) -> tuple[Database, Path]:
    """The catalog (created or migrated as needed); offloads whose process died are marked interrupted."""
    path = catalog_path(args)
    db = open_catalog(path)
    mark_interrupted(db)
    return db, path
