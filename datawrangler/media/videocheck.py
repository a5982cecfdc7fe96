"""Is a movie file whole? Cheap tests that never read the picture data of a clip that is whole.

A camera that loses power, or a card pulled while recording, leaves a file shorter than it says it is: the
bytes were copied faithfully, but the take is incomplete. What each wrapper gives to tell:

- MOV/MP4: the index (moov atom) lists every sample's byte position; FFmpeg loads it as the streams' index
  entries, so a sample placed beyond the end of the file is found without reading a byte of media. A file
  without its index (cameras write it when they stop) cannot be opened: the top-level atoms, read by seeking,
  say why in words (no moov atom, an mdat that runs past the end).
- MXF: the header partition says where the footer partition is; a footer beyond the end of the file, or not
  where the header puts it, is a cut file.
- Every wrapper without an index (MXF, MPEG-TS): demux (not decode) the last few frames and compare where the
  picture ends with the duration the file declares.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av

# QuickTime/ISO top-level atoms a camera or FFmpeg writes; anything else first means "not a QuickTime file"
_ATOMS = {b"ftyp", b"wide", b"free", b"skip", b"mdat", b"moov", b"uuid", b"pnot", b"PICT", b"junk", b"meta",
          b"moof", b"mfra", b"sidx", b"styp", b"pdin", b"prfl"}
_MAX_ATOMS = 4096
_PARTITION = bytes.fromhex("060e2b34020501010d01020101")  # an MXF partition pack key, less its kind and status
_RUN_IN = 65536  # SMPTE 377M: up to 64 KiB may precede the header partition
_TAIL_FRAMES = 3  # frames before the end the tail check seeks to (a long GOP reads back to its key frame)
_TAIL_PACKETS = 2000  # at most this many packets are demuxed by the tail check


def is_quicktime(path: Path) -> bool:
    return path.suffix.lower() in (".mov", ".mp4", ".m4v", ".3gp")


def unopenable(path: Path, rel: str, exc: Exception) -> str:
    """Why FFmpeg cannot open `path`, in words: for a MOV/MP4, what its top-level atoms show."""
    said = f"FFmpeg cannot open it ({getattr(exc, 'strerror', None) or exc})"
    if path.stat().st_size == 0:
        return f"{rel} is empty (0 bytes): the camera created it but wrote nothing into it"
    if is_quicktime(path):
        why = _atoms_problem(path)
        if why:
            return f"{rel} cannot be opened: {why}"
    return f"{rel} cannot be opened as a movie: {said}; check the file on the card in the camera or a player"


def _atoms_problem(path: Path) -> str | None:
    """The top-level atoms of a QuickTime/MP4 file, walked by seeking: a file that is not one, an atom that
    runs past the end, or no index (moov)."""
    size = path.stat().st_size
    kinds: list[bytes] = []
    cut = None
    with path.open("rb") as f:
        at = 0
        while at + 8 <= size and len(kinds) < _MAX_ATOMS:
            f.seek(at)
            head = f.read(16)
            length, kind = struct.unpack_from(">I4s", head)
            if length == 1 and len(head) == 16:
                length = struct.unpack_from(">Q", head, 8)[0]
            elif length == 0:  # "to the end of the file": a recorder that never came back to write the size
                length = size - at
            if not kinds and kind not in _ATOMS:
                return f"it is not a QuickTime or MP4 file (it starts with {head[:8]!r})"
            kinds.append(kind)
            if length < 8:
                return f"its {kind.decode('latin-1')!r} atom at byte {at:,} has an impossible size ({length})"
            if at + length > size:
                cut = (f"it is cut short: its {kind.decode('latin-1')!r} atom declares {length:,} bytes but the file "
                       f"ends {size - at:,} bytes into it")
                break
            at += length
    if b"moov" not in kinds:
        missing = ("it has no index (moov atom), which the camera writes when the recording stops: the take was "
                   "not finished (power lost or card pulled while recording); a repair tool may recover it")
        return f"{cut}, and {missing}" if cut else missing
    return cut


def cut_short(container: av.container.InputContainer, stream: av.VideoStream, path: Path, rel: str,
              duration: float | None, rate: Fraction | None) -> str | None:
    """A sentence when the file is shorter than it declares, else None (see the module docstring)."""
    size = path.stat().st_size
    if is_quicktime(path):
        indexed = [s for s in container.streams if s.type in ("video", "audio") and len(s.index_entries)]
        if indexed:
            return _index_problem(indexed, rel, size, duration)
    if path.suffix.lower() == ".mxf" and (said := _mxf_footer_problem(path, rel, size)):
        return said
    return _tail_problem(container, stream, rel, duration, rate)


def _index_problem(streams: list[av.stream.Stream], rel: str, size: int, duration: float | None) -> str | None:
    """A sample the index places beyond the end of the file. A stream's samples lie in file order, so its last
    entry tells, and a binary search finds the first sample lost (where the take stops)."""
    for stream in streams:
        entries = stream.index_entries
        n = len(entries)
        last = entries[n - 1]
        if last.pos + last.size <= size:
            continue
        lo, hi = 0, n - 1
        while lo < hi:
            mid = (lo + hi) // 2
            e = entries[mid]
            lo, hi = (lo, mid) if e.pos + e.size > size else (mid + 1, hi)
        start, base = stream.start_time or 0, stream.time_base or Fraction(0)
        stops = float((entries[lo].timestamp - start) * base)
        declared = f" of the {duration:.2f} s it declares" if duration else ""
        return (f"{rel} is cut short: its index places {stream.type} data up to byte {last.pos + last.size:,} but "
                f"the file holds {size:,} bytes, so the {stream.type} stops after {max(stops, 0.0):.2f} s{declared} "
                "(power lost or card pulled while recording?)")
    return None


def _mxf_footer_problem(path: Path, rel: str, size: int) -> str | None:
    """The footer partition the MXF header partition points to, checked to be there."""
    with path.open("rb") as f:
        head = f.read(_RUN_IN + 128)
        at = head.find(_PARTITION)
        if at < 0 or at + 17 > len(head):
            return None  # FFmpeg opened it: a layout we do not check
        ber = head[at + 16]
        body = at + 17 + (ber & 0x7F if ber & 0x80 else 0)
        if body + 32 > len(head):
            return None
        footer = struct.unpack_from(">Q", head, body + 24)[0]  # MajorVersion, MinorVersion, KAGSize, This, Previous
        if footer == 0:
            return None  # an open header that names no footer: nothing to compare
        where = at + footer
        if where + 16 > size:
            return (f"{rel} is cut short: its MXF header places the footer at byte {where:,} but the file holds "
                    f"{size:,} bytes (power lost or card pulled while recording?)")
        f.seek(where)
        key = f.read(16)
    if not key.startswith(_PARTITION) or key[13] != 0x04:
        return (f"{rel} is damaged: its MXF header places the footer at byte {where:,}, but there is none there "
                "(the file was cut or overwritten)")
    return None


def _tail_problem(container: av.container.InputContainer, stream: av.VideoStream, rel: str,
                  duration: float | None, rate: Fraction | None) -> str | None:
    """Demux the last frames without decoding them and compare where the picture ends with `duration`."""
    if not duration or not rate or stream.time_base is None:
        return None
    frame = float(1 / rate)
    start = stream.start_time or 0
    target = max(duration - _TAIL_FRAMES * frame, 0.0)
    try:
        container.seek(start + int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
    except av.FFmpegError as exc:
        if isinstance(exc, OSError):
            raise
        return None  # a wrapper FFmpeg cannot seek in: nothing to compare, and no sign of damage
    ends: float | None = None
    try:
        for count, packet in enumerate(container.demux(stream)):
            if packet.pts is not None:
                end = float((packet.pts + (packet.duration or 0) - start) * stream.time_base)
                ends = end if ends is None else max(ends, end)
            if count >= _TAIL_PACKETS:
                return None
    except av.FFmpegError as exc:
        if isinstance(exc, OSError):
            raise
        return f"{rel} is damaged near its end: FFmpeg cannot read its last frames ({exc})"
    if ends is None:
        return (f"{rel} is cut short: it declares {duration:.2f} s of picture but holds none in its last frames "
                "(power lost or card pulled while recording?)")
    if ends < duration - 2 * frame:
        return (f"{rel} is cut short: its picture ends after {ends:.2f} s of the {duration:.2f} s it declares "
                "(power lost or card pulled while recording?)")
    return None
