"""Camera cards: the fingerprint that recognises a card again, and a default reel name.

A card's fingerprint is a stable hash of its listing (relative path, size, modification time), so the
same card inserted twice is recognised without reading a byte of footage, and a card that went back into
the camera and shot more gets a new fingerprint.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable

from datawrangler.core.scan import ScanResult, SourceFile

_REEL = re.compile(r"^[A-Z]\d{3}")


def fingerprint_files(files: Iterable[SourceFile]) -> str:
    """sha256 over the sorted (rel_path, size, mtime_ns) triples: independent of walk order."""
    h = hashlib.sha256()
    for rel_path, size, mtime_ns in sorted((f.rel_path, f.size, f.mtime_ns) for f in files):
        h.update(rel_path.encode("utf-8", "surrogateescape"))
        h.update(b"\0%d\0%d\n" % (size, mtime_ns))
    return h.hexdigest()


def fingerprint(scan: ScanResult) -> str:
    return fingerprint_files(scan.files)


def default_reel(source: str) -> str | None:
    """`A001` from a card folder named `A001R2EC` (camera letter + three digits), else None."""
    name = os.path.basename(os.path.normpath(source))
    m = _REEL.match(name)
    return m.group(0) if m else None
