"""Read an existing ASC MHL history (a roll's `ascmhl/` folder): the chain, every generation, and for each
path the digests it was first recorded with. Used to continue a chain, to check a source that arrives with a
history (a shuttle drive, a copy of a copy), and to verify or import a drive without a catalog record."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from datawrangler.core.hashing import ALGORITHMS, c4_from_sha512
from datawrangler.store.handoff_names import ASCMHL_CHAIN, ASCMHL_FOLDER, ASCMHL_MANIFEST


class HistoryError(Exception):
    """The history cannot be trusted as it is; `kind` is one of ASC MHL's words for it."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # missing_chain / missing_manifest / modified_manifest / unreadable


@dataclass(frozen=True)
class HashValue:
    algorithm: str
    value: str
    action: str | None
    hashdate: str | None


@dataclass(frozen=True)
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


@dataclass
class History:
    root: str  # the folder that holds ascmhl/
    chain: list[ChainLink]
    generations: list[Generation]  # by number

    @property
    def folder(self) -> str:
        return os.path.join(self.root, ASCMHL_FOLDER)

    @property
    def latest_number(self) -> int:
        return max([g.number for g in self.generations] + [c.sequence for c in self.chain] + [0])

    def latest_ignore(self) -> tuple[str, ...]:
        for g in reversed(self.generations):
            if g.ignore is not None:
                return g.ignore
        return ()

    def paths(self) -> dict[str, HashRecord]:
        """Every path the history records, with its latest record."""
        out: dict[str, HashRecord] = {}
        for g in self.generations:
            for r in g.records:
                out[r.path] = r
        return out

    def first_hashes(self, path: str) -> dict[str, str]:
        """{algorithm: the first value recorded for this path in that algorithm}: what a new hash is compared to."""
        out: dict[str, str] = {}
        for g in self.generations:
            for r in g.records:
                if r.path == path:
                    for h in r.hashes:
                        out.setdefault(h.algorithm, h.value)
        return out

    def original(self, path: str) -> HashValue | None:
        """The first hash entry with action 'original' (what ascmhl verify checks a file against)."""
        for g in self.generations:
            for r in g.records:
                if r.path == path:
                    for h in r.hashes:
                        if h.action == "original":
                            return h
                    break  # ascmhl looks at the first record of a path in each generation
        return None

    def expected(self) -> dict[str, dict[str, str]]:
        """{path: {algorithm: value}}: every recorded path with the first value of every algorithm."""
        out: dict[str, dict[str, str]] = {}
        for g in self.generations:
            for r in g.records:
                d = out.setdefault(r.path, {})
                for h in r.hashes:
                    d.setdefault(h.algorithm, h.value)
        return out


def c4_of_file(path: str) -> str:
    h = hashlib.sha512()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return c4_from_sha512(h.digest())


def _tag(el: ET.Element) -> str:
    return el.tag.rsplit("}", 1)[-1]


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


def parse_chain(path: str) -> list[ChainLink]:
    links = []
    for el in ET.parse(path).getroot():
        if _tag(el) != "hashlist":
            continue
        p = c4 = None
        for child in el:
            if _tag(child) == "path":
                p = (child.text or "").strip()
            elif _tag(child) == "c4":
                c4 = (child.text or "").strip()
        links.append(ChainLink(int(el.get("sequencenr") or 0), p or "", c4 or ""))
    return links


def parse_manifest(path: str, number: int) -> Generation:
    g = Generation(number, os.path.basename(path))
    for el in ET.parse(path).getroot():
        t = _tag(el)
        if t == "creatorinfo":
            for c in el:
                ct = _tag(c)
                if ct == "creationdate":
                    g.creation_date = (c.text or "").strip()
                elif ct == "tool":
                    g.tool = f"{(c.text or '').strip()} {c.get('version') or ''}".strip()
                elif ct == "hostname":
                    g.hostname = (c.text or "").strip()
        elif t == "processinfo":
            for c in el:
                ct = _tag(c)
                if ct == "process":
                    g.process = (c.text or "").strip()
                elif ct == "ignore":
                    g.ignore = tuple((p.text or "") for p in c if _tag(p) == "pattern")
        elif t == "hashes":
            for h in el:
                if _tag(h) != "hash":
                    continue  # directory hashes are not file records
                rel = None
                size = mtime = None
                values: list[HashValue] = []
                for c in h:
                    ct = _tag(c)
                    if ct == "path":
                        rel = c.text or ""
                        raw_size = c.get("size")
                        size = int(raw_size) if raw_size else None
                        mtime = _mtime_ns(c.get("lastmodificationdate"))
                    elif ct in ALGORITHMS:
                        values.append(HashValue(ct, (c.text or "").strip(), c.get("action"), c.get("hashdate")))
                if rel is not None:
                    g.records.append(HashRecord(rel, size, mtime, tuple(values)))
    return g


def load(root: str, check: bool = True) -> History | None:
    """The history at root (the folder that holds ascmhl/), or None if it has none. With check, a chain that
    does not match its manifests raises HistoryError (ASC MHL's exit codes 31-33)."""
    folder = os.path.join(root, ASCMHL_FOLDER)
    if not os.path.isdir(folder):
        return None
    chain_path = os.path.join(folder, ASCMHL_CHAIN)
    try:
        chain = parse_chain(chain_path) if os.path.exists(chain_path) else None
        if chain is None and check:
            raise HistoryError("missing_chain", f"{chain_path} is missing: the history's manifests cannot be "
                               "checked against it.")
        for link in chain or []:
            manifest = os.path.join(folder, link.path)
            if not os.path.isfile(manifest):
                if check:
                    raise HistoryError("missing_manifest", f"{manifest} is listed in the chain but missing.")
                continue
            if check and c4_of_file(manifest) != link.c4:
                raise HistoryError("modified_manifest", f"{manifest} was modified after it was written (its C4 no "
                                   "longer matches the chain).")
        gens = []
        for name in sorted(os.listdir(folder)):
            m = ASCMHL_MANIFEST.match(name)
            if m is None or name.startswith("._"):
                continue
            gens.append(parse_manifest(os.path.join(folder, name), int(m.group(1))))
    except (ET.ParseError, ValueError, OSError) as exc:
        raise HistoryError("unreadable", f"The ASC MHL history in {folder} cannot be read ({exc}).") from exc
    gens.sort(key=lambda g: g.number)
    return History(root, chain or [], gens)


def find_histories(top: str) -> list[str]:
    """Every folder at or under top that holds an ascmhl/ history (a drive may carry many rolls)."""
    found = []
    for dirpath, dirs, _names in os.walk(top):
        if ASCMHL_FOLDER in dirs and os.path.isdir(os.path.join(dirpath, ASCMHL_FOLDER)):
            found.append(dirpath)
            dirs[:] = []  # a nested history belongs to the one above it
            continue
        dirs.sort()
    return sorted(found)
