"""The two kinds of file in an ASC MHL history (`ascmhl/`), read as they stream in: the chain
(`ascmhl_chain.xml`: each generation's manifest and the C4 id of its bytes) and a manifest (one generation:
who made it, its ignore patterns, a path and its digests per file).

These files come from outside (a card, a drive from another unit): they are read through handoff.untrusted,
and a path that could leave the roll, a digest that cannot be one of its algorithm, or a chain entry that
is not a manifest's name refuses the file (`Refused`). Each <hash> is dropped from the tree once read.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from datawrangler.core.hashing import ALGORITHMS
from datawrangler.handoff.untrusted import (
    MAX_CHAIN_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_PATTERNS,
    Budget,
    Refused,
    digest_problem,
    local_name,
    path_problem,
    xml_events,
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


def _text(el: Element) -> str:
    return (el.text or "").strip()


def parse_chain(path: str, budget: Budget | None = None) -> list[ChainLink]:
    """Every <hashlist> of the chain, in the order written. Its <path> must be a manifest's file name in the
    same folder (never a path, never the chain itself), its sequencenr a generation number."""
    links: list[ChainLink] = []
    root: Element | None = None
    for event, el, depth in xml_events(path, MAX_CHAIN_BYTES, "ascmhldirectory", budget or Budget()):
        if event == "start":
            root = root if root is not None else el
            continue
        if depth != 2 or root is None:
            continue
        if local_name(el) == "hashlist":
            links.append(_link(el, path))
        root.remove(el)
    return links


def _link(el: Element, path: str) -> ChainLink:
    raw = el.get("sequencenr") or ""
    name = c4 = ""
    for child in el:
        if local_name(child) == "path":
            name = _text(child)
        elif local_name(child) == "c4":
            c4 = _text(child)
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
    budget = budget or Budget()
    g = Generation(number, os.path.basename(path))
    stack: list[Element] = []
    for event, el, depth in xml_events(path, MAX_MANIFEST_BYTES, "hashlist", budget):
        if event == "start":
            stack.append(el)
            continue
        stack.pop()
        tag = local_name(el)
        if depth == 2 and tag == "creatorinfo":
            _creator(g, el)
        elif depth == 2 and tag == "processinfo":
            _process(g, el, path)
        elif depth == 3 and local_name(stack[-1]) == "hashes":
            if tag == "hash":
                record = _record(el, path)
                if record is not None:
                    budget.take_entry(path)
                    g.records.append(record)
            stack[-1].remove(el)  # read: the tree never holds more than one entry
    return g


def _creator(g: Generation, el: Element) -> None:
    for c in el:
        tag = local_name(c)
        if tag == "creationdate":
            g.creation_date = _text(c)
        elif tag == "tool":
            g.tool = f"{_text(c)} {c.get('version') or ''}".strip()
        elif tag == "hostname":
            g.hostname = _text(c)


def _process(g: Generation, el: Element, path: str) -> None:
    for c in el:
        tag = local_name(c)
        if tag == "process":
            g.process = _text(c)
        elif tag == "ignore":
            patterns = tuple((p.text or "") for p in c if local_name(p) == "pattern")
            if len(patterns) > MAX_PATTERNS:
                raise Refused(f"{path} has {len(patterns):,} ignore patterns, over the {MAX_PATTERNS:,} a "
                              "generation may have (each is matched against every file).")
            g.ignore = patterns


def _record(el: Element, path: str) -> HashRecord | None:
    rel: str | None = None
    size = mtime = None
    values: list[HashValue] = []
    for c in el:
        tag = local_name(c)
        if tag == "path":
            rel = c.text or ""
            if (problem := path_problem(rel)) is not None:
                raise Refused(f"{path} lists the path {_short(rel)}, which {problem}: every path in a manifest "
                              "must name a file inside its roll.")
            raw = (c.get("size") or "").strip()
            if raw and (not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > MAX_SIZE):
                raise Refused(f"{path}: the size of {_short(rel)} is {_short(raw)}, not a number of bytes.")
            size = int(raw) if raw else None
            mtime = _mtime_ns(c.get("lastmodificationdate"))
        elif tag in ALGORITHMS:
            value = _text(c)
            if (problem := digest_problem(tag, value)) is not None:
                raise Refused(f"{path}: the {tag} digest of {_short(rel or '?')} ({_short(value)}) {problem}.")
            values.append(HashValue(tag, value, c.get("action"), c.get("hashdate")))
    return HashRecord(rel, size, mtime, tuple(values)) if rel is not None else None
