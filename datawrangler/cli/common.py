"""What every command shares: exit codes, JSON events, the progress bar, the catalog's path."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from sqlite_utils import Database

from datawrangler.config import app_paths
from datawrangler.core.events import OffloadState, ProgressEvent
from datawrangler.core.words import human_bytes as human_bytes  # cli.offload imports it from here
from datawrangler.core.words import human_eta, human_speed, plural
from datawrangler.core.words import when as when  # the catalog commands print dates with it
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


def jsonable(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return {k: jsonable(v) for k, v in asdict(obj).items()}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [jsonable(v) for v in obj]
    return obj


def emit(out: TextIO, event: str, **data: Any) -> None:
    out.write(json.dumps({"event": event, **jsonable(data)}, ensure_ascii=False) + "\n")
    out.flush()


class ProgressBar:
    """One line on a terminal, redrawn a few times a second."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self._last = 0.0

    def update(self, e: ProgressEvent) -> None:
        if not self.tty:
            now = time.monotonic()
            if now - self._last < 5 and e.phase != "done":
                return
            self._last = now
        width = 28
        filled = int(e.fraction * width)
        bar = "#" * filled + "-" * (width - filled)
        line = (f"[{bar}] {e.fraction * 100:5.1f}%  {e.files_done}/{plural(e.files_total, 'file')}  "
                f"{human_speed(e.speed)}  ETA {human_eta(e.eta_seconds)}"
                + ("  PAUSED" if e.paused else "") + f"  {e.current_file[-40:]}")
        if self.tty:
            self.out.write("\r\x1b[2K" + line)
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()
