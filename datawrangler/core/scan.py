"""Walk a source: deterministic order, ignore rules, symlinks and special files reported, never followed.

Order is depth-first with the entries of each folder sorted by name, so two scans of one card list the
same files in the same order (the reel, the catalog and the MHL depend on it).
"""

from __future__ import annotations

import heapq
import os
import re
import stat
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import translate
from operator import itemgetter
from typing import NamedTuple, overload

from datawrangler.core.errors import Code, OffloadError
from datawrangler.core.events import SkippedEntry

# System files a card or a drive gains from the computers it meets, never the camera's: ignored by default
# (the settings' `ignore` starts from these). Camera index files are not among them.
DEFAULT_IGNORE: tuple[str, ...] = (
    ".DS_Store",
    "._*",
    ".Spotlight-V100",
    ".fseventsd",
    ".Trashes",
    ".TemporaryItems",
    ".DocumentRevisions-V100",
    "System Volume Information",
    "$RECYCLE.BIN",
    "Thumbs.db",
    "desktop.ini",
)


class SourceFile(NamedTuple):
    rel_path: str  # '/'-separated, spelled as on the card
    size: int
    mtime_ns: int


class FileList(Sequence[SourceFile]):
    """The scan's files, packed: a card of 1,000,000 frames is a list the size of its names, not 1,000,000
    objects. Each folder's path is kept once; each file is its folder's number, its name's UTF-8 bytes (with
    surrogates passed through: any name the filesystem gave round-trips) in one buffer, its size and its
    modification time in arrays. About 60 bytes a file where a list of SourceFile took about 300; a SourceFile
    is made when asked for (index, iteration), and equals the one appended."""

    __slots__ = ("_dir_of", "_dirs", "_ends", "_folder", "_mtimes", "_names", "_sizes")

    def __init__(self, files: Iterable[SourceFile] = ()) -> None:
        self._dirs: list[str] = []  # folder paths ('' for the card's top), each once
        self._folder: dict[str, int] = {}
        self._dir_of = array("I")  # per file: its folder's number
        self._names = bytearray()  # every file name, UTF-8, back to back
        self._ends = array("Q")  # per file: where its name ends in _names
        self._sizes = array("q")
        self._mtimes = array("q")
        for f in files:
            self.append(f)

    def append(self, f: SourceFile) -> None:
        folder, _, name = f.rel_path.rpartition("/")
        n = self._folder.get(folder)
        if n is None:
            n = self._folder[folder] = len(self._dirs)
            self._dirs.append(folder)
        self._dir_of.append(n)
        self._names += name.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._names))
        self._sizes.append(f.size)
        self._mtimes.append(f.mtime_ns)

    def __len__(self) -> int:
        return len(self._sizes)

    @overload
    def __getitem__(self, i: int) -> SourceFile: ...
    @overload
    def __getitem__(self, i: slice) -> list[SourceFile]: ...

    def __getitem__(self, i: int | slice) -> SourceFile | list[SourceFile]:
        if isinstance(i, slice):
            return [self._file(k) for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("file index out of range")
        return self._file(i)

    def _file(self, i: int) -> SourceFile:
        start = self._ends[i - 1] if i else 0
        name = self._names[start:self._ends[i]].decode("utf-8", "surrogatepass")
        folder = self._dirs[self._dir_of[i]]
        return SourceFile(f"{folder}/{name}" if folder else name, self._sizes[i], self._mtimes[i])

    def __iter__(self) -> Iterator[SourceFile]:
        names, dirs, dir_of, sizes, mtimes = self._names, self._dirs, self._dir_of, self._sizes, self._mtimes
        prefixes = [f"{d}/" if d else "" for d in dirs]
        start = 0
        for i, end in enumerate(self._ends):  # a snapshot's length: what is appended meanwhile comes next time
            yield SourceFile(prefixes[dir_of[i]] + names[start:end].decode("utf-8", "surrogatepass"),
                             sizes[i], mtimes[i])
            start = end

    def rel_paths(self) -> Iterator[str]:
        """Every file's path, in order, each made when it is asked for (no SourceFile around it)."""
        names, dir_of = self._names, self._dir_of
        prefixes = [f"{d}/" if d else "" for d in self._dirs]
        start = 0
        for i, end in enumerate(self._ends):
            yield prefixes[dir_of[i]] + names[start:end].decode("utf-8", "surrogatepass")
            start = end

    def by_path(self) -> Iterator[SourceFile]:
        """Every file in the order of its rel_path (as str sorts: by code point), holding 4 bytes a file where
        sorting the files whole holds them all: each folder's files are sorted by name when the merge of the
        folders reaches them. (A listing of many folders of a file or two is sorted whole: as cheap there.)"""
        if len(self._dirs) * 4 > len(self):
            yield from sorted(self, key=itemgetter(0))
            return
        members = [array("I") for _ in self._dirs]
        for i, d in enumerate(self._dir_of):
            members[d].append(i)
        yield from heapq.merge(*(self._folder_by_name(d, members) for d in range(len(self._dirs))),
                               key=itemgetter(0))

    def _folder_by_name(self, d: int, members: list[array]) -> Iterator[SourceFile]:
        names, ends, sizes, mtimes = self._names, self._ends, self._sizes, self._mtimes

        def name(i: int) -> str:
            return names[ends[i - 1] if i else 0:ends[i]].decode("utf-8", "surrogatepass")

        order = array("I", sorted(members[d], key=name))
        members[d] = order  # the unsorted numbers go
        prefix = f"{self._dirs[d]}/" if self._dirs[d] else ""
        for i in order:
            yield SourceFile(prefix + name(i), sizes[i], mtimes[i])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable, like the list it replaces

    def __repr__(self) -> str:
        return f"FileList({len(self)} files)"


@dataclass(frozen=True)
class ScanResult:
    root: str
    files: Sequence[SourceFile]  # a FileList (any sequence given is packed into one)
    skipped: list[SkippedEntry]
    ignored: list[str]
    total_bytes: int

    def __post_init__(self) -> None:
        if not isinstance(self.files, FileList):
            object.__setattr__(self, "files", FileList(self.files))

    @property
    def errors(self) -> list[SkippedEntry]:
        """Entries that could not be read: the card cannot be complete without them."""
        return [s for s in self.skipped if s.code is Code.UNREADABLE]


class IgnoreRules:
    """Shell patterns matched against each entry's name (any folder level), case-sensitively."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(p for p in patterns if p)
        # one expression for all of them (as fnmatchcase matches each): one match a name, not one a pattern
        self._match = re.compile("|".join(f"(?:{translate(p)})" for p in self.patterns)).match \
            if self.patterns else None

    def match(self, name: str) -> bool:
        return self._match is not None and self._match(name) is not None


def scan_source(root: str | os.PathLike[str], ignore: Iterable[str] = ()) -> ScanResult:
    root = os.fspath(root)
    if not os.path.exists(root):
        raise OffloadError(Code.SOURCE_MISSING, f"The source {root} does not exist. Check that the card "
                           "is mounted and the path is right.", path=root)
    if not os.path.isdir(root):
        raise OffloadError(Code.SOURCE_NOT_DIR, f"The source {root} is not a folder. Give the card's "
                           "mount point or the folder that holds the clips.", path=root)
    rules = IgnoreRules(ignore)
    files = FileList()
    skipped: list[SkippedEntry] = []
    ignored: list[str] = []
    total = 0

    def listing(abs_dir: str, rel_dir: str) -> Iterator[os.DirEntry[str]] | None:
        try:
            with os.scandir(abs_dir) as it:
                return iter(sorted(it, key=lambda e: e.name))
        except OSError as exc:
            skipped.append(SkippedEntry(rel_dir or ".", Code.UNREADABLE,
                                        f"The folder cannot be read ({exc.strerror}); its files were not "
                                        "copied. Check permissions or the card, then offload again."))
            return None

    # Depth-first pre-order, each folder's entries in name order: a folder's contents come right where its
    # name sorts, so the order over the whole card does not depend on the walk's details.
    stack: list[tuple[str, Iterator[os.DirEntry[str]]]] = []
    top = listing(root, "")
    if top is not None:
        stack.append(("", top))
    while stack:
        rel_dir, it = stack[-1]
        e = next(it, None)
        if e is None:
            stack.pop()
            continue
        rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
        if rules.match(e.name):
            ignored.append(rel)
            continue
        try:
            st = e.stat(follow_symlinks=False)
        except OSError as exc:
            skipped.append(SkippedEntry(rel, Code.UNREADABLE, f"Cannot read this entry ({exc.strerror}); it "
                                        "was not copied. Check permissions or the card, then offload again."))
            continue
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            target = _readlink(e.path)
            skipped.append(SkippedEntry(rel, Code.SYMLINK, f"Symbolic link to {target!r}: not followed "
                                        "and not copied. Copy its target separately if it is needed."))
        elif stat.S_ISDIR(mode):
            sub = listing(e.path, rel)
            if sub is not None:
                stack.append((rel, sub))
        elif stat.S_ISREG(mode):
            if not os.access(e.path, os.R_OK):
                skipped.append(SkippedEntry(rel, Code.UNREADABLE, "No permission to read this file. "
                                            "Fix its permissions, then offload again."))
                continue
            files.append(SourceFile(rel, st.st_size, st.st_mtime_ns))
            total += st.st_size
        else:
            skipped.append(SkippedEntry(rel, Code.SPECIAL_FILE, f"{_kind(mode)}: not a regular file, so "
                                        "it was not copied. If it is needed, copy it by other means."))
    return ScanResult(root, files, skipped, ignored, total)


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "Named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "Socket"
    if stat.S_ISBLK(mode) or stat.S_ISCHR(mode):
        return "Device file"
    return "Special file"
