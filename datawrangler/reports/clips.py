"""Counting clips in a card's listing: what a camera assistant calls a take, not a file.

A frame sequence (ARRIRAW, DPX, EXR, DNG, TIFF) is one clip per folder; RED's spanned R3D files are one
clip per .RDC folder; every other video or audio essence file is one clip. Sidecars (XML, RMD, THM, LRV),
camera index files and stills are not clips.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

ESSENCE = frozenset({".mov", ".mxf", ".mp4", ".m4v", ".braw", ".crm", ".mts", ".m2ts", ".avi", ".mkv", ".wav",
                     ".bwf", ".cine", ".insv"})
SEQUENCE = frozenset({".ari", ".arx", ".dpx", ".exr", ".dng", ".tif", ".tiff", ".j2c"})
_SPAN = re.compile(r"_\d{3}$")  # A001_C001_0102AB_001.R3D: the span number


def clip_key(rel_path: str) -> str | None:
    """What identifies the clip this file belongs to, or None when it is not part of a clip."""
    folder, name = posixpath.split(rel_path)
    stem, ext = posixpath.splitext(name)
    ext = ext.lower()
    if ext in SEQUENCE:
        return "seq:" + folder
    if ext == ".r3d":
        if folder.lower().endswith(".rdc"):
            return "r3d:" + folder
        return "r3d:" + posixpath.join(folder, _SPAN.sub("", stem))
    if ext in ESSENCE:
        return "file:" + rel_path
    return None


def count_clips(rel_paths: Iterable[str]) -> int:
    return len({k for k in map(clip_key, rel_paths) if k is not None})
