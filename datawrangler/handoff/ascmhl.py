"""Write ASC MHL (v2.0): one manifest per generation in `<root>/ascmhl/`, never changed once written, and the
chain file `ascmhl_chain.xml` that lists every manifest with the C4 id of its bytes.

Element order, namespaces, date forms and `action` words follow the standard's XSD and what the reference
implementation (ascmhl 1.2) reads. Output depends only on its inputs (`now`, CreatorInfo): byte-stable.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from datawrangler.core.hashing import c4_from_sha512, mhl_order, mhl_rank
from datawrangler.handoff.common import (
    AtomicFile,
    CreatorInfo,
    Sink,
    attr,
    esc,
    iso,
    iso_ns,
    make_folder,
    write_atomic,
)
from datawrangler.handoff.history import ChainLink, History
from datawrangler.store.handoff_names import ASCMHL_CHAIN, ASCMHL_FOLDER, ASCMHL_IGNORE, manifest_name

MHL_NS = "urn:ASC:MHL:v2.0"
DIRECTORY_NS = "urn:ASC:MHL:DIRECTORY:v2.0"
PROCESSES = ("in-place", "transfer", "flatten")


@dataclass(frozen=True)
class Hash:
    algorithm: str
    value: str
    action: str  # original / verified / failed
    hashdate: dt.datetime | float | None = None


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the history's root, '/'-separated, spelled as on disk
    size: int
    mtime_ns: int
    hashes: tuple[Hash, ...]


def ignore_pattern(name: str) -> str:
    """A name as an ASC MHL (gitwildmatch) pattern: a leading '#' or '!' would change its meaning."""
    return "\\" + name if name[:1] in ("#", "!") else name


def ignore_list(patterns: Iterable[str]) -> list[str]:
    out: list[str] = []
    for p in (*ASCMHL_IGNORE, *patterns):
        if p and p not in out:
            out.append(p)
    return out


def actions(history: History | None, path: str, digests: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(algorithm, value, action) for a file's digests against what the history recorded for that path:
    'original' for a path it never saw; 'verified'/'failed' per algorithm it has; an algorithm it lacks is
    added (as verified) only when every algorithm it has matched. [] when nothing can be compared."""
    order = mhl_order(digests)
    if history is None or history.original(path) is None:
        return [(a, digests[a], "original") for a in order]
    known = history.first_hashes(path)
    compared = [(a, digests[a], "verified" if digests[a] == known[a] else "failed") for a in order if a in known]
    if not compared:
        return []
    if all(act == "verified" for _, _, act in compared):
        compared += [(a, digests[a], "verified") for a in order if a not in known]
    return sorted(compared, key=lambda t: mhl_rank(t[0]))


class ManifestWriter:
    """One manifest as it is produced: the header on creation, an entry per `add`, the end on `close`.
    `count`: the entries written (the schema wants at least one in <hashes>, or no <hashes> at all)."""

    def __init__(self, out: Sink, creator: CreatorInfo, process: str, ignore: Sequence[str],
                 now: dt.datetime) -> None:
        if process not in PROCESSES:
            raise ValueError(f"unknown ASC MHL process {process!r}")
        self.out = out
        self.count = 0
        head = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<hashlist version="2.0" xmlns="{MHL_NS}">\n',
                "  <creatorinfo>\n", f"    <creationdate>{iso(now)}</creationdate>\n",
                f"    <hostname>{esc(creator.hostname)}</hostname>\n",
                f'    <tool version="{attr(creator.tool_version)}">{esc(creator.tool_name)}</tool>\n']
        if creator.author:
            head.append(f"    <author>{esc(creator.author)}</author>\n")
        if creator.location:
            head.append(f"    <location>{esc(creator.location)}</location>\n")
        if creator.comment:
            head.append(f"    <comment>{esc(creator.comment)}</comment>\n")
        head += ["  </creatorinfo>\n", "  <processinfo>\n", f"    <process>{process}</process>\n", "    <ignore>\n"]
        head += [f"      <pattern>{esc(p)}</pattern>\n" for p in ignore_list(ignore)]
        head += ["    </ignore>\n", "  </processinfo>\n"]
        out.write("".join(head).encode("utf-8"))

    def add(self, e: Entry) -> None:
        body = ["  <hashes>\n"] if self.count == 0 else []
        body.append("    <hash>\n")
        body.append(f'      <path size="{e.size}" lastmodificationdate="{iso_ns(e.mtime_ns)}">{esc(e.path)}</path>\n')
        for h in sorted(e.hashes, key=lambda h: mhl_rank(h.algorithm)):
            when = f' hashdate="{iso(h.hashdate, micro=True)}"' if h.hashdate is not None else ""
            body.append(f'      <{h.algorithm} action="{h.action}"{when}>{esc(h.value)}</{h.algorithm}>\n')
        body.append("    </hash>\n")
        self.out.write("".join(body).encode("utf-8"))
        self.count += 1

    def close(self) -> None:
        self.out.write(b"  </hashes>\n</hashlist>\n" if self.count else b"</hashlist>\n")


def render_manifest(entries: Iterable[Entry], creator: CreatorInfo, process: str, ignore: Sequence[str],
                    now: dt.datetime) -> bytes:
    """A manifest in memory, for a few entries (tests, a hand-made history)."""
    buf = io.BytesIO()
    doc = ManifestWriter(buf, creator, process, ignore, now)
    for e in entries:
        doc.add(e)
    doc.close()
    return buf.getvalue()


def render_chain(links: Iterable[ChainLink]) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<ascmhldirectory xmlns="{DIRECTORY_NS}">\n']
    for link in links:
        out += [f'  <hashlist sequencenr="{link.sequence}">\n', f"    <path>{esc(link.path)}</path>\n",
                f"    <c4>{link.c4}</c4>\n", "  </hashlist>\n"]
    out.append("</ascmhldirectory>\n")
    return "".join(out).encode("utf-8")


def c4_of(data: bytes) -> str:
    return c4_from_sha512(hashlib.sha512(data).digest())


class NewGeneration:
    """One generation added to the history at root (new if `history` is None), written as its entries arrive:
    the manifest goes to a temporary file in `ascmhl/` (made if need be: a rename within one folder is made
    durable by one folder sync, where a rename out of another folder would need two, and a power cut between
    them brings the temporary name back), its C4 id taken on the way; `commit()` puts the manifest under its
    name, then writes the chain that names it, each synced and renamed. Leaving the `with` block without
    `commit()` (an error, or no entry at all), or a failure in `commit()`, leaves the history as it was: a
    folder made for this generation is removed again (an empty `ascmhl/` reads as a broken history)."""

    def __init__(self, root: str, *, creator: CreatorInfo, process: str, ignore: Sequence[str], now: dt.datetime,
                 history: History | None = None) -> None:
        self.folder = os.path.join(root, ASCMHL_FOLDER)
        self.history = history
        self.number = (history.latest_number if history else 0) + 1
        self.name = manifest_name(self.number, root, now)
        self.path = os.path.join(self.folder, self.name)
        if os.path.exists(self.path):
            raise FileExistsError(f"{self.path} exists already: a manifest is never overwritten")
        self._sha = hashlib.sha512()
        self._created = not os.path.isdir(self.folder)
        self._committed = False
        make_folder(self.folder)
        try:
            self._file = AtomicFile(self.path, self._sha)
        except BaseException:
            self._remove_folder()
            raise
        try:
            self._doc = ManifestWriter(self._file, creator, process, ignore, now)
        except BaseException:
            self._file.discard()
            self._remove_folder()
            raise

    def _remove_folder(self) -> None:
        """The folder this generation made, removed while it is empty (it holds nothing of a history)."""
        if self._created:
            with contextlib.suppress(OSError):
                os.rmdir(self.folder)

    @property
    def count(self) -> int:
        return self._doc.count

    def add(self, entry: Entry) -> None:
        self._doc.add(entry)

    def commit(self) -> str:
        """The manifest, then the chain; returns the manifest's path."""
        self._doc.close()
        committed = False
        try:
            if os.path.exists(self.path):  # a generation written meanwhile by someone else: never overwritten
                raise FileExistsError(f"{self.path} exists already: a manifest is never overwritten")
            self._file.commit()
            committed = True
            c4 = c4_from_sha512(self._sha.digest())
            links = [*(self.history.chain if self.history else []), ChainLink(self.number, self.name, c4)]
            write_atomic(os.path.join(self.folder, ASCMHL_CHAIN), render_chain(links))
        except BaseException:
            # a manifest its chain does not name, or an empty ascmhl/, reads as a broken history: refused ever after
            with contextlib.suppress(OSError):
                if committed:
                    os.unlink(self.path)
            self._file.discard()
            self._remove_folder()
            raise
        self._committed = True
        return self.path

    def __enter__(self) -> NewGeneration:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.discard()
        if not self._committed:
            self._remove_folder()


def write_generation(root: str, entries: Iterable[Entry], *, creator: CreatorInfo, process: str,
                     ignore: Sequence[str], now: dt.datetime, history: History | None = None) -> str:
    """Add one generation to the history at root (new if `history` is None): the manifest first, then the
    chain that names it, each written whole (temp name, fsync, rename). Returns the manifest's path."""
    with NewGeneration(root, creator=creator, process=process, ignore=ignore, now=now, history=history) as gen:
        for e in entries:
            gen.add(e)
        return gen.commit()
