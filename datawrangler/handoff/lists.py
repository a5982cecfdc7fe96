"""Checksum lists that `md5sum -c`, `sha1sum -c` and `xxhsum -c` accept, run from the roll folder.

GNU form (`<hex>  <path>`) for md5, sha1, xxh64 and xxh128 (xxhsum tells xxh64 from xxh128 by length); the
tagged form (`XXH3 (<path>) = <hex>`) for xxh3, whose 64-bit digests xxhsum would otherwise take for xxh64.
A name with a newline, carriage return or backslash cannot be written unambiguously for every checker: it is
left out and reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

LIST_ALGORITHMS = ("md5", "sha1", "xxh64", "xxh128", "xxh3")
CHECKER = {"md5": "md5sum", "sha1": "sha1sum", "xxh64": "xxhsum", "xxh128": "xxhsum", "xxh3": "xxhsum"}


def listable(path: str) -> bool:
    return not any(c in path for c in "\n\r\\")


def render_list(algorithm: str, files: Iterable[tuple[str, Mapping[str, str]]]) -> tuple[bytes, list[str]]:
    """(the list's bytes, the paths left out). `files`: (relative path, digests)."""
    if algorithm not in LIST_ALGORITHMS:
        raise ValueError(f"no checksum list format for {algorithm!r}")
    lines: list[str] = []
    left_out: list[str] = []
    for path, digests in files:
        value = digests.get(algorithm)
        if value is None:
            continue
        if not listable(path):
            left_out.append(path)
            continue
        lines.append(f"XXH3 ({path}) = {value}\n" if algorithm == "xxh3" else f"{value}  {path}\n")
    return "".join(lines).encode("utf-8", "surrogateescape"), left_out
