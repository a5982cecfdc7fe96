"""What every command shares besides printing (cli.output): exit codes and the catalog's path."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from datawrangler.config import app_paths
from datawrangler.core.events import OffloadState
from datawrangler.store.db import Catalog, open_catalog
from datawrangler.store.liveness import mark_interrupted

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


def catalog_path(args: argparse.Namespace) -> Path:
    given = getattr(args, "catalog", None)
    return Path(given).expanduser() if given else app_paths().catalog_file


def open_db(args: argparse.Namespace) -> tuple[Catalog, Path]:
    """The catalog (created or migrated as needed); offloads whose process died are marked interrupted."""
    path = catalog_path(args)
    db = open_catalog(path)
    mark_interrupted(db)
    return db, path
