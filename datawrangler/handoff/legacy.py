"""Legacy MHL 1.1 (`<hashlist version="1.1">`, one file per roll), for post houses that still ask for it.

Each algorithm's element is its `mhl11_tag` in core.hashing's registry (xxHash64 is the canonical, big-endian
`<xxhash64be>`, what xxhsum prints). MHL 1.1 knows md5, sha1 and xxHash64 only: other algorithms are not
listed. Written an entry at a time as the catalog's rows arrive (Legacy11), never held whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from datawrangler.core.hashing import REGISTRY
from datawrangler.handoff.common import CreatorInfo, Sink, as_utc, esc

TAGS = tuple((a.name, a.mhl11_tag) for a in REGISTRY.values() if a.mhl11_tag)  # (algorithm, element), in order


def _z(when: dt.datetime | float) -> str:
    return as_utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")


class Legacy11:
    """The header on creation, an entry per `add`, the closing tag on `close`."""

    def __init__(self, out: Sink, creator: CreatorInfo, started: dt.datetime | float,
                 finished: dt.datetime | float) -> None:
        self.out = out
        head = ['<?xml version="1.0" encoding="UTF-8"?>\n', '<hashlist version="1.1">\n', "  <creatorinfo>\n"]
        if creator.author:
            head.append(f"    <name>{esc(creator.author)}</name>\n")
        head += [f"    <hostname>{esc(creator.hostname)}</hostname>\n",
                 f"    <tool>{esc(creator.tool_name)} {esc(creator.tool_version)}</tool>\n",
                 f"    <startdate>{_z(started)}</startdate>\n", f"    <finishdate>{_z(finished)}</finishdate>\n",
                 "  </creatorinfo>\n"]
        out.write("".join(head).encode("utf-8"))

    def add(self, path: str, size: int, mtime_ns: int, digests: Mapping[str, str], hashdate: float | None) -> None:
        tags = [(tag, digests[alg]) for alg, tag in TAGS if alg in digests]
        if not tags:
            return
        entry = ["  <hash>\n", f"    <file>{esc(path)}</file>\n", f"    <size>{size}</size>\n",
                 f"    <lastmodificationdate>{_z(mtime_ns // 1_000_000_000)}</lastmodificationdate>\n"]
        entry += [f"    <{tag}>{value}</{tag}>\n" for tag, value in tags]
        if hashdate is not None:
            entry.append(f"    <hashdate>{_z(hashdate)}</hashdate>\n")
        entry.append("  </hash>\n")
        self.out.write("".join(entry).encode("utf-8"))

    def close(self) -> None:
        self.out.write(b"</hashlist>\n")

