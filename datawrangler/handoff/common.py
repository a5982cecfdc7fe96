"""What every handoff writer shares: who wrote it, dates as ASC MHL writes them, XML escaping, and writing
a file as it is produced so that it appears whole under its final name (temp name, fsync, rename, directory
sync): a roll of a million files is never held whole in memory, and a failure half way leaves no half file."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import os
import re
import socket
import uuid
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from datawrangler import __version__, platform

TOOL_NAME = "DataWrangler"


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True)
class CreatorInfo:
    """The <creatorinfo> of a manifest: injected, so that output is byte-stable under a fixed clock/host."""

    hostname: str
    tool_name: str = TOOL_NAME
    tool_version: str = __version__
    author: str | None = None
    location: str | None = None
    comment: str | None = None

    @classmethod
    def here(cls, author: str | None = None, comment: str | None = None) -> CreatorInfo:
        return cls(socket.gethostname(), author=author or None, comment=comment)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(when: dt.datetime | float) -> dt.datetime:
    if isinstance(when, int | float):
        return dt.datetime.fromtimestamp(when, dt.UTC)
    if when.tzinfo is None:
        raise ValueError("handoff dates must carry a time zone")
    return when.astimezone(dt.UTC)


def iso(when: dt.datetime | float, micro: bool = False) -> str:
    """xs:dateTime in UTC, e.g. 2023-10-14T10:40:00+00:00 (ASC MHL's form; micro for hashdate)."""
    d = as_utc(when)
    if not micro or not d.microsecond:
        return _iso_second(math.floor(d.timestamp()))
    # the second's text is shared by the files of that second: each manifest line has two dates
    return f"{_iso_second(math.floor(d.timestamp()))[:-6]}.{d.microsecond:06d}+00:00"


def iso_ns(mtime_ns: int) -> str:
    """A file's modification time (nanoseconds) as xs:dateTime, to the second, UTC."""
    return _iso_second(mtime_ns // 1_000_000_000)


@functools.lru_cache(maxsize=4096)
def _iso_second(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()


def xml_ok(text: str) -> bool:
    """Can XML 1.0 carry this text at all? (control characters and undecodable bytes cannot be written)"""
    return _XML_INVALID.search(text) is None


def esc(text: str) -> str:
    """Element text: a carriage return is written as a reference, or a parser would turn it into a newline."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def attr(text: str) -> str:
    return esc(text).replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")


def make_folder(folder: str) -> None:
    """Make `folder` (and missing parents) so that it survives a power cut: each new folder's parent is synced."""
    for new in platform.make_dirs(folder):  # deepest first: each parent holds the name of the folder below it
        platform.sync_dir(os.path.dirname(new))


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


class Sink(Protocol):
    """Where a handoff writer puts its bytes as it makes them: an AtomicFile, or io.BytesIO."""

    def write(self, data: bytes, /) -> object: ...


# A handoff file's temporary name: .dwtmp-<pid>-<random>-handoff.part (the engine's temp names share the
# prefix and suffix, so every DataWrangler temp file is recognised as one).
TEMP_HEAD, TEMP_TAIL = ".dwtmp-", "-handoff.part"
_TEMP_NAME = re.compile(r"^\.dwtmp-(\d+)-[0-9a-f]{8}-handoff\.part$")


def remove_stale_temps(folder: str) -> int:
    """Remove the handoff temporary files in `folder` that no running process of this machine is writing: a
    power cut between a rename and the sync of the folder it left brings the temporary name back. The folder
    is synced after; the count removed."""
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    removed = 0
    for name in names:
        m = _TEMP_NAME.match(name)
        if m is None or platform.process_alive(int(m.group(1)), None):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(folder, name))
            removed += 1
    if removed:
        platform.sync_dir(folder)
    return removed


class AtomicFile:
    """A file written as it is produced, that appears whole under its final name or not at all: its bytes go to
    a temporary name in the same folder; `commit()` syncs them, renames the file and syncs the folder. Leaving
    the `with` block without `commit()` (an error half way, nothing worth keeping) removes the temporary file.
    `hasher` (e.g. hashlib.sha512()) sees every byte written: the C4 id of a manifest without reading it back.
    The temporary file is in the final folder: one folder sync makes the rename durable."""

    def __init__(self, path: str, hasher: Hasher | None = None) -> None:
        self.path = path
        self.folder = os.path.dirname(path) or "."
        self.hasher = hasher
        self._tmp = os.path.join(self.folder, f"{TEMP_HEAD}{os.getpid()}-{uuid.uuid4().hex[:8]}{TEMP_TAIL}")
        fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        self._fh: BinaryIO | None = os.fdopen(fd, "wb", buffering=1 << 20)

    def write(self, data: bytes, /) -> None:
        if self._fh is None:
            raise ValueError(f"{self.path} was committed or discarded already: nothing more can be written to it")
        self._fh.write(data)
        if self.hasher is not None:
            self.hasher.update(data)

    def commit(self) -> None:
        """The bytes on the medium, then under the final name (replacing an older file of that name)."""
        fh = self._fh
        if fh is None:
            raise ValueError(f"{self.path} was committed or discarded already")
        try:
            fh.flush()
            platform.sync_file(fh.fileno())
        except BaseException:
            self.discard()
            raise
        self._fh = None
        fh.close()
        try:
            os.replace(self._tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            raise
        platform.sync_dir(self.folder)

    def discard(self) -> None:
        """Remove the temporary file; the final name keeps what it had (or stays absent)."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        with contextlib.suppress(OSError):
            fh.close()  # a failing flush of the unwanted bytes (a full drive) must not hide why we got here
        with contextlib.suppress(OSError):
            os.unlink(self._tmp)
            platform.sync_dir(os.path.dirname(self._tmp) or ".")  # else a power cut brings the temp name back

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def write_atomic(path: str, data: bytes) -> None:
    """Write data to path so that it is either absent/old or complete and on the medium."""
    with AtomicFile(path) as out:
        out.write(data)
        out.commit()
