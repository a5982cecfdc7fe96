"""Movie clips (MOV/MP4, MXF OP1a and OP-Atom, MPEG-TS/AVCHD) read with PyAV: FFmpeg in PyAV's wheels reads
every wrapper and codec a card holds, so the app bundles stay self-contained.

Only headers and indexes are read, plus one decoded frame per thumbnail: the container's streams give codec,
size, rate and duration; start timecode is a `timecode` tag (MOV: on the video or tmcd track; MXF: the material
package, in the container's tags), the reel a `reel_name` tag. MXF and MPEG-TS give no frame count: it is the
duration times the rate. Spanned files (chapters) add up, timecode from the first. Camera XML sidecars
(`media.sidecar`) fill what the container lacks. `media.videocheck` says whether each file is whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from datawrangler.core.clips import ClipGroup, ClipMeta, ClipState
from datawrangler.core.timecode import TimecodeError, parse_rate, tc_out
from datawrangler.media import videocheck
from datawrangler.media.sidecar import SidecarInfo, read_sidecars
from datawrangler.media.videothumbs import Span, write_thumbnails

_PRORES = {"apco": "422 Proxy", "apcs": "422 LT", "apcn": "422", "apch": "422 HQ", "ap4h": "4444",
           "ap4x": "4444 XQ", "Proxy": "422 Proxy", "LT": "422 LT", "Standard": "422", "HQ": "422 HQ",
           "4444": "4444", "XQ": "4444 XQ"}
_NAMES = {"h264": "H.264", "hevc": "H.265", "mpeg2video": "MPEG-2", "mjpeg": "Motion JPEG", "av1": "AV1",
          "vp9": "VP9", "mpeg4": "MPEG-4 Part 2", "dvvideo": "DV", "jpeg2000": "JPEG 2000", "cfhd": "CineForm",
          "hqx": "Canopus HQX", "rawvideo": "uncompressed"}
_REEL_TAGS = ("reel_name", "tape_name", "reel", "com.apple.proapps.reel")


@dataclass
class _File:
    """One file of a clip, as read."""

    rel: str
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    rate: Fraction | None = None
    duration: float | None = None
    frames: int | None = None
    timecode: str | None = None
    reel: str | None = None
    audio_channels: int | None = None
    sample_rate: int | None = None
    decodable: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    damage: list[str] = field(default_factory=list)


def read_video(root: Path, group: ClipGroup, thumbs: Sequence[Path]) -> ClipMeta:
    """The movie clip `group` read from the verified copy under `root`, with one thumbnail per path in `thumbs`
    (1: the middle frame; 3: 10%, 50%, 90%). A file that cannot be opened, has no picture, or is shorter than
    it declares makes the clip possibly damaged, with what was read still given. OSError only when a file
    cannot be read at all (missing, I/O error), so that the caller reads another copy."""
    files = [_probe(root / rel, rel) for rel in group.files]
    side = read_sidecars([root / rel for rel in group.sidecars]) if group.sidecars else SidecarInfo()
    first = files[0]
    rate = first.rate or side.fps
    frames = sum(f.frames or 0 for f in files) or None
    duration = sum(f.duration or 0.0 for f in files) or None
    problems = [p for f in files for p in f.damage]
    damaged = bool(problems)
    state = ClipState.DAMAGED if damaged else ClipState.READ
    if not damaged and not first.decodable:
        state = ClipState.NOT_READ
        problems.append(f"metadata not read: no open library decodes the picture of {first.rel} (FFmpeg does "
                        "not know its codec); its duration, timecode and sound are the container's")
    tc_in, tc_last = _timecode(first, side, frames, rate, problems)
    extra = {**side.extra, **{k: v for f in reversed(files) for k, v in f.extra.items()}}
    if side.lens:
        extra["lens"] = side.lens
    if side.source:
        extra["sidecar"] = side.source
    if frames and side.frames and side.fps and rate and abs(side.frames - frames) > 1 and side.fps == rate:
        problems.append(f"the camera's sidecar gives {side.frames} frames, the file{'s' if len(files) > 1 else ''} "
                        f"hold{'' if len(files) > 1 else 's'} {frames}")
    problems.extend(side.problems)
    if thumbs and all(f.decodable for f in files):
        spans = [Span(root / f.rel, f.rel, f.frames or 0, f.rate or rate) for f in files]
        said, bad = write_thumbnails(spans, thumbs)
        problems.extend(said)
        state = ClipState.DAMAGED if bad else state
    return ClipMeta(
        state=state, problems=tuple(problems), container=Path(group.files[0]).suffix.lower().lstrip("."),
        codec=first.codec or side.codec, width=first.width or side.width, height=first.height or side.height,
        fps=_rate_str(rate), duration=duration or (float(side.frames / side.fps) if side.frames and side.fps else None),
        frames=frames or side.frames, tc_in=tc_in, tc_out=tc_last, reel=first.reel or side.reel, camera=side.camera
        or first.extra.get("camera"), audio_channels=first.audio_channels, sample_rate=first.sample_rate,
        extra=extra)


def _timecode(first: _File, side: SidecarInfo, frames: int | None, rate: Fraction | None,
              problems: list[str]) -> tuple[str | None, str | None]:
    """TC in from the container, else the sidecar; TC out = TC in + frames - 1, at the timecode's own rate."""
    tc_in, tc_rate, count = first.timecode, rate, frames
    if tc_in is None and side.tc_in is not None:
        tc_in, tc_rate = side.tc_in, side.tc_rate or rate
        if frames and rate and tc_rate and tc_rate != rate:  # Sony halfStep: 50p counted at 25
            count = round(frames * tc_rate / rate)
        elif not frames:
            return tc_in, side.tc_out
    if tc_in is None or not count or tc_rate is None:
        return tc_in, None
    try:
        return tc_in, tc_out(tc_in, count, tc_rate)
    except TimecodeError as exc:
        problems.append(f"TC out not known: {exc}")
        return tc_in, None


def _probe(path: Path, rel: str) -> _File:
    got = _File(rel)
    path.stat()  # missing: OSError, the caller reads another copy
    try:
        container = av.open(str(path), metadata_errors="replace")
    except av.FFmpegError as exc:
        if isinstance(exc, OSError):
            raise
        got.damage.append(videocheck.unopenable(path, rel, exc))
        return got
    with container:
        try:
            _fill(got, container, path)
        except av.FFmpegError as exc:
            if isinstance(exc, OSError):
                raise
            got.damage.append(f"{rel} cannot be read: FFmpeg stops with {exc}")
    return got


def _fill(got: _File, container: av.container.InputContainer, path: Path) -> None:
    tags = dict(container.metadata)
    audio = [s for s in container.streams.audio if s.codec_context is not None]
    got.audio_channels = sum(s.codec_context.channels for s in audio)  # 0: the clip has no sound
    if audio:
        got.sample_rate = audio[0].codec_context.sample_rate
    video = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    _container_extra(got, tags)
    if not video:
        got.damage.append(f"{got.rel} holds no picture (no video stream): not a camera clip, or a damaged one")
        return
    stream = video[0]
    ctx = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    got.rate = _exact(rate) if rate else None
    if stream.duration is not None and stream.time_base is not None:
        got.duration = float(stream.duration * stream.time_base)
    elif container.duration:
        got.duration = container.duration / av.time_base
    got.frames = stream.frames or (round(got.duration * got.rate) if got.duration and got.rate else None)
    mxf = path.suffix.lower() == ".mxf"
    order = [tags, *(dict(s.metadata) for s in container.streams)]
    if not mxf:  # MOV: the video track's own timecode first; MXF: the material package's (the container's)
        order.insert(0, order.pop(1 + stream.index))
    got.timecode = next((t["timecode"].strip() for t in order if t.get("timecode", "").strip()), None)
    got.reel = next((t[k].strip() for t in order for k in _REEL_TAGS if t.get(k, "").strip()), None)
    if (said := videocheck.cut_short(container, stream, path, got.rel, got.duration, got.rate)) is not None:
        got.damage.append(said)
    if ctx is None:  # a codec FFmpeg does not know (X-OCN...): what the container says, no picture
        return
    got.decodable = True
    got.width, got.height = ctx.width or None, ctx.height or None
    got.codec = codec_words(ctx.name, ctx.profile, ctx.codec_tag, mxf, tags.get("company_name", ""))
    if ctx.format is not None and ctx.format.components:
        chroma = re.search(r"(4[0-4][0-4])", ctx.format.name)
        got.extra["picture"] = f"{ctx.format.components[0].bits}-bit" + \
            (f" {chroma[1][0]}:{chroma[1][1]}:{chroma[1][2]}" if chroma else f" {ctx.format.name}")


def _container_extra(got: _File, tags: dict[str, str]) -> None:
    if op := tags.get("operational_pattern_ul"):
        got.extra["MXF pattern"] = "OP-Atom" if op.split(".")[-1].startswith("10") else "OP1a" \
            if op.split(".")[-1].startswith("0101") else op
    writer = " ".join(tags[k] for k in ("company_name", "product_name", "product_version") if tags.get(k))
    if writer or tags.get("encoder"):
        got.extra["written by"] = writer or tags["encoder"]
    if tags.get("creation_time"):
        got.extra["recorded"] = tags["creation_time"]
    make, model = tags.get("com.apple.quicktime.make", ""), tags.get("com.apple.quicktime.model", "")
    if model:
        got.extra["camera"] = model if model.lower().startswith(make.lower()) else f"{make} {model}".strip()


def codec_words(name: str, profile: str | None, tag: str | None, mxf: bool, company: str = "") -> str:
    """FFmpeg's codec, profile and tag in the words a DIT uses: 'ProRes 422 HQ', 'DNxHR HQX', 'XAVC Intra'."""
    profile = profile or ""
    if name == "prores":
        return f"ProRes {_PRORES.get(tag or '', _PRORES.get(profile, profile))}".strip()
    if name == "dnxhd":
        return profile.replace("DNXH", "DNxH") if profile.upper().startswith("DNXH") else "DNxHD"
    if name == "h264" and mxf:
        family = "XF-AVC" if "canon" in company.lower() else "XAVC"
        return f"{family} {'Intra' if 'intra' in profile.lower() else 'Long GOP'}"
    if name == "mpeg2video" and "4:2:2" in profile:
        return "MPEG-2 4:2:2"
    return _NAMES.get(name, name.upper())


def _exact(rate: Fraction) -> Fraction:
    """A stream's rate as cameras mean it: 2997/100 -> 30000/1001."""
    rate = Fraction(rate)
    if rate.denominator in (1, 1001):
        return rate
    return parse_rate(float(rate)) or rate


def _rate_str(rate: Fraction | None) -> str | None:
    if rate is None:
        return None
    return str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"
