"""Reading handoff files that come from outside (a card's own ASC MHL history, a drive from another unit):
every read bounded in bytes, depth and entries, no XML entity or DTD ever expanded, no path taken from a file
allowed to lead outside the folder it describes.

A file that breaks one of these rules raises `Refused` with what is wrong and which file: the caller refuses
the whole history (a file that lies about one thing is not trusted about the others). The limits are far above
what a real history holds (ascmhl writes about 300 bytes and one <hash> per file; a card has thousands).
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO
from xml.etree.ElementTree import ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

from datawrangler.core.hashing import REGISTRY
from datawrangler.core.words import human_bytes

MB = 1_000_000
MAX_MANIFEST_BYTES = 250 * MB  # one generation: about 800,000 files
MAX_CHAIN_BYTES = 16 * MB  # the chain: about 100,000 generations
MAX_HISTORY_BYTES = 1000 * MB  # every file of one history together
MAX_ENTRIES = 1_000_000  # file entries in one history, over all its generations (about 750 MB in memory)
MAX_GENERATIONS = 10_000
MAX_PATTERNS = 1_000  # ignore patterns in one generation (each is matched against every file)
MAX_DEPTH = 16  # ASC MHL nests five elements deep
MAX_PATH_BYTES = 4096  # no filesystem holds a longer path

_DRIVE = re.compile(r"^[A-Za-z]:")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_C4 = re.compile(r"^c4[1-9A-HJ-NP-Za-km-z]{88}$")  # SMPTE ST 2114: 'c4' and 88 base58 digits
_HEX_DIGITS = {name: len(a.factory().hexdigest()) for name, a in REGISTRY.items() if name != "c4"}


class Refused(Exception):
    """A file from outside that is not read any further; the message says what is wrong and which file."""


@dataclass
class Budget:
    """What one history may still cost: bytes read and entries kept (a history is many files)."""

    bytes_left: int = MAX_HISTORY_BYTES
    entries_left: int = MAX_ENTRIES

    def take_bytes(self, n: int, path: str) -> None:
        self.bytes_left -= n
        if self.bytes_left < 0:
            raise Refused(f"{path}: the history's files together are over {human_bytes(MAX_HISTORY_BYTES)}, "
                          "more than any real ASC MHL history holds; it is not read further.")

    def take_entry(self, path: str) -> None:
        self.entries_left -= 1
        if self.entries_left < 0:
            raise Refused(f"{path}: the history lists more than {MAX_ENTRIES:,} file entries over its generations; "
                          "it is not read further.")


class _Capped:
    """A file object that refuses to give more than `cap` bytes (a file that grows while it is read)."""

    def __init__(self, fh: BinaryIO, cap: int, path: str) -> None:
        self.fh, self.left, self.path = fh, cap, path

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n if n >= 0 else self.left + 1)
        self.left -= len(data)
        if self.left < 0:
            raise Refused(f"{self.path} grew while it was read; it is not read further.")
        return data


def open_plain(path: str, cap: int) -> tuple[BinaryIO, int]:
    """(the open file, its size) for a plain file of at most cap bytes. A symbolic link, a FIFO, a device or
    a folder is refused (a FIFO would block, a device never end, a link lead anywhere), as is an empty file."""
    if os.path.islink(path):
        raise Refused(f"{path} is a symbolic link: a history's files must be plain files on the drive itself.")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # replaced by a link since the check above
            raise Refused(f"{path} is a symbolic link: a history's files must be plain files.") from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"{path} is not a plain file (a folder, FIFO or device): it is not read.")
        if st.st_size > cap:
            raise Refused(f"{path} is {human_bytes(st.st_size)} ({st.st_size:,} bytes), over the {human_bytes(cap)} "
                          "this kind of file may have; it is not read (a real one is far smaller: the file is "
                          "damaged or not what it claims).")
        if st.st_size == 0:
            raise Refused(f"{path} is empty.")
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb"), st.st_size


class XmlReader:
    """A streaming target for the parser: subclasses get `opened(name, attrib, depth)` and
    `closed(name, attrib, text, depth, parent)` with the local name (no namespace) and the text of an element
    without children. Nothing is kept but the open elements' names: a file's size never becomes a tree.
    The root must be `root`, and nothing may nest deeper than MAX_DEPTH."""

    root = ""

    def __init__(self, path: str) -> None:
        self.path = path
        self._names: list[str] = []
        self._attrs: list[dict[str, str]] = []
        self._text: list[str] = []
        self._local: dict[str, str] = {}

    def opened(self, name: str, attrib: dict[str, str], depth: int) -> None: ...

    def closed(self, name: str, attrib: dict[str, str], text: str, depth: int, parent: str) -> None: ...

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        name = self._local.get(tag)
        if name is None:
            name = self._local.setdefault(tag, tag.rsplit("}", 1)[-1])
        if not self._names and name != self.root:
            raise Refused(f"{self.path} is not what its name says: its root element is <{name}>, not <{self.root}>.")
        if len(self._names) >= MAX_DEPTH:
            raise Refused(f"{self.path} nests its elements more than {MAX_DEPTH} deep (ASC MHL nests five): it is not "
                          "read.")
        self._names.append(name)
        self._attrs.append(attrib)
        self._text = []
        self.opened(name, attrib, len(self._names))

    def data(self, text: str) -> None:
        self._text.append(text)

    def end(self, tag: str) -> None:
        depth = len(self._names)
        name, attrib = self._names.pop(), self._attrs.pop()
        text, self._text = "".join(self._text), []
        self.closed(name, attrib, text, depth, self._names[-1] if self._names else "")

    def close(self) -> None:
        return None


def read_xml(reader: XmlReader, cap: int, budget: Budget) -> None:
    """Feed the file at reader.path to reader as it streams in, with defusedxml's parser: no DTD (so no
    entity, internal or external, is ever declared, expanded or fetched)."""
    path = reader.path
    fh, size = open_plain(path, cap)
    with fh:
        budget.take_bytes(size, path)
        parser = DefusedXMLParser(target=reader, forbid_dtd=True)
        source = _Capped(fh, cap, path)
        try:
            while chunk := source.read(1 << 16):
                parser.feed(chunk)
            parser.close()
        except DTDForbidden as exc:
            raise Refused(f"{path} declares a DTD (<!DOCTYPE {exc.name}>), which ASC MHL never does: its entities "
                          "could expand without bound or read other files, so it is not read.") from exc
        except (EntitiesForbidden, ExternalReferenceForbidden) as exc:
            raise Refused(f"{path} declares XML entities, which ASC MHL never does: it is not read.") from exc
        except ParseError as exc:
            raise Refused(_parse_problem(path, cap, exc)) from exc


def _parse_problem(path: str, cap: int, exc: ParseError) -> str:
    bad = first_bad_utf8(path, cap)
    if bad is not None:
        return f"{path} is not valid UTF-8 (an undecodable byte at offset {bad:,}): the file is damaged."
    line, column = getattr(exc, "position", (0, 0))
    what = str(exc).split(":", 1)[0]
    return f"{path} is not well-formed XML ({what}, line {line}, column {column}): the file is damaged or cut short."


def first_bad_utf8(path: str, cap: int) -> int | None:
    """The offset of the first byte that is not UTF-8, or None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        fh, _ = open_plain(path, cap)
    except (Refused, OSError):
        return None
    with fh:
        while chunk := fh.read(1 << 20):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset - pending + exc.start
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset - len(decoder.getstate()[0])
    return None


def path_problem(rel: str) -> str | None:
    """Why a path recorded in a history cannot be a file under its root (None: it can). ASC MHL paths are
    relative and '/'-separated; a backslash is a separator on Windows, so '..' between backslashes counts."""
    if not rel:
        return "is empty"
    if "\x00" in rel:
        return "holds a NUL byte"
    if len(rel.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        return f"is over {MAX_PATH_BYTES} bytes long"
    if rel.startswith(("\\\\", "//")):
        return "is a network (UNC) path"
    if rel.startswith(("/", "\\")):
        return "is absolute"
    if _DRIVE.match(rel):
        return "starts with a drive letter"
    if ".." in re.split(r"[/\\]", rel):
        return "climbs out of its folder with '..'"
    if any(part in ("", ".") for part in rel.split("/")):
        return "has an empty or '.' component"
    return None


def digest_problem(algorithm: str, value: str) -> str | None:
    """Why a recorded digest cannot be one of this algorithm (None: it can)."""
    if algorithm == "c4":
        return None if _C4.match(value) else "is not a C4 id ('c4' and 88 base58 digits)"
    digits = _HEX_DIGITS[algorithm]
    if not _HEX.match(value):
        return "is not hexadecimal"
    if len(value) != digits:
        return f"has {len(value)} digits, not the {digits} of {algorithm}"
    return None


def escape_through_links(root: str, paths: Iterable[str]) -> tuple[str, str] | None:
    """(a recorded path, where it really leads) for the first path that resolves outside root through a
    symbolic link on the drive, or None. Each folder is resolved once."""
    real_root = os.path.realpath(root)
    folders: dict[str, str] = {"": real_root}

    def inside(p: str) -> bool:
        return p == real_root or p.startswith(real_root.rstrip(os.sep) + os.sep)

    for rel in paths:
        parent, _, name = rel.rpartition("/")
        real_parent = folders.get(parent)
        if real_parent is None:
            real_parent = folders[parent] = os.path.realpath(os.path.join(root, *parent.split("/")))
        full = os.path.join(real_parent, name)
        real = os.path.realpath(full) if os.path.islink(full) else full
        if not inside(real_parent) or not inside(real):
            return rel, real
    return None
