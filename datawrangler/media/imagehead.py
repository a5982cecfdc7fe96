"""One image-sequence frame's header, read with `struct`: DPX (SMPTE 268M), OpenEXR, TIFF (and BigTIFF), Cineon.

A sequence's metadata comes from its first frame alone, so a 2,400-frame clip costs one small read. Only the
header is read (DPX 2 KB, EXR its attribute list, TIFF its first directory), never the pixels. Every value the
formats mark as undefined (all ones) or that no camera or scanner writes (a 1e31 frame rate) is left out rather
than reported.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

from datawrangler.core.timecode import TimecodeError, parse_rate

_EXR_MAGIC = b"\x76\x2f\x31\x01"
_EXR_MAX_HEADER = 1 << 20  # attribute lists are a few KB; a longer one is not a header
_EXR_PIXEL = {0: "uint", 1: "half", 2: "float"}
_EXR_COMPRESSION = ("none", "RLE", "ZIPS", "ZIP", "PIZ", "PXR24", "B44", "B44A", "DWAA", "DWAB", "HTJ2K")
_DPX_TRANSFER = {1: "printing density", 2: "linear", 3: "logarithmic", 6: "ITU-R BT.709", 13: "ADX"}
_DPX_DESCRIPTOR = {6: "luma", 50: "RGB", 51: "RGBA", 52: "ABGR", 100: "CbYCrY 4:2:2", 102: "CbYCr 4:4:4"}
_TIFF_COMPRESSION = {1: "none", 5: "LZW", 7: "JPEG", 8: "Deflate", 32773: "PackBits", 32946: "Deflate"}
_CINEON_MAGIC = 0x802A5FD7


class HeaderError(ValueError):
    """A frame whose header cannot be read; the message says what is wrong with it."""


@dataclass(frozen=True)
class FrameHeader:
    codec: str  # "DPX 10-bit", "OpenEXR half", "TIFF 16-bit"
    width: int
    height: int
    rate: Fraction | None = None
    timecode: str | None = None  # HH:MM:SS:FF, HH:MM:SS;FF with the drop-frame flag
    extra: dict[str, str] = field(default_factory=dict)


def read_header(path: Path, fmt: str) -> FrameHeader:
    """The header of one frame of format `fmt` ("dpx", "exr", "tiff", "cin"). HeaderError if its bytes are
    not such a header; OSError if the file cannot be read."""
    with path.open("rb") as f:
        reader = {"dpx": _dpx, "exr": _exr, "tiff": _tiff, "cin": _cineon}[fmt]
        if not f.read(1):
            raise HeaderError("it is empty (0 bytes)")
        f.seek(0)
        try:
            return reader(f)
        except HeaderError:
            raise
        except (struct.error, ValueError, IndexError) as exc:
            raise HeaderError(f"its header is cut short or malformed ({exc})") from exc


def smpte_timecode(word: int) -> str | None:
    """A SMPTE 12M time word (hours in the high byte, BCD, drop-frame flag 0x40) as text; None when undefined
    (all ones) or not BCD."""
    if word == 0xFFFFFFFF:
        return None
    digits = [(word >> 24) & 0x3F, (word >> 16) & 0x7F, (word >> 8) & 0x7F, word & 0x3F]
    if any(d & 0xF > 9 or d >> 4 > 9 for d in digits):
        return None
    hh, mm, ss, ff = ((d >> 4) * 10 + (d & 0xF) for d in digits)
    if hh > 23 or mm > 59 or ss > 59:
        return None
    return f"{hh:02d}:{mm:02d}:{ss:02d}{';' if word & 0x40 else ':'}{ff:02d}"


def _text(raw: bytes) -> str:
    raw = raw.split(b"\0", 1)[0]
    return "" if raw.startswith(b"\xff") else raw.decode("latin-1").strip()


def _rate(value: float) -> Fraction | None:
    if not math.isfinite(value) or not 1 <= value <= 1000:
        return None
    try:
        return parse_rate(value)
    except TimecodeError:
        return None


def _size(width: int, height: int) -> tuple[int, int]:
    if not (0 < width < 1 << 20 and 0 < height < 1 << 20):
        raise HeaderError(f"its header gives an impossible image size ({width}x{height})")
    return width, height


def _dpx(f: BinaryIO) -> FrameHeader:
    head = f.read(2048)
    order = {b"SDPX": ">", b"XPDS": "<"}.get(head[:4])
    if order is None:
        raise HeaderError(f"it is not a DPX file (it starts with {head[:4]!r}, not SDPX or XPDS)")
    if len(head) < 1664:
        raise HeaderError(f"its header is cut short ({len(head)} of at least 1664 bytes)")
    (data_offset,) = struct.unpack_from(order + "I", head, 4)
    (industry,) = struct.unpack_from(order + "I", head, 28)
    width, height = _size(*struct.unpack_from(order + "2I", head, 772))
    descriptor, transfer, _, bits = head[800:804]
    packing, encoding = struct.unpack_from(order + "2H", head, 804)
    if bits not in (1, 8, 10, 12, 16, 32, 64):
        raise HeaderError(f"its bit depth ({bits}) is not one a DPX file has")
    extra = {k: v for k, v in (("creator", _text(head[160:260])), ("project", _text(head[260:460])),
                               ("input device", _text(head[1556:1588]))) if v}
    extra["descriptor"] = _DPX_DESCRIPTOR.get(descriptor, str(descriptor))
    if transfer in _DPX_TRANSFER:
        extra["transfer"] = _DPX_TRANSFER[transfer]
    if encoding == 1:
        extra["encoding"] = "RLE"
    rate = timecode = None
    # the film and TV headers exist only when the writer made room for them (FFmpeg writes none)
    if len(head) == 2048 and data_offset >= 2048 and industry >= 384:
        timecode = smpte_timecode(struct.unpack_from(order + "I", head, 1920)[0])
        tv_rate, film_rate = (struct.unpack_from(order + "f", head, at)[0] for at in (1940, 1724))
        rate = _rate(tv_rate) or _rate(film_rate)
        if slate := _text(head[1764:1864]):
            extra["slate"] = slate
    if packing not in (0, 1, 2):
        extra["packing"] = str(packing)
    return FrameHeader(f"DPX {bits}-bit", width, height, rate, timecode, extra)


def _exr(f: BinaryIO) -> FrameHeader:
    head = f.read(8)
    if head[:4] != _EXR_MAGIC:
        raise HeaderError(f"it is not an OpenEXR file (it starts with {head[:4]!r})")
    attrs: dict[str, tuple[str, bytes]] = {}
    buf = f.read(_EXR_MAX_HEADER)
    at = 0
    while True:
        end = buf.find(b"\0", at)
        if end < 0:
            raise HeaderError("its attribute list has no end (the header is cut short)")
        if end == at:
            break
        name = buf[at:end].decode("latin-1")
        type_end = buf.find(b"\0", end + 1)
        if type_end < 0 or type_end + 5 > len(buf):
            raise HeaderError(f"its header is cut short in the attribute {name!r}")
        kind = buf[end + 1:type_end].decode("latin-1")
        (size,) = struct.unpack_from("<i", buf, type_end + 1)
        value = buf[type_end + 5:type_end + 5 + size]
        if size < 0 or len(value) < size:
            raise HeaderError(f"its header is cut short in the attribute {name!r}")
        attrs[name] = (kind, value)
        at = type_end + 5 + size
    window = attrs.get("displayWindow") or attrs.get("dataWindow")
    if window is None or "channels" not in attrs:
        raise HeaderError("its header has no channels or image window")
    x0, y0, x1, y1 = struct.unpack("<4i", window[1][:16])
    width, height = _size(x1 - x0 + 1, y1 - y0 + 1)
    names, types = _exr_channels(attrs["channels"][1])
    kinds = [_EXR_PIXEL.get(t, str(t)) for t in types]
    depth = "/".join(sorted(set(kinds), key=kinds.index))
    extra = {"channels": ",".join(names)}
    if "compression" in attrs:
        code = attrs["compression"][1][0]
        extra["compression"] = _EXR_COMPRESSION[code] if code < len(_EXR_COMPRESSION) else str(code)
    rate = timecode = None
    if "framesPerSecond" in attrs:
        num, den = struct.unpack("<iI", attrs["framesPerSecond"][1][:8])
        rate = Fraction(num, den) if num > 0 and den > 0 else None
    if "timeCode" in attrs:
        timecode = smpte_timecode(struct.unpack("<I", attrs["timeCode"][1][:4])[0])
    for key in ("owner", "comments", "capDate"):
        if key in attrs and attrs[key][0] == "string":
            extra[key] = attrs[key][1].decode("utf-8", "replace")
    return FrameHeader(f"OpenEXR {depth}", width, height, rate, timecode, extra)


def _exr_channels(raw: bytes) -> tuple[list[str], list[int]]:
    names, types, at = [], [], 0
    while at < len(raw) and raw[at] != 0:
        end = raw.index(b"\0", at)
        names.append(raw[at:end].decode("latin-1"))
        types.append(struct.unpack_from("<i", raw, end + 1)[0])
        at = end + 17  # pixel type, pLinear + 3 reserved, x and y sampling
    if not names:
        raise HeaderError("its header lists no channels")
    return names, types


def _tiff(f: BinaryIO) -> FrameHeader:
    head = f.read(16)
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None or len(head) < 8:
        raise HeaderError(f"it is not a TIFF file (it starts with {head[:4]!r})")
    (version,) = struct.unpack_from(order + "H", head, 2)
    big = version == 43
    if version not in (42, 43):
        raise HeaderError(f"it is not a TIFF file (version {version}, not 42 or 43)")
    count_fmt, entry_fmt, entry_size = ("Q", "HHQ8s", 20) if big else ("H", "HHI4s", 12)
    f.seek(struct.unpack_from(order + ("Q" if big else "I"), head, 8 if big else 4)[0])
    (count,) = struct.unpack(order + count_fmt, f.read(struct.calcsize(count_fmt)))
    table = f.read(entry_size * min(count, 4096))
    tags: dict[int, tuple[int, ...]] = {}
    for i in range(len(table) // entry_size):
        tag, kind, n, raw = struct.unpack_from(order + entry_fmt, table, i * entry_size)
        if kind in (3, 4, 16) and tag in (256, 257, 258, 259, 277, 339):
            item = {3: "H", 4: "I", 16: "Q"}[kind]
            size = struct.calcsize(item) * min(n, 16)
            if size > len(raw):
                where = f.tell()
                f.seek(struct.unpack(order + ("Q" if big else "I"), raw)[0])
                raw = f.read(size)
                f.seek(where)
            tags[tag] = struct.unpack_from(f"{order}{min(n, 16)}{item}", raw)
    if 256 not in tags or 257 not in tags:
        raise HeaderError("its first image directory has no width or height")
    width, height = _size(tags[256][0], tags[257][0])
    bits = tags.get(258, (1,))[0]
    kind = " float" if tags.get(339, (1,))[0] == 3 else ""
    compression = tags.get(259, (1,))[0]
    extra = {"compression": _TIFF_COMPRESSION.get(compression, str(compression)),
             "samples per pixel": str(tags.get(277, (1,))[0])}
    return FrameHeader(f"TIFF {bits}-bit{kind}", width, height, None, None, extra)


def _cineon(f: BinaryIO) -> FrameHeader:
    head = f.read(1076)
    order = next((o for o in "><" if len(head) >= 4 and struct.unpack_from(o + "I", head)[0] == _CINEON_MAGIC),
                 None)
    if order is None:
        raise HeaderError(f"it is not a Cineon file (it starts with {head[:4]!r})")
    bits = head[198]
    width, height = _size(*struct.unpack_from(order + "2I", head, 200))
    rate = _rate(struct.unpack_from(order + "f", head, 1072)[0]) if len(head) == 1076 else None
    return FrameHeader(f"Cineon {bits}-bit", width, height, rate, None, {"channels": str(head[193])})
