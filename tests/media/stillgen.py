"""Real test media for the sound and image-sequence readers, written byte by byte after the standards: Broadcast
WAV (EBU Tech 3285 bext, iXML), DPX (SMPTE 268M, 10-bit RGB packed method A), OpenEXR (uncompressed scanlines
of half floats), Cineon; TIFF and a second DPX flavour through FFmpeg's own encoders (PyAV), so the readers
also meet files they did not write. The tests check that FFmpeg and Python's `wave` read these files too.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import cast
from xml.sax.saxutils import escape

import av

# ---------------------------------------------------------------- timecode words


def smpte_word(tc: str) -> int:
    """'01:02:03:04' -> 0x01020304 (BCD, hours in the high byte); 'HH:MM:SS;FF' sets the drop-frame flag 0x40."""
    digits = tc.replace(";", ":").split(":")
    word = 0
    for d in digits:
        word = word << 8 | int(d[0]) << 4 | int(d[1])
    return word | (0x40 if ";" in tc else 0)


def samples_at(tc_frames: int, sample_rate: int, rate: Fraction) -> int:
    """The first sample of frame `tc_frames` (frames since midnight): what a recorder writes as TimeReference."""
    exact = Fraction(tc_frames) / rate * sample_rate
    return -(-exact.numerator // exact.denominator)  # ceil: the sample at or after the frame's start


# ---------------------------------------------------------------- Broadcast WAV


@dataclass
class Ixml:
    scene: str | None = None
    take: str | None = None
    tape: str | None = None
    project: str | None = None
    note: str | None = None
    circled: str | None = None
    tracks: Sequence[str] = ()
    rate: str | None = None  # SPEED/TIMECODE_RATE, e.g. "24000/1001"
    flag: str | None = None  # SPEED/TIMECODE_FLAG, "DF" or "NDF"
    stamp_rate: int | None = None  # SPEED/TIMESTAMP_SAMPLE_RATE
    samples_since_midnight: int | None = None
    extra_xml: str = ""

    def xml(self) -> bytes:
        def el(tag: str, value: object) -> str:
            return f"<{tag}>{escape(str(value))}</{tag}>" if value is not None else ""

        speed = "".join((el("TIMECODE_RATE", self.rate), el("TIMECODE_FLAG", self.flag),
                         el("TIMESTAMP_SAMPLE_RATE", self.stamp_rate)))
        if self.samples_since_midnight is not None:
            speed += el("TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI", self.samples_since_midnight >> 32)
            speed += el("TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO", self.samples_since_midnight & 0xFFFFFFFF)
        tracks = "".join(f"<TRACK><CHANNEL_INDEX>{i}</CHANNEL_INDEX><INTERLEAVE_INDEX>{i}</INTERLEAVE_INDEX>"
                         f"{el('NAME', name)}</TRACK>" for i, name in enumerate(self.tracks, 1))
        body = "".join((el("PROJECT", self.project), el("SCENE", self.scene), el("TAKE", self.take),
                        el("TAPE", self.tape), el("CIRCLED", self.circled), el("NOTE", self.note),
                        f"<SPEED>{speed}</SPEED>" if speed else "",
                        f"<TRACK_LIST><TRACK_COUNT>{len(self.tracks)}</TRACK_COUNT>{tracks}</TRACK_LIST>"
                        if self.tracks else "", self.extra_xml))
        return f'<?xml version="1.0" encoding="UTF-8"?><BWFXML><IXML_VERSION>1.61</IXML_VERSION>{body}</BWFXML>' \
            .encode()


@dataclass
class Bext:
    time_reference: int = 0
    description: str = ""
    originator: str = "stillgen"
    originator_ref: str = ""
    date: str = "2026-12-14"
    time: str = "10:22:01"
    coding_history: str = "A=PCM,F=48000,W=24,M=stereo,T=stillgen\r\n"
    encoding: str = "ascii"  # of the description (EBU says ASCII; recorders write UTF-8 or Latin-1 too)

    def data(self) -> bytes:
        fixed = struct.pack("<256s32s32s10s8sQH64s5h180s", self.description.encode(self.encoding),
                            self.originator.encode(),
                            self.originator_ref.encode(), self.date.encode(), self.time.encode(),
                            self.time_reference, 1, b"", 0, 0, 0, 0, 0, b"")
        return fixed + self.coding_history.encode()


def chunk(ident: bytes, payload: bytes) -> bytes:
    return ident + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")


def riff(chunks: bytes) -> bytes:
    """A RIFF WAVE file of these chunks, its size field right."""
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def pcm(samples: int, channels: int, bits: int) -> bytes:
    """A ramp per channel, `bits` wide, little-endian: real audio, not silence."""
    width = bits // 8
    frame = b"".join(((c * 4099 + 1) % (1 << (bits - 1))).to_bytes(width, "little") for c in range(channels))
    ramp = bytearray(frame * min(samples, 4096))
    out = bytearray()
    while len(out) < samples * len(frame):
        out += ramp
    return bytes(out[:samples * len(frame)])


@dataclass
class Wav:
    sample_rate: int = 48000
    bits: int = 24
    channels: int = 2
    samples: int = 4800
    bext: Bext | None = None
    ixml: Ixml | None = None
    fmt_tag: int = 1
    extensible: bool = False
    extra_chunks: list[bytes] = field(default_factory=list)

    def data(self) -> bytes:
        block = self.channels * self.bits // 8
        fmt = struct.pack("<HHIIHH", 0xFFFE if self.extensible else self.fmt_tag, self.channels, self.sample_rate,
                          self.sample_rate * block, block, self.bits)
        if self.extensible:  # cbSize, valid bits, channel mask, sub-format GUID (tag + KSDATAFORMAT tail)
            fmt += struct.pack("<HHI", 22, self.bits, 0) + struct.pack("<H", self.fmt_tag) + \
                bytes.fromhex("000000001000800000aa00389b71")
        body = b"WAVE" + chunk(b"fmt ", fmt)
        if self.bext is not None:
            body += chunk(b"bext", self.bext.data())
        body += chunk(b"data", pcm(self.samples, self.channels, self.bits))
        if self.ixml is not None:  # after the audio, where Sound Devices recorders write it
            body += chunk(b"iXML", self.ixml.xml())
        body += b"".join(self.extra_chunks)
        return riff(body[4:])

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.data())
        return path


# ---------------------------------------------------------------- DPX, Cineon, OpenEXR


def _fit(text: str, size: int) -> bytes:
    return text.encode()[:size].ljust(size, b"\0")


def dpx_bytes(width: int = 64, height: int = 36, *, timecode: str | None = None, tv_fps: float | None = None,
              film_fps: float | None = None, big_endian: bool = True, seed: int = 0, creator: str = "stillgen",
              project: str = "", input_device: str = "", slate: str = "", red: int | None = None) -> bytes:
    """A DPX file: 2048-byte header (generic, image, orientation, film and TV headers) then 10-bit RGB pixels
    packed three to a 32-bit word (method A). Undefined fields are all ones, as the standard says. `red`
    (0-1023) makes the red channel flat, so a thumbnail tells which frame it shows."""
    o = ">" if big_endian else "<"
    undefined_r32 = struct.unpack(o + "f", b"\xff\xff\xff\xff")[0]
    head = bytearray(b"\xff" * 2048)
    pixels = width * height * 4
    struct.pack_into(o + "4sI8sIIIII", head, 0, b"SDPX" if big_endian else b"XPDS", 2048, b"V2.0\0\0\0\0",
                     2048 + pixels, 1, 1664, 384, 0)
    head[36:136] = _fit("frame.dpx", 100)
    head[136:160] = _fit("2026:12:14:10:22:01:UTC", 24)
    head[160:260] = _fit(creator, 100)
    head[260:460] = _fit(project, 200)
    head[460:660] = _fit("", 200)
    struct.pack_into(o + "HHII", head, 768, 0, 1, width, height)
    struct.pack_into(o + "IIfIfBBBBHHIII32s", head, 780, 0, 0, 0.0, 1023, 2.048, 50, 2, 2, 10, 1, 0, 2048, 0, 0,
                     _fit("R,G,B", 32))
    head[1556:1588] = _fit(input_device, 32)
    struct.pack_into(o + "f", head, 1724, film_fps if film_fps is not None else undefined_r32)
    head[1764:1864] = _fit(slate, 100)
    struct.pack_into(o + "II", head, 1920, smpte_word(timecode) if timecode else 0xFFFFFFFF, 0)
    struct.pack_into(o + "f", head, 1940, tv_fps if tv_fps is not None else undefined_r32)
    words = bytearray(pixels)
    for y in range(height):
        for x in range(width):
            r = red if red is not None else (x * 16 + seed * 64) % 1024
            g, b = (y * 28) % 1024, ((x + y) * 8 + seed) % 1024
            struct.pack_into(o + "I", words, (y * width + x) * 4, r << 22 | g << 12 | b << 2)
    return bytes(head) + bytes(words)


def cineon_bytes(width: int = 64, height: int = 36, *, fps: float | None = None) -> bytes:
    """A Cineon header (file, image, origination, film) and 10-bit RGB pixels; FFmpeg has no Cineon decoder."""
    head = bytearray(b"\xff" * 2048)
    struct.pack_into(">IIIIII8s", head, 0, 0x802A5FD7, 2048, 1024, 1024, 0, 2048 + width * height * 4, b"V4.5")
    struct.pack_into(">BBH", head, 192, 0, 3, 0)
    for i in range(3):
        struct.pack_into(">BBBBII", head, 196 + 28 * i, 0, i + 1, 10, 0, width, height)
    struct.pack_into(">f", head, 1072, fps if fps is not None else float("inf"))
    return bytes(head) + bytes(width * height * 4)


EXR_HALF, EXR_FLOAT = 1, 2


def exr_bytes(width: int = 64, height: int = 36, *, timecode: str | None = None,
              fps: tuple[int, int] | None = None, pixel_type: int = EXR_HALF, seed: int = 0) -> bytes:
    """A scanline OpenEXR file without compression: the required attributes, timeCode and framesPerSecond when
    given, the line offset table, one chunk per line with the B, G, R channels in that (alphabetical) order."""
    def attr(name: str, kind: str, value: bytes) -> bytes:
        return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value

    channels = b"".join(c + b"\0" + struct.pack("<iB3xii", pixel_type, 0, 1, 1) for c in (b"B", b"G", b"R")) + b"\0"
    window = struct.pack("<4i", 0, 0, width - 1, height - 1)
    head = b"\x76\x2f\x31\x01" + struct.pack("<i", 2) + b"".join((
        attr("channels", "chlist", channels), attr("compression", "compression", b"\0"),
        attr("dataWindow", "box2i", window), attr("displayWindow", "box2i", window),
        attr("lineOrder", "lineOrder", b"\0"), attr("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
        attr("screenWindowCenter", "v2f", struct.pack("<ff", 0, 0)),
        attr("screenWindowWidth", "float", struct.pack("<f", 1.0)),
        attr("timeCode", "timecode", struct.pack("<II", smpte_word(timecode), 0)) if timecode else b"",
        attr("framesPerSecond", "rational", struct.pack("<iI", *fps)) if fps else b"",
        attr("owner", "string", b"stillgen"),
    )) + b"\0"
    sample = "e" if pixel_type == EXR_HALF else "f"
    lines = []
    for y in range(height):
        values = [((x + seed) % width) / width for x in range(width)]  # B: a ramp across
        values += [y / height] * width + [0.5] * width  # G: a ramp down; R: grey
        payload = struct.pack(f"<{len(values)}{sample}", *values)
        lines.append(struct.pack("<ii", y, len(payload)) + payload)
    table_end = len(head) + 8 * height
    offsets, at = [], table_end
    for line in lines:
        offsets.append(at)
        at += len(line)
    return head + struct.pack(f"<{height}Q", *offsets) + b"".join(lines)


def ffmpeg_still(codec: str, pix_fmt: str, width: int = 64, height: int = 36, seed: int = 0,
                 options: dict[str, str] | None = None) -> bytes:
    """One frame encoded by FFmpeg's own image encoder (tiff, dpx, exr), from an RGB gradient."""
    rgb = av.VideoFrame(width, height, "rgb24")
    plane = rgb.planes[0]
    view = memoryview(plane).cast("B")
    for y in range(height):
        row = bytes(((x * 4 + seed * 9) % 256, (y * 7) % 256, ((x + y) * 3) % 256)[c]
                    for x in range(width) for c in range(3))
        view[y * plane.line_size:y * plane.line_size + width * 3] = row
    frame = rgb.reformat(format=pix_fmt)
    ctx = cast("av.VideoCodecContext", av.CodecContext.create(codec, "w"))  # an image encoder: a video context
    ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = width, height, pix_fmt, Fraction(1, 25)
    ctx.options = options or {}
    return b"".join(bytes(p) for p in ctx.encode(frame) + ctx.encode(None))


# ---------------------------------------------------------------- sequences on a card


def frame_name(prefix: str, number: int, ext: str, digits: int = 7) -> str:
    return f"{prefix}{number:0{digits}d}.{ext}"


def write_sequence(folder: Path, prefix: str, numbers: Iterable[int], ext: str, make: object,
                   digits: int = 7) -> list[str]:
    """Write one file per frame number; `make(number) -> bytes` (or bytes, the same for every frame). Returns
    the names written, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for n in numbers:
        name = frame_name(prefix, n, ext, digits)
        (folder / name).write_bytes(make(n) if callable(make) else make)  # type: ignore[arg-type]
        names.append(name)
    return names


def fake_arriraw(width: int = 64) -> bytes:
    """A frame that looks like ARRIRAW to a card reader (the ARRI magic and a header-sized block) and that no
    open library decodes: what the sequence reader must call 'not read', never 'damaged'."""
    return struct.pack("<4sIII", b"ARRI", 0x12345678, 3, 4096) + bytes(4096 - 16) + bytes(width * 8)
