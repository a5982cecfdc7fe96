"""The names of the handoff files in a roll folder, in one place: the ASC MHL folder, its chain and manifests,
and the sidecars (checksum lists, legacy MHL 1.1, CSV and JSON manifests, and the editorial handoff: an Avid ALE
and a clip CSV) at the top of the roll.

They live here, below `handoff`, because both sides need the same names: `handoff` writes and reads the files,
and the store's re-verify tells DataWrangler's own files in a roll from files that are not in the offload
(which it can do from the catalog rows the names are made of: the roll's path and the offload's start).
Pure: no catalog access.
"""

from __future__ import annotations

import datetime as dt
import os
import re

from datawrangler.core.hashing import LIST_ALGORITHMS, REGISTRY

ASCMHL_FOLDER = "ascmhl"
ASCMHL_CHAIN = "ascmhl_chain.xml"
ASCMHL_MANIFEST = re.compile(r"^(\d{4,})(?:_(.+))?\.mhl$")  # 0001_A001R2EC_2023-10-14_224105Z.mhl
ASCMHL_IGNORE = (".DS_Store", ASCMHL_FOLDER, ASCMHL_FOLDER + "/")  # what ascmhl itself always ignores

# One sidecar per kind: the checksum lists (core.hashing's LIST_ALGORITHMS), legacy MHL 1.1, CSV and JSON, the
# ALE and the clip CSV (A001R2EC_2023-10-14_224105Z.ale, A001R2EC_2023-10-14_224105Z.clips.csv). The editorial
# files are written after the ASC MHL generation (once the clips are read), so that generation ignores their names
# in advance; they are DataWrangler's own files for the re-verify too.
LEGACY_MHL_SUFFIX, CSV_SUFFIX, JSON_SUFFIX = "mhl", "csv", "json"
ALE_SUFFIX, CLIP_CSV_SUFFIX = "ale", "clips.csv"
EDITORIAL_SUFFIXES = (ALE_SUFFIX, CLIP_CSV_SUFFIX)
SIDECAR_SUFFIXES = (*(REGISTRY[a].list_suffix for a in LIST_ALGORITHMS), LEGACY_MHL_SUFFIX, CSV_SUFFIX, JSON_SUFFIX,
                    *EDITORIAL_SUFFIXES)


def _roll_name(roll: str) -> str:
    return os.path.basename(os.path.normpath(roll))


def manifest_name(number: int, root: str, now: dt.datetime) -> str:
    """An ASC MHL generation's file name in `ascmhl/`: its number, the roll's name, its creation time (UTC)."""
    if now.tzinfo is None:
        raise ValueError("handoff dates must carry a time zone")
    return f"{number:04d}_{_roll_name(root)}_{now.astimezone(dt.UTC):%Y-%m-%d_%H%M%S}Z.mhl"


def manifest_stamp(name: str) -> str | None:
    """A generation's creation time (UTC) as its file name gives it, 'YYYY-mm-dd_HHMMSS' (sortable), or None
    for a name that is not a manifest's or carries no time (the reverse of manifest_name)."""
    m = ASCMHL_MANIFEST.match(name)
    stamp = m.group(2)[-18:-1] if m and m.group(2) else ""
    return stamp if re.fullmatch(r"\d{4}-\d{2}-\d{2}_\d{6}", stamp) else None


def sidecar_name(roll: str, started_at: float, suffix: str) -> str:
    """A handoff file's name in its roll folder: the roll's name and the offload's start (UTC), so that a resume
    rewrites its own files and a later offload into the same roll adds its own. A001R2EC_2023-10-14_224105Z.csv"""
    stamp = dt.datetime.fromtimestamp(started_at, dt.UTC)
    return f"{_roll_name(roll)}_{stamp:%Y-%m-%d_%H%M%S}Z.{suffix}"
