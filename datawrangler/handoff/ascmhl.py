"""Write ASC MHL (v2.0): one manifest per generation in `<root>/ascmhl/`, never changed once written, and the
chain file `ascmhl_chain.xml` that lists every manifest with the C4 id of its bytes.

Element order, namespaces, date forms and `action` words follow the standard's XSD and what the reference
implementation (ascmhl 1.2) reads. Output depends only on its inputs (`now`, CreatorInfo): byte-stable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from datawrangler.core.hashing import c4_from_sha512, mhl_order, mhl_rank
from datawrangler.handoff.common import CreatorInfo, attr, esc, iso, iso_ns, make_folder, write_atomic
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


def render_manifest(entries: Iterable[Entry], creator: CreatorInfo, process: str, ignore: Sequence[str],
                    now: dt.datetime) -> bytes:
    if process not in PROCESSES:
        raise ValueError(f"unknown ASC MHL process {process!r}")
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<hashlist version="2.0" xmlns="{MHL_NS}">\n',
           "  <creatorinfo>\n", f"    <creationdate>{iso(now)}</creationdate>\n",
           f"    <hostname>{esc(creator.hostname)}</hostname>\n",
           f'    <tool version="{attr(creator.tool_version)}">{esc(creator.tool_name)}</tool>\n']
    if creator.author:
        out.append(f"    <author>{esc(creator.author)}</author>\n")
    if creator.location:
        out.append(f"    <location>{esc(creator.location)}</location>\n")
    if creator.comment:
        out.append(f"    <comment>{esc(creator.comment)}</comment>\n")
    out += ["  </creatorinfo>\n", "  <processinfo>\n", f"    <process>{process}</process>\n", "    <ignore>\n"]
    out += [f"      <pattern>{esc(p)}</pattern>\n" for p in ignore_list(ignore)]
    out += ["    </ignore>\n", "  </processinfo>\n"]
    body = []
    for e in entries:
        body.append("    <hash>\n")
        body.append(f'      <path size="{e.size}" lastmodificationdate="{iso_ns(e.mtime_ns)}">{esc(e.path)}</path>\n')
        for h in sorted(e.hashes, key=lambda h: mhl_rank(h.algorithm)):
            when = f' hashdate="{iso(h.hashdate, micro=True)}"' if h.hashdate is not None else ""
            body.append(f'      <{h.algorithm} action="{h.action}"{when}>{esc(h.value)}</{h.algorithm}>\n')
        body.append("    </hash>\n")
    if body:  # the schema wants at least one entry in <hashes>, or no <hashes> at all
        out += ["  <hashes>\n", *body, "  </hashes>\n"]
    out.append("</hashlist>\n")
    return "".join(out).encode("utf-8")


def render_chain(links: Iterable[ChainLink]) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<ascmhldirectory xmlns="{DIRECTORY_NS}">\n']
    for link in links:
        out += [f'  <hashlist sequencenr="{link.sequence}">\n', f"    <path>{esc(link.path)}</path>\n",
                f"    <c4>{link.c4}</c4>\n", "  </hashlist>\n"]
    out.append("</ascmhldirectory>\n")
    return "".join(out).encode("utf-8")


def c4_of(data: bytes) -> str:
    return c4_from_sha512(hashlib.sha512(data).digest())


def write_generation(root: str, entries: Iterable[Entry], *, creator: CreatorInfo, process: str,
                     ignore: Sequence[str], now: dt.datetime, history: History | None = None) -> str:
    """Add one generation to the history at root (new if `history` is None): the manifest first, then the
    chain that names it, each written whole (temp name, fsync, rename). Returns the manifest's path."""
    folder = os.path.join(root, ASCMHL_FOLDER)
    make_folder(folder)
    number = (history.latest_number if history else 0) + 1
    name = manifest_name(number, root, now)
    data = render_manifest(entries, creator, process, ignore, now)
    path = os.path.join(folder, name)
    if os.path.exists(path):
        raise FileExistsError(f"{path} exists already: a manifest is never overwritten")
    write_atomic(path, data)
    links = [*(history.chain if history else []), ChainLink(number, name, c4_of(data))]
    write_atomic(os.path.join(folder, ASCMHL_CHAIN), render_chain(links))
    return path
