"""Thumbnails of a movie clip: one decoded frame each, found by seeking, never by decoding the clip.

Each thumbnail's frame (the middle one, or 10%, 50% and 90% of the clip's frames, across spanned files) is
reached by a seek to the key frame at or before it; the decoder is told to skip every frame that is not a
key frame, so one frame is decoded per thumbnail whatever the codec: the exact frame for intra codecs (ProRes,
DNxHD, XAVC Intra: every frame is a key frame), the key frame before it for long-GOP ones (H.264, H.265,
MPEG-2), which is as good a picture of the take. Decoding uses slice threads only: frame threads would hold
one 8K frame per thread. Memory is then one decoded frame, which `media.thumbs` scales before it becomes an
image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from datawrangler.media.thumbs import write_jpeg

_MAX_PACKETS = 2000  # packets demuxed after a seek before giving up on a picture (a GOP is far shorter)
_BACK: tuple[float | None, ...] = (0.0, 1.0, 4.0, 16.0, None)  # None: from the start of the file


@dataclass(frozen=True)
class Span:
    """One file of a clip: its frames and rate, as read."""

    path: Path
    rel: str
    frames: int
    rate: Fraction | None


def thumbnail_frames(count: int, wanted: int) -> list[int]:
    """Indexes (0-based, over the clip's frames) of `wanted` thumbnails: one is the middle frame, three are 10%,
    50% and 90% (the same choice as for image sequences)."""
    if count <= 0 or wanted <= 0:
        return []
    if wanted == 1:
        return [count // 2]
    return [min(count - 1, int(count * (0.1 + 0.8 * i / (wanted - 1)))) for i in range(wanted)]


def write_thumbnails(spans: Sequence[Span], targets: Sequence[Path]) -> tuple[list[str], bool]:
    """Write one JPEG per target. Returns (problems in words, whether a frame could not be decoded: a sign of
    damage). A JPEG that cannot be written is a problem, not damage; OSError reading the clip propagates."""
    total = sum(s.frames for s in spans)
    problems: list[str] = []
    if not total:
        return ["no thumbnail: the number of frames in the clip is not known"], False
    wanted: dict[int, list[tuple[int, Path]]] = {}
    for target, index in zip(targets, thumbnail_frames(total, len(targets)), strict=True):
        at = index
        for i, span in enumerate(spans):
            if at < span.frames or i == len(spans) - 1:
                wanted.setdefault(i, []).append((min(at, max(span.frames - 1, 0)), target))
                break
            at -= span.frames
    damaged = False
    for i, jobs in wanted.items():
        said, bad = _span_thumbnails(spans[i], jobs)
        problems.extend(said)
        damaged = damaged or bad
    return problems, damaged


def _span_thumbnails(span: Span, jobs: list[tuple[int, Path]]) -> tuple[list[str], bool]:
    problems: list[str] = []
    if span.rate is None:
        return [f"no thumbnail of {span.rel}: its frame rate is not known, so its frames cannot be found"], False
    try:
        container = av.open(str(span.path), metadata_errors="replace")
    except av.FFmpegError as exc:
        if isinstance(exc, OSError):
            raise
        return [f"no thumbnail of {span.rel}: FFmpeg cannot open it ({exc})"], True
    with container:
        stream = next((s for s in container.streams.video
                       if not s.disposition & av.stream.Disposition.attached_pic), None)
        if stream is None:
            return [f"no thumbnail of {span.rel}: it holds no picture"], False
        ctx = stream.codec_context
        ctx.skip_frame = "NONKEY"
        ctx.thread_type = "SLICE"
        for local, target in jobs:
            where = f"frame {local} of {span.rel}"
            try:
                frame = _frame_at(container, stream, local, span.rate)
            except av.FFmpegError as exc:
                if isinstance(exc, OSError):
                    raise
                problems.append(f"{where} cannot be decoded ({exc}): the picture there may be damaged")
                return problems, True
            if frame is None:
                problems.append(f"no thumbnail: no picture found at or before {where}")
                continue
            try:
                write_jpeg(frame, target)
            except OSError as exc:
                problems.append(f"thumbnail {target.name} not written ({exc.strerror or exc}); check the space and "
                                "permissions of the catalog's thumbnails folder")
    return problems, False


def _frame_at(container: av.container.InputContainer, stream: av.VideoStream, local: int,
              rate: Fraction) -> av.VideoFrame | None:
    """The key frame at or before frame `local` of the stream (the frame itself for an intra codec), decoded
    alone."""
    base = stream.time_base
    if base is None:
        return None
    start = stream.start_time or 0
    target = start + math.ceil(Fraction(local) / rate / base)
    packet = None
    for back in _BACK:  # seconds to seek before the target, should the seek land after it (MPEG-TS: no index)
        at = 0 if back is None else max(target - math.ceil(back / base), 0)
        packet = _key_packet(container, stream, at, target)
        if packet is not None:
            break
    if packet is None:
        return None
    ctx = stream.codec_context
    ctx.flush_buffers()
    for frame in [*ctx.decode(packet), *ctx.decode(None)]:
        if isinstance(frame, av.VideoFrame):
            return frame
    return None


def _key_packet(container: av.container.InputContainer, stream: av.VideoStream, at: int,
                target: int) -> av.Packet | None:
    """Seek to `at` and demux (without decoding) up to `target`: the last key-frame packet at or before it."""
    container.seek(at, stream=stream, backward=True, any_frame=False)
    best = None
    for count, packet in enumerate(container.demux(stream)):
        if (packet.dts is not None and packet.dts > target) or count >= _MAX_PACKETS:
            break
        if packet.is_keyframe and packet.pts is not None and packet.pts <= target and packet.size:
            best = packet
    return best
