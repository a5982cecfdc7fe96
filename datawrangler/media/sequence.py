"""Image sequences (DPX, OpenEXR, TIFF, Cineon, ARRIRAW, CinemaDNG): one clip of one file per frame.

What a sequence is (its frames, range and gaps) is already known from the card's listing (`core.clips`);
reading adds what the first frame's header says (size, bit depth, timecode, frame rate) and thumbnails. Only
that one header is read, and only the frames a thumbnail shows are decoded, so a 2,400-frame clip costs what a
one-frame clip does. A gap is not damage: the caller reports it from `group.gaps`, in words, as missing frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av

from datawrangler.core.clips import ClipGroup, ClipMeta, ClipState
from datawrangler.core.timecode import TimecodeError, rate_text, tc_out
from datawrangler.media.imagehead import FrameHeader, HeaderError, read_header
from datawrangler.media.thumbs import write_jpeg

# extension -> (container word, header reader, FFmpeg decoder for thumbnails); ARRIRAW and CinemaDNG: neither
_FORMATS: dict[str, tuple[str, str | None, str | None]] = {
    "dpx": ("dpx", "dpx", "dpx"), "exr": ("exr", "exr", "exr"), "tif": ("tiff", "tiff", "tiff"),
    "tiff": ("tiff", "tiff", "tiff"), "cin": ("cin", "cin", None), "ari": ("ari", None, None),
    "arx": ("ari", None, None), "dng": ("dng", None, None),
}
_NOT_DECODED = {"ari": "ARRIRAW", "dng": "CinemaDNG"}


def read_sequence(root: Path, group: ClipGroup, thumbs: Sequence[Path]) -> ClipMeta:
    """The clip `group` read from the verified copy under `root`: its first frame's header, and one
    thumbnail per path in `thumbs` (1: the middle frame present; 3: 10%, 50% and 90% of the frames present).
    A first frame whose header cannot be read makes the clip possibly damaged; ARRIRAW and CinemaDNG are
    "not read" (never damaged). OSError only when a frame's file cannot be read at all (the drive is gone)."""
    first = root / group.files[0]
    ext = first.suffix.lower().lstrip(".")
    container, header, decoder = _FORMATS.get(ext, (ext, None, None))
    frames = len(group.files)
    if header is None:
        first.stat()  # the copy is there (else OSError: the caller reads another copy)
        name = _NOT_DECODED.get(container)
        why = f"no open library reads {name}" if name else f"DataWrangler reads no .{ext} frames"
        return ClipMeta(state=ClipState.NOT_READ, problems=(f"metadata not read: {why}",), container=container,
                        codec=name, frames=frames)
    try:
        head = read_header(first, header)
    except HeaderError as exc:
        return ClipMeta(state=ClipState.DAMAGED, container=container, frames=frames, problems=(
            f"the first frame {group.files[0]} cannot be read: {exc}; check the camera's or the recorder's "
            "copy of that frame",))
    extra = dict(head.extra)
    tc_last = _tc_out(group, head, frames, extra)
    problems: tuple[str, ...] = ()
    damaged = False
    if thumbs and decoder is None:
        problems = (f"no thumbnail: FFmpeg decodes no {head.codec.split()[0]} frames",)
    elif decoder is not None:
        problems, damaged = _thumbnails(root, group, header, decoder, thumbs)
    return ClipMeta(
        state=ClipState.DAMAGED if damaged else ClipState.READ, problems=problems, container=container,
        codec=head.codec, width=head.width, height=head.height, fps=_rate_str(head.rate),
        duration=float(frames / head.rate) if head.rate else None, frames=frames, tc_in=head.timecode,
        tc_out=tc_last, extra=extra)


def _rate_str(rate: Fraction | None) -> str | None:
    if rate is None:
        return None
    return str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"


def _tc_out(group: ClipGroup, head: FrameHeader, frames: int, extra: dict[str, str]) -> str | None:
    """The last frame's timecode: the first frame's plus the frame range (missing frames still take time)."""
    if head.timecode is None or head.rate is None:
        return None
    span = frames
    if group.first_frame is not None and group.last_frame is not None:
        span = group.last_frame - group.first_frame + 1
    try:
        return tc_out(head.timecode, span, head.rate)
    except TimecodeError:
        extra["timecode"] = (f"the first frame's timecode {head.timecode} does not exist at "
                             f"{rate_text(head.rate)} fps, so no TC out is given")
        return None


def thumbnail_frames(count: int, wanted: int) -> list[int]:
    """Indexes (into the frames present) of `wanted` thumbnails: one is the middle frame, more are spread from
    10% to 90% (three: 10%, 50%, 90%)."""
    if count <= 0 or wanted <= 0:
        return []
    if wanted == 1:
        return [count // 2]
    return [min(count - 1, int(count * (0.1 + 0.8 * i / (wanted - 1)))) for i in range(wanted)]


def _thumbnails(root: Path, group: ClipGroup, header: str, decoder: str,
                thumbs: Sequence[Path]) -> tuple[tuple[str, ...], bool]:
    """Decode each thumbnail's frame (one file, one packet) and write its JPEG. A frame FFmpeg cannot decode
    gets no thumbnail and a sentence; it makes the clip possibly damaged only when its own header cannot be
    read either (else it is a variant of the format FFmpeg does not decode, not damage)."""
    problems, damaged = [], False
    for index, target in zip(thumbnail_frames(len(group.files), len(thumbs)), thumbs, strict=True):
        rel = group.files[index]
        data = (root / rel).read_bytes()
        try:
            ctx = av.CodecContext.create(decoder, "r")
            if not isinstance(ctx, av.VideoCodecContext):
                raise ValueError(f"{decoder} is not a picture decoder")
            decoded = ctx.decode(av.Packet(data)) + ctx.decode(None)
            if not decoded:
                raise ValueError("the decoder gave no picture")
            try:
                write_jpeg(decoded[0], target)
            except OSError as exc:  # the thumbnails folder (beside the catalog) is full or read-only
                if isinstance(exc, av.FFmpegError):
                    raise
                problems.append(f"no thumbnail from frame {rel}: {target.parent} cannot be written "
                                f"({exc.strerror or exc})")
        except (av.FFmpegError, ValueError) as exc:
            try:
                read_header(root / rel, header)
            except HeaderError as bad:
                damaged = True
                problems.append(f"frame {rel} cannot be read: {bad}; check the camera's or the recorder's copy "
                                "of that frame")
                continue
            problems.append(f"no thumbnail from frame {rel}: FFmpeg cannot decode it ({exc})")
    return tuple(problems), damaged
