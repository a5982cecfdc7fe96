"""Read an existing ASC MHL history (a roll's `ascmhl/` folder): the chain, every generation, and for each
path the digests it was first recorded with. Used to continue a chain, to check a source that arrives with a
history (a shuttle drive, a copy of a copy), and to verify or import a drive without a catalog record.

A history comes from outside, so it is read within limits (handoff.untrusted) and two kinds of trouble are
told apart. A history that is hostile or unreadable (a path out of the roll, a DTD, a file too large, bytes
that are not XML, a digest that is not one) is refused whole: `HistoryError` of kind `refused`/`unreadable`,
whatever `check` says. A chain that does not hold (missing, a manifest missing or modified, a generation
listed twice or gone) is ASC MHL's own failure (its exit codes 31-33): raised with `check`, listed by
`load_lenient`, and then the manifests are still read as they are.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field

from datawrangler.core.hashing import c4_from_sha512
from datawrangler.handoff.history_xml import ChainLink, Generation, HashRecord, HashValue, parse_chain, parse_manifest
from datawrangler.handoff.untrusted import MAX_GENERATIONS, MAX_MANIFEST_BYTES, Budget, Refused, open_plain
from datawrangler.store.handoff_names import ASCMHL_CHAIN, ASCMHL_FOLDER, ASCMHL_MANIFEST

__all__ = ["ChainLink", "Generation", "HashRecord", "HashValue", "History", "HistoryError", "c4_of_file",
           "find_histories", "load", "load_lenient"]

ADVICE = ("Nothing in it is read or trusted. Ask whoever made it for a sound copy, or check these files another "
          "way (against the catalog, or a checksum list).")


class HistoryError(Exception):
    """The history cannot be trusted as it is; `kind` is one of ASC MHL's words for it, or `refused` /
    `unreadable` for a history that is not read at all."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # missing_chain / missing_manifest / modified_manifest / broken_chain / refused / unreadable


@dataclass
class History:
    """What load() read; not changed afterwards (the per-path index is built once, on first use)."""

    root: str  # the folder that holds ascmhl/
    chain: list[ChainLink]
    generations: list[Generation]  # by number
    _index: dict[str, list[tuple[int, HashRecord]]] | None = field(default=None, init=False, repr=False,
                                                                   compare=False)

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

    def records_of(self, path: str) -> list[tuple[int, HashRecord]]:
        """(position of its generation in `generations`, record) for every record of a path, in order: one
        pass over the history for all paths, so that a question per file stays linear."""
        if self._index is None:
            index: dict[str, list[tuple[int, HashRecord]]] = {}
            for i, g in enumerate(self.generations):
                for r in g.records:
                    index.setdefault(r.path, []).append((i, r))
            self._index = index
        return self._index.get(path, [])

    def paths(self) -> dict[str, HashRecord]:
        """Every path the history records, with its latest record."""
        out: dict[str, HashRecord] = {}
        for g in self.generations:
            for r in g.records:
                out[r.path] = r
        return out

    def last_generation(self, path: str) -> int | None:
        """The number of the latest generation that records this path."""
        found = self.records_of(path)
        return self.generations[found[-1][0]].number if found else None

    def first_hashes(self, path: str) -> dict[str, str]:
        """{algorithm: the first value recorded for this path in that algorithm}: what a new hash is compared to."""
        out: dict[str, str] = {}
        for _, r in self.records_of(path):
            for h in r.hashes:
                out.setdefault(h.algorithm, h.value)
        return out

    def original(self, path: str) -> HashValue | None:
        """The first hash entry with action 'original' (what ascmhl verify checks a file against). ascmhl
        looks at the first record of a path in each generation."""
        last = -1
        for i, r in self.records_of(path):
            if i == last:
                continue
            last = i
            for h in r.hashes:
                if h.action == "original":
                    return h
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
    fh, _ = open_plain(path, MAX_MANIFEST_BYTES)
    with fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return c4_from_sha512(h.digest())


def load(root: str, check: bool = True) -> History | None:
    """The history at root (the folder that holds ascmhl/), or None if it has none. A hostile or unreadable
    one always raises HistoryError; with check, so does a chain that does not match its manifests."""
    history, problems = _read(root)
    if check and problems:
        raise problems[0]
    return history


def load_lenient(root: str) -> tuple[History | None, list[str]]:
    """(the history, what is wrong with its chain), for a check that reports rather than stops: the history
    is read as it is when only its chain fails. (None, [why]) when it is refused; (None, []) when there is none."""
    try:
        history, problems = _read(root)
    except HistoryError as exc:
        return None, [str(exc)]
    return history, [str(p) for p in problems]


def _read(root: str) -> tuple[History | None, list[HistoryError]]:
    folder = os.path.join(root, ASCMHL_FOLDER)
    try:
        if os.path.islink(folder):
            raise Refused(f"{folder} is a symbolic link (to {os.path.realpath(folder)}): a history must be a folder "
                          "on the drive itself.")
        if not os.path.isdir(folder):
            return None, []
        budget = Budget()
        names = _manifest_names(folder)
        chain_path = os.path.join(folder, ASCMHL_CHAIN)
        chain = parse_chain(chain_path, budget) if os.path.lexists(chain_path) else None
        generations = [parse_manifest(os.path.join(folder, name), number, budget) for number, name in names]
        problems = _chain_problems(folder, chain, names)
    except Refused as exc:
        raise HistoryError("refused", f"{exc} The ASC MHL history in {folder} is refused. {ADVICE}") from exc
    except OSError as exc:
        raise HistoryError("unreadable", f"The ASC MHL history in {folder} cannot be read ({exc.strerror or exc}"
                           f"{': ' + exc.filename if isinstance(exc.filename, str) else ''}). Check the drive and "
                           "its connection, then try again.") from exc
    generations.sort(key=lambda g: g.number)
    return History(root, chain or [], generations), problems


def _manifest_names(folder: str) -> list[tuple[int, str]]:
    """(generation number, file name) of every manifest in the folder, by name."""
    out: list[tuple[int, str]] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            m = ASCMHL_MANIFEST.match(entry.name)
            if m is None or entry.name.startswith("._"):
                continue
            if len(m.group(1)) > 9:
                raise Refused(f"{entry.path}: a generation number of {len(m.group(1))} digits is not one.")
            out.append((int(m.group(1)), entry.name))
            if len(out) > MAX_GENERATIONS:
                raise Refused(f"{folder} holds more than {MAX_GENERATIONS:,} manifests, more than any real history; "
                              "it is not read.")
    return sorted(out, key=lambda t: t[1])


def _chain_problems(folder: str, chain: list[ChainLink] | None, names: list[tuple[int, str]]) -> list[HistoryError]:
    """Why the chain does not vouch for the manifests: a manifest missing or modified (in the chain's order, as
    ASC MHL finds them), then a chain that lists a generation twice, under another number, or skips one."""
    chain_path = os.path.join(folder, ASCMHL_CHAIN)
    if chain is None:
        return [HistoryError("missing_chain", f"{chain_path} is missing: the history's manifests cannot be "
                             "checked against it.")]
    out: list[HistoryError] = []

    def broken(what: str) -> None:
        out.append(HistoryError("broken_chain", f"{chain_path} {what}: the chain does not hold, so the history "
                                "cannot be trusted as it is. Check the files another way before relying on it."))

    for number, n in sorted(Counter(link.sequence for link in chain).items()):
        if n > 1:
            broken(f"lists generation {number} {n} times")
    for name, n in sorted(Counter(link.path for link in chain).items()):
        if n > 1:
            broken(f"lists {name} {n} times")
    for link in chain:
        m = ASCMHL_MANIFEST.match(link.path)
        if m is not None and int(m.group(1)) != link.sequence:
            broken(f"lists {link.path} as generation {link.sequence}, but its name says {int(m.group(1))}")
    on_disk = Counter(number for number, _ in names)
    listed = {link.sequence for link in chain}
    present = listed | set(on_disk)
    gone: list[int] = []
    k, top = 1, max(listed, default=0)
    while k < top and len(gone) < 10:  # at most len(present) + 10 steps
        if k not in present:
            gone.append(k)
        k += 1
    if gone:
        broken(f"skips generation {', '.join(map(str, gone[:10]))} and its manifest is not there (removed?)")
    for number, n in sorted(on_disk.items()):
        if n > 1:
            broken(f"cannot tell which of {n} manifests in the folder is generation {number}")
    links: list[HistoryError] = []
    c4s: dict[str, str] = {}
    for link in chain:
        c4s.setdefault(link.path, link.c4)
    for name, c4 in c4s.items():
        manifest = os.path.join(folder, name)
        if not os.path.lexists(manifest):
            links.append(HistoryError("missing_manifest", f"{manifest} is listed in the chain but missing."))
        elif c4_of_file(manifest) != c4:
            links.append(HistoryError("modified_manifest", f"{manifest} was modified after it was written (its C4 "
                                      "no longer matches the chain)."))
    return links + out


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
