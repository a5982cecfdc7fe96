"""Destination media: the interface (base), the filesystem medium (fs), and `open_medium`, which picks the
medium for a destination. A new medium is a new module here plus one line in MEDIA (docs/architecture.md,
"How to add a medium")."""

from __future__ import annotations

from collections.abc import Callable

from datawrangler.core.medium.base import (
    SYNC_UNSUPPORTED,
    Found,
    Medium,
    NameSync,
    ReadBack,
    TempFile,
    VerifyPolicy,
)
from datawrangler.core.medium.fs import FsMedium

__all__ = ["MEDIA", "SYNC_UNSUPPORTED", "Found", "FsMedium", "Medium", "NameSync", "ReadBack", "TempFile",
           "VerifyPolicy", "open_medium"]

# Tried in order: each returns a Medium for a destination it serves, or None. The filesystem is the fallback.
MEDIA: list[Callable[[str], Medium | None]] = []


def open_medium(location: str) -> Medium:
    """The medium for one destination's roll (a path, or whatever a registered medium recognises)."""
    for claim in MEDIA:
        medium = claim(location)
        if medium is not None:
            return medium
    return FsMedium(location)
