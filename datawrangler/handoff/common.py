"""What every handoff writer shares: who wrote it, dates as ASC MHL writes them, XML escaping, and writing
a file so that it appears whole under its final name (temp name, fsync, rename, directory sync)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import socket
import uuid
from dataclasses import dataclass

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
    return (d if micro else d.replace(microsecond=0)).isoformat()


def iso_ns(mtime_ns: int) -> str:
    """A file's modification time (nanoseconds) as xs:dateTime, to the second, UTC."""
    return iso(dt.datetime.fromtimestamp(mtime_ns // 1_000_000_000, dt.UTC))


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


def write_atomic(path: str, data: bytes) -> None:
    """Write data to path so that it is either absent/old or complete and on the medium."""
    folder = os.path.dirname(path) or "."
    tmp = os.path.join(folder, f".dwtmp-{uuid.uuid4().hex[:8]}-handoff.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        platform.sync_file(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    platform.sync_dir(folder)
