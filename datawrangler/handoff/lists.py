"""Checksum lists that `md5sum -c`, `sha1sum -c` and `xxhsum -c` accept, run from the roll folder.

Which algorithms have a list, its checker and its form (GNU `<hex>  <path>`, or tagged `XXH3 (<path>) = <hex>`)
come from the registry in core.hashing.
A name with a newline, carriage return or backslash cannot be written unambiguously for every checker: it is
left out and reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from datawrangler.core.hashing import LIST_ALGORITHMS, REGISTRY


def listable(path: str) -> bool:
    return not any(c in path for c in "\n\r\\")


def render_list(algorithm: str, files: Iterable[tuple[str, Mapping[str, str]]]) -> tuple[bytes, list[str]]:
    """(the list's bytes, the paths left out). `files`: (relative path, digests)."""
    if algorithm not in LIST_ALGORITHMS:
        raise ValueError(f"no checksum list format for {algorithm!r}")
    tag = REGISTRY[algorithm].list_tag
    lines: list[str] = []
    left_out: list[str] = []
    for path, digests in files:
        value = digests.get(algorithm)
        if value is None:
            continue
        if not listable(path):
            left_out.append(path)
            continue
        lines.append(f"{tag} ({path}) = {value}\n" if tag else f"{value}  {path}\n")
    return "".join(lines).encode("utf-8", "surrogateescape"), left_out
