"""Checksum lists that `md5sum -c`, `sha1sum -c` and `xxhsum -c` accept, run from the roll folder.

Which algorithms have a list, its checker and its form (GNU `<hex>  <path>`, or tagged `XXH3 (<path>) = <hex>`)
come from the registry in core.hashing.
A name with a newline, carriage return or backslash cannot be written unambiguously for every checker: it is
left out and reported.
The list is written a line at a time as the catalog's rows arrive (ChecksumList), never held whole.
"""

from __future__ import annotations

from collections.abc import Mapping

from datawrangler.core.hashing import LIST_ALGORITHMS, REGISTRY
from datawrangler.handoff.common import Sink


def listable(path: str) -> bool:
    return not any(c in path for c in "\n\r\\")


class ChecksumList:
    """One algorithm's list, a line per file added; `left_out`: the paths it cannot carry."""

    def __init__(self, algorithm: str, out: Sink) -> None:
        if algorithm not in LIST_ALGORITHMS:
            raise ValueError(f"no checksum list format for {algorithm!r}")
        self.algorithm = algorithm
        self.out = out
        self.tag = REGISTRY[algorithm].list_tag
        self.left_out: list[str] = []

    def add(self, path: str, digests: Mapping[str, str]) -> None:
        value = digests.get(self.algorithm)
        if value is None:
            return
        if not listable(path):
            self.left_out.append(path)
            return
        line = f"{self.tag} ({path}) = {value}\n" if self.tag else f"{value}  {path}\n"
        self.out.write(line.encode("utf-8", "surrogateescape"))

