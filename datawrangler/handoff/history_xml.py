"""The two kinds of file in an ASC MHL history (`ascmhl/`), read as they stream in: the chain
(`ascmhl_chain.xml`: each generation's manifest and the C4 id of its bytes) and a manifest (one generation:
who made it, its ignore patterns, a path and its digests per file).

These files come from outside (a card, a drive from another unit): they are read through handoff.untrusted,
and a path that could leave the roll, a digest that cannot be one of its algorithm, or a chain entry that
is not a manifest's name refuses the file (`Refused`). No tree is built: each entry is kept as a record.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import dataclass, field

from datawrangler.core.hashing import ALGORITHMS
from datawrangler.handoff.untrusted import (
    MAX_CHAIN_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_PATTERNS,
    Budget,
    Refused,
    XmlReader,
    digest_problem,
    path_problem,
    read_xml,
)
from datawrangler.store.handoff_names import ASCMHL_MANIFEST

MAX_SIZE = 1 << 62  # bytes: more than any file


@dataclass(frozen=True, slots=True)
class HashValue:
    algorithm: str
    value: str
    action: str | None
    hashdate: str | None


@dataclass(frozen=True, slots=True)
class HashRecord:
    path: str  # relative to the history's root, '/'-separated, as written
    size: int | None
    mtime_ns: int | None  # from lastmodificationdate (seconds)
    hashes: tuple[HashValue, ...]


@dataclass(frozen=True)
class ChainLink:
    sequence: int
    path: str
    c4: str


@dataclass
class Generation:
    number: int
    filename: str
    process: str | None = None
    creation_date: str | None = None
    tool: str | None = None
    hostname: str | None = None
    ignore: tuple[str, ...] | None = None
    records: list[HashRecord] = field(default_factory=list)


def _short(text: str) -> str:
    return repr(text if len(text) <= 120 else text[:120] + "…")


def _mtime_ns(text: str | None) -> int | None:
    if not text:
        return None
    try:
        d = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return int(d.timestamp()) * 1_000_000_000


def parse_chain(path: str, budget: Budget | None = None) -> list[ChainLink]:
    """Every <hashlist> of the chain, in the order written. Its <path> must be a manifest's file name in the
    same folder (never a path, never the chain itself), its sequencenr a generation number."""
    reader = _ChainReader(path)
    read_xml(reader, MAX_CHAIN_BYTES, budget or Budget())
    return reader.links


class _ChainReader(XmlReader):
    root = "ascmhldirectory"

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.links: list[ChainLink] = []
        self.name = self.c4 = ""

    def opened(self, name: str, attrib: dict[str, str], depth: int) -> None:
        if depth == 2 and name == "hashlist":
            self.name = self.c4 = ""

    def closed(self, name: str, attrib: dict[str, str], text: str, depth: int, parent: str) -> None:
        if depth == 3 and parent == "hashlist":
            if name == "path":
                self.name = text.strip()
            elif name == "c4":
                self.c4 = text.strip()
        elif depth == 2 and name == "hashlist":
            self.links.append(self._link((attrib.get("sequencenr") or "").strip()))

    def _link(self, raw: str) -> ChainLink:
        path, name, c4 = self.path, self.name, self.c4
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
            raise Refused(f"{path} gives the generation number {_short(raw)}, not a whole number from 1.")
        m = ASCMHL_MANIFEST.match(name)
        if m is None or name.startswith("._") or "/" in name or "\\" in name:
            raise Refused(f"{path} lists {_short(name)} as generation {raw}: a chain may only list the manifests "
                          "(NNNN_….mhl) beside it in the ascmhl folder, never another path or the chain itself.")
        if c4 and (problem := digest_problem("c4", c4)) is not None:
            raise Refused(f"{path}: the C4 id of {name} ({_short(c4)}) {problem}.")
        return ChainLink(int(raw), name, c4)


def parse_manifest(path: str, number: int, budget: Budget | None = None) -> Generation:
    """One generation: its creator, process and ignore patterns, and a record per <hash> (directory hashes
    are not file records). A path that could leave the roll, a size that is not a number of bytes or a
    digest that cannot be its algorithm's refuses the file."""
    reader = _ManifestReader(path, Generation(number, os.path.basename(path)), budget or Budget())
    read_xml(reader, MAX_MANIFEST_BYTES, reader.budget)
    return reader.generation


class _ManifestReader(XmlReader):
    root = "hashlist"

    def __init__(self, path: str, generation: Generation, budget: Budget) -> None:
        super().__init__(path)
        self.generation, self.budget = generation, budget
        self.patterns: list[str] = []
        self.rel: str | None = None
        self.size: int | None = None
        self.mtime: int | None = None
        self.values: list[HashValue] = []

    def opened(self, name: str, attrib: dict[str, str], depth: int) -> None:
        if depth == 3 and name == "hash":
            self.rel, self.size, self.mtime, self.values = None, None, None, []
        elif depth == 3 and name == "ignore":
            self.patterns = []

    def closed(self, name: str, attrib: dict[str, str], text: str, depth: int, parent: str) -> None:
        g = self.generation
        if depth == 4 and parent == "hash":
            if name == "path":
                self._path(text, attrib)
            elif name in ALGORITHMS:
                value = text.strip()
                if (problem := digest_problem(name, value)) is not None:
                    raise Refused(f"{self.path}: the {name} digest of {_short(self.rel or '?')} ({_short(value)}) "
                                  f"{problem}.")
                action = attrib.get("action")
                self.values.append(HashValue(name, value, sys.intern(action) if action else None,
                                             attrib.get("hashdate")))
        elif depth == 3 and parent == "hashes" and name == "hash":
            if self.rel is not None:
                self.budget.take_entry(self.path)
                g.records.append(HashRecord(self.rel, self.size, self.mtime, tuple(self.values)))
        elif depth == 4 and parent == "ignore" and name == "pattern":
            self.patterns.append(text)
            if len(self.patterns) > MAX_PATTERNS:
                raise Refused(f"{self.path} has more than {MAX_PATTERNS:,} ignore patterns, the most a generation "
                              "may have (each is matched against every file).")
        elif depth == 3 and parent == "processinfo":
            if name == "process":
                g.process = text.strip()
            elif name == "ignore":
                g.ignore = tuple(self.patterns)
        elif depth == 3 and parent == "creatorinfo":
            if name == "creationdate":
                g.creation_date = text.strip()
            elif name == "tool":
                g.tool = f"{text.strip()} {attrib.get('version') or ''}".strip()
            elif name == "hostname":
                g.hostname = text.strip()

    def _path(self, rel: str, attrib: dict[str, str]) -> None:
        if (problem := path_problem(rel)) is not None:
            raise Refused(f"{self.path} lists the path {_short(rel)}, which {problem}: every path in a manifest "
                          "must name a file inside its roll.")
        raw = (attrib.get("size") or "").strip()
        if raw and (not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > MAX_SIZE):
            raise Refused(f"{self.path}: the size of {_short(rel)} is {_short(raw)}, not a number of bytes.")
        self.rel, self.size = rel, int(raw) if raw else None
        self.mtime = _mtime_ns(attrib.get("lastmodificationdate"))
