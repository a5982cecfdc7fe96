"""Sound files: Broadcast WAV from sound recorders (bext, iXML).

The recorder's timecode is the bext TimeReference (samples since midnight) counted at the iXML timecode rate
(SPEED/TIMECODE_RATE, TIMECODE_FLAG DF/NDF); scene, take, sound roll (TAPE) and track names come from iXML, else
from the `sSCENE=`/`zTAKE=` lines Sound Devices and Zaxcom write into the bext description. The RIFF chunk list
is walked first (seeks only), so that a truncated or malformed file is called possibly damaged, in words, before
a chunk is read, and a bogus chunk size never makes us read gigabytes. The bext chunk is decoded by `wavinfo`'s
EBU Tech 3285 reader; iXML is parsed with defusedxml (XML from a card: no entity expansion), apart from wavinfo,
whose WavInfoReader fails the whole file on an empty or broken iXML chunk (a recorder that reserved the chunk
and lost power): that file's audio is whole, so it is read, and the chunk that could not be is said. Other
sound files (AIFF, FLAC, MP3) are probed with PyAV.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import av
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from wavinfo.wave_bext_reader import WavBextReader

from datawrangler.core.clips import ClipGroup, ClipMeta, ClipState
from datawrangler.core.timecode import TimecodeError, from_samples, parse_rate, rate_text

DEFAULT_RATE = Fraction(25)
_FORMAT = {1: "PCM", 3: "PCM float", 6: "A-law", 7: "µ-law"}
_MAX_META = 16 << 20  # bext and iXML are kilobytes; a larger one is not read into memory
_DESC = re.compile(r"^[a-z]([A-Z][A-Z0-9_]*)=(.*?)\s*$", re.MULTILINE)
_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*-?\s*(DF|ND|NDF)?", re.IGNORECASE)

Chunks = dict[bytes, tuple[int, int]]  # ident -> (data offset, length), the first chunk of each ident


@dataclass(frozen=True)
class _Wave:
    tag: int  # the format tag (WAVE_FORMAT_EXTENSIBLE: its sub-format's)
    channels: int
    sample_rate: int
    block_align: int
    bits: int
    bext: WavBextReader | None
    ixml: Any  # the iXML root element, or None
    unread: tuple[str, ...]  # metadata chunks that could not be read, in words


class _Damaged(Exception):
    """What makes a sound file unreadable, in words."""


def read_audio(root: Path, group: ClipGroup, thumbs: Sequence[Path]) -> ClipMeta:
    """The sound clip `group` (one file) read from the verified copy under `root`. `thumbs` is ignored: sound
    has no picture. A file that is not a readable WAV, or shorter than its header says, is possibly damaged;
    OSError only when the file cannot be read at all (missing, I/O error)."""
    rel = group.files[0]
    path = root / rel
    wav = path.suffix.lower() in (".wav", ".bwf")
    try:
        if not wav:
            return _probe(path)
        with path.open("rb") as f:
            chunks = _walk(f, path.stat().st_size)
            wave = _read(f, chunks)
        return _meta(wave, chunks[b"data"][1])
    except _Damaged as exc:
        kind = "WAV" if wav else "sound"
        return ClipMeta(state=ClipState.DAMAGED, container="wav" if wav else path.suffix.lower().lstrip("."),
                        problems=(f"{rel} is not a readable {kind} file: {exc}; check the recorder's copy of it",))


def _walk(f: BinaryIO, size: int) -> Chunks:
    """The top-level chunks, checked against the file's size (RF64/BW64: ds64 gives the 64-bit sizes)."""
    head = f.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64", b"BW64") or head[8:12] != b"WAVE":
        raise _Damaged(f"it does not start as a WAV file does (RIFF ... WAVE) but with {head[:12]!r}")
    riff_size = struct.unpack_from("<I", head, 4)[0] + 8
    big: tuple[int, int] | None = None
    chunks: Chunks = {}
    at = 12
    while at + 8 <= min(riff_size, size):
        f.seek(at)
        ident, length = struct.unpack("<4sI", f.read(8))
        if ident == b"data" and length == 0xFFFFFFFF and big is not None:
            length = big[1]
        if at + 8 + length > size:
            raise _Damaged(f"its {ident.decode('latin-1')!r} chunk declares {length:,} bytes but the file ends "
                           f"{max(size - at - 8, 0):,} bytes into it (it is cut short)")
        if ident == b"ds64" and length >= 16 and big is None:
            riff64, data64 = struct.unpack("<QQ", f.read(16))
            big, riff_size = (riff64 + 8, data64), riff64 + 8
        chunks.setdefault(ident, (at + 8, length))
        at += 8 + length + (length & 1)
    if head[:4] != b"RIFF" and big is None:
        raise _Damaged(f"it is an {head[:4].decode()} file without the ds64 chunk that gives its sizes")
    if riff_size > size + 1:  # one byte of slack: some writers count a pad byte they never write
        raise _Damaged(f"its header declares {riff_size:,} bytes but the file holds {size:,} (it is cut short)")
    for need in (b"fmt ", b"data"):
        if need not in chunks and riff_size < size:
            raise _Damaged(f"it has no {need.decode().strip()!r} chunk in the {riff_size:,} bytes its header declares "
                           f"(the file holds {size:,}: the recorder may not have finished writing it)")
        if need not in chunks:
            raise _Damaged(f"it has no {need.decode().strip()!r} chunk")
    for meta in (b"bext", b"iXML"):
        if chunks.get(meta, (0, 0))[1] > _MAX_META:
            raise _Damaged(f"its {meta.decode()!r} chunk declares {chunks[meta][1]:,} bytes, more than a recorder "
                           "writes")
    return chunks


def _read(f: BinaryIO, chunks: Chunks) -> _Wave:
    """The fmt chunk (a malformed one: the file is not readable), bext and iXML (a malformed one is said, and
    the rest of the file is still read)."""
    fmt_at, fmt_len = chunks[b"fmt "]
    if fmt_len < 16:
        raise _Damaged(f"its fmt chunk is {fmt_len} bytes, fewer than the 16 of every WAV")
    f.seek(fmt_at)
    fmt = f.read(min(fmt_len, 40))
    tag, channels, sample_rate, _, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if not (channels and sample_rate and block_align):
        raise _Damaged(f"its fmt chunk gives {channels} channels at {sample_rate} Hz, {block_align} bytes a frame")
    if tag == 0xFFFE and len(fmt) >= 26:
        tag = struct.unpack_from("<H", fmt, 24)[0]
    unread = []
    bext = ixml = None
    if b"bext" in chunks:
        f.seek(chunks[b"bext"][0])
        data = f.read(chunks[b"bext"][1])
        try:  # ASCII by the standard; recorders write UTF-8 or Latin-1 too
            try:
                bext = WavBextReader(data, "utf-8")
            except UnicodeDecodeError:
                bext = WavBextReader(data, "latin-1")
        except struct.error:
            unread.append(f"bext chunk not read: it is {len(data)} bytes, fewer than the 602 of EBU Tech 3285, "
                          "so the file has no timecode; take it from the sound report")
    if b"iXML" in chunks:
        f.seek(chunks[b"iXML"][0])
        text = f.read(chunks[b"iXML"][1]).rstrip(b"\0 \r\n\t")
        try:
            ixml = fromstring(text)
        except (ParseError, DefusedXmlException) as exc:
            unread.append(f"iXML chunk not read ({exc}): scene, take, sound roll and track names are not known; "
                          "take them from the sound report")
    return _Wave(tag, channels, sample_rate, block_align, bits, bext, ixml, tuple(unread))


def _meta(wave: _Wave, data_len: int) -> ClipMeta:
    samples = data_len // wave.block_align
    bits = wave.bits
    codec = _FORMAT.get(wave.tag, f"format 0x{wave.tag:04X}")
    ixml, bext = wave.ixml, wave.bext
    desc = dict(_DESC.findall(bext.description)) if bext is not None else {}
    extra: dict[str, str] = {}

    def ix(path: str, key: str | None = None) -> str | None:
        node = ixml.find(path) if ixml is not None else None
        text = (node.text or "").strip() if node is not None else ""
        return text or (desc.get(key) if key else None) or None

    rate, drop = _timecode_rate(ix("SPEED/TIMECODE_RATE"), ix("SPEED/TIMECODE_FLAG"), desc.get("SPEED"), extra)
    reference = bext.time_reference if bext is not None else None
    hi, lo = ix("SPEED/TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI"), ix("SPEED/TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO")
    if reference is None and hi and lo and hi.isdigit() and lo.isdigit():
        reference = int(hi) << 32 | int(lo)
    stamp_rate = ix("SPEED/TIMESTAMP_SAMPLE_RATE")
    clock = int(stamp_rate) if stamp_rate and stamp_rate.isdigit() and int(stamp_rate) > 0 else wave.sample_rate
    tc_in = tc_out = None
    if reference is not None:
        tc_in = from_samples(reference, clock, rate or DEFAULT_RATE, drop)
        tc_out = from_samples(reference + max(samples - 1, 0), clock, rate or DEFAULT_RATE, drop)
    else:
        extra.pop("timecode_rate", None)  # no timecode, so no rate was assumed for it
    if bext is not None:
        b = bext
        extra.update({k: v for k, v in (("originator", b.originator), ("description", b.description.strip()),
                                        ("originator_reference", b.originator_ref),
                                        ("recorded", f"{b.originator_date} {b.originator_time}".strip())) if v})
    for key, path in (("project", "PROJECT"), ("note", "NOTE"), ("circled", "CIRCLED")):
        if value := ix(path, path):
            extra[key] = value
    return ClipMeta(
        problems=wave.unread, container="wav", codec=f"{codec} {bits}-bit" if bits else codec,
        audio_channels=wave.channels, sample_rate=wave.sample_rate, bit_depth=bits or None,
        duration=samples / wave.sample_rate, fps=_rate_str(rate), tc_in=tc_in, tc_out=tc_out,
        scene=ix("SCENE", "SCENE"), take=ix("TAKE", "TAKE"), tape=ix("TAPE", "TAPE"),
        tracks=_tracks(ixml, desc, wave.channels), extra=extra)


def _timecode_rate(ixml_rate: str | None, ixml_flag: str | None, speed: str | None,
                   extra: dict[str, str]) -> tuple[Fraction | None, bool]:
    """(rate, drop frame) from iXML, else from the bext description's SPEED line; None (25 is then assumed,
    and `extra` says so) when the file names none or an unreadable one."""
    said = ixml_rate
    try:
        rate = parse_rate(ixml_rate)
    except TimecodeError:
        rate = None
    drop = (ixml_flag or "").upper() == "DF"
    if rate is None and speed and (m := _SPEED.match(speed)):
        said, rate, drop = speed, parse_rate(m[1]), (m[2] or "").upper() == "DF"
    if rate is None:
        why = f"its timecode rate {said!r} is not a rate" if said else "the file names no timecode rate"
        extra["timecode_rate"] = f"{rate_text(DEFAULT_RATE)} fps assumed for the timecode: {why}"
    return rate, drop


def _rate_str(rate: Fraction | None) -> str | None:
    if rate is None:
        return None
    return str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"


def _tracks(ixml: Any, desc: dict[str, str], channels: int) -> tuple[str, ...]:
    """Track names in channel order: iXML TRACK_LIST (by CHANNEL_INDEX), else the description's TRKn lines."""
    named: dict[int, str] = {}
    for i, track in enumerate(ixml.findall("TRACK_LIST/TRACK") if ixml is not None else (), 1):
        index = (track.findtext("CHANNEL_INDEX") or "").strip()
        named[int(index) if index.isdigit() else i] = (track.findtext("NAME") or "").strip()
    if not named:
        named = {int(k[3:]): v for k, v in desc.items() if k.startswith("TRK") and k[3:].isdigit()}
    if not named:
        return ()
    return tuple(named.get(i, "") for i in range(1, max(channels, max(named)) + 1))


def _probe(path: Path) -> ClipMeta:
    """A sound file that is not a WAV (AIFF, FLAC, MP3, M4A), through FFmpeg."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise _Damaged("it holds no audio stream")
            stream = container.streams.audio[0]
            ctx = stream.codec_context
            duration = float(container.duration / av.time_base) if container.duration else None
            pcm = re.match(r"pcm_([suf])(\d+)", ctx.name)  # pcm_s24be: the decoder gives s32 samples, 24 bits
            bits = int(pcm[2]) if pcm else None
            codec = f"PCM {'float ' if pcm[1] == 'f' else ''}{bits}-bit" if pcm else ctx.name.upper()
            return ClipMeta(container=path.suffix.lower().lstrip("."), codec=codec, audio_channels=ctx.channels,
                            sample_rate=ctx.sample_rate, bit_depth=bits, duration=duration)
    except av.FFmpegError as exc:
        if isinstance(exc, OSError):
            raise
        raise _Damaged(f"FFmpeg cannot open it ({exc})") from exc
