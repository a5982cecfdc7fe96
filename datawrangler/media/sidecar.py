"""Camera XML sidecars: what the camera wrote beside a clip that its container does not carry (start timecode
for cameras whose MP4 has no timecode track, camera and lens model, picture settings).

Sony writes a NonRealTimeMeta file per clip (`C0001M01.XML` beside `C0001.MP4`, `...M01.XML` in XDROOT/Clip):
the start timecode is the first `LtcChangeTable/LtcChange` value, an SMPTE 12M word written as eight hex digits
FFSSMMHH (BCD, the drop-frame flag in the frame byte; Alpha bodies write `HH:MM:SS:FF` text instead), counted at
`tcFps`; `Duration` is in frames; `Device`, `Lens`, `VideoFormat` and the `AcquisitionRecord` items name the
rest. Canon Cinema EOS writes `*_CANON.XML`; its schema is not published, so it is read by element and
attribute names (clip name, start timecode, model, frame rate) wherever they sit.

Card data is not trusted: XML is parsed with defusedxml (no entities, no DTD fetching), a file larger than any
camera writes is not read, and a sidecar that cannot be read is a problem in words, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from datawrangler.core.timecode import TimecodeError, nominal, parse_rate, tc_out

MAX_SIDECAR = 4 << 20  # camera sidecars are kilobytes
_TC_TEXT = re.compile(r"^\d{2}[:.]\d{2}[:.]\d{2}[:;.,]\d{2}$")
_FPS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([pPiI]?)")
_SONY_CODECS = (("AVC", "XAVC"), ("HEVC", "XAVC HS"), ("MPEG2", "MPEG-2"), ("X-OCN", "X-OCN"), ("XOCN", "X-OCN"),
                ("RAW", "Sony RAW"), ("PRORES", "ProRes"))


@dataclass(frozen=True)
class SidecarInfo:
    """What a clip's sidecars say; None where none says it. `tc_rate` is the rate the timecode counts at (not
    always the picture's: Sony's halfStep counts 50p at 25); `frames` is the camera's duration in frames."""

    source: str | None = None  # "Sony NonRealTimeMeta", "Canon clip XML"
    clip_name: str | None = None
    tc_in: str | None = None
    tc_out: str | None = None
    tc_rate: Fraction | None = None
    fps: Fraction | None = None
    frames: int | None = None
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    camera: str | None = None
    lens: str | None = None
    reel: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def read_sidecars(paths: Sequence[Path]) -> SidecarInfo:
    """Read each sidecar and merge them: the first that gives a field wins. XML that is neither Sony's nor
    Canon's adds nothing; one that cannot be read adds a problem naming it."""
    merged = SidecarInfo()
    for path in paths:
        got = _read_one(path)
        updates: dict[str, Any] = {k: v for k, v in vars(got).items()
                                   if k not in ("extra", "problems") and v is not None and getattr(merged, k) is None}
        merged = replace(merged, **updates, extra={**got.extra, **merged.extra},
                         problems=merged.problems + got.problems)
    return merged


def _read_one(path: Path) -> SidecarInfo:
    try:
        size = path.stat().st_size
        if size > MAX_SIDECAR:
            return SidecarInfo(problems=(f"sidecar {path.name} not read: it is {size:,} bytes, more than a camera "
                                         "writes for a clip",))
        root = fromstring(path.read_bytes())
    except OSError as exc:
        return SidecarInfo(problems=(f"sidecar {path.name} could not be read ({exc.strerror or exc}); its "
                                     "timecode, camera and lens are not known",))
    except (ParseError, DefusedXmlException) as exc:
        return SidecarInfo(problems=(f"sidecar {path.name} is not readable XML ({exc}); its timecode, camera and "
                                     "lens are not known",))
    try:
        if _local(root.tag) == "NonRealTimeMeta":
            return _sony(root)
        if path.name.upper().endswith("_CANON.XML") or "canon" in root.tag.lower():
            return _canon(root)
    except (ValueError, TimecodeError) as exc:
        return SidecarInfo(problems=(f"sidecar {path.name} not read: {exc}",))
    return SidecarInfo()


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(node: Any, name: str) -> Any:
    return next((c for c in node if _local(c.tag) == name), None)


def _children(node: Any, name: str) -> Iterator[Any]:
    return (c for c in node if _local(c.tag) == name)


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def camera_rate(text: str | None) -> Fraction | None:
    """A camera's frame rate text -> frames per second: '23.98p' -> 24000/1001, '25p' -> 25, '59.94i' (fields)
    -> 30000/1001, '50i' -> 25. None when it is not a rate."""
    m = _FPS.match(text or "")
    if m is None:
        return None
    number = float(m[1])
    if abs(number - round(number)) > 0.001:  # cameras round 23.976 to 23.98: snap to the 1001 rate
        number = round(number) * 1000 / 1001
    rate = parse_rate(number)
    return rate / 2 if rate is not None and m[2].lower() == "i" else rate


def sony_ltc(value: str, rate: Fraction) -> str:
    """A Sony LtcChange value -> 'HH:MM:SS:FF' ('HH:MM:SS;FF' drop frame). The value is the SMPTE 12M word as
    eight hex digits FFSSMMHH, BCD, flags in the high bits (0x40 of the frame byte: drop frame); Alpha bodies
    write the timecode as text."""
    value = value.strip()
    if _TC_TEXT.match(value):
        return value
    if not re.fullmatch(r"[0-9A-Fa-f]{8}", value):
        raise ValueError(f"its LtcChange value {value!r} is not a timecode")
    ff, ss, mm, hh = (int(value[i:i + 2], 16) for i in (0, 2, 4, 6))
    drop = bool(ff & 0x40)
    digits = [(b >> 4 & m) * 10 + (b & 0xF) for b, m in ((hh, 0x3), (mm, 0x7), (ss, 0x7), (ff, 0x3))]
    if digits[0] > 23 or digits[1] > 59 or digits[2] > 59 or digits[3] >= nominal(rate):
        raise ValueError(f"its LtcChange value {value!r} is not a timecode at {float(rate):g} fps")
    return f"{digits[0]:02d}:{digits[1]:02d}:{digits[2]:02d}{';' if drop else ':'}{digits[3]:02d}"


def _sony(root: Any) -> SidecarInfo:
    extra: dict[str, str] = {}
    frame = layout = None
    if (video := _child(root, "VideoFormat")) is not None:
        frame, layout = _child(video, "VideoFrame"), _child(video, "VideoLayout")
    fps = camera_rate(frame.get("formatFps")) if frame is not None else None
    codec_text = frame.get("videoCodec") if frame is not None else None
    codec = next((word for key, word in _SONY_CODECS if codec_text and codec_text.upper().startswith(key)),
                 codec_text)
    if codec_text:
        extra["camera codec"] = codec_text
    if frame is not None and frame.get("captureFps") and frame.get("captureFps") != frame.get("formatFps"):
        extra["capture fps"] = frame.get("captureFps")
    duration = _child(root, "Duration")
    frames = _int(duration.get("value")) if duration is not None else None
    tc_in = tc_last = tc_rate = None
    if (table := _child(root, "LtcChangeTable")) is not None and (tc_fps := _int(table.get("tcFps"))):
        tc_rate = Fraction(tc_fps * 1000, 1001) if fps is not None and fps.denominator == 1001 else Fraction(tc_fps)
        changes = list(_children(table, "LtcChange"))
        if changes:
            tc_in = sony_ltc(changes[0].get("value", ""), tc_rate)
            end = next((c for c in changes if c.get("status") == "end"), None)
            if end is not None:
                tc_last = sony_ltc(end.get("value", ""), tc_rate)
            elif frames:
                step = 2 if table.get("halfStep") == "true" else 1
                tc_last = tc_out(tc_in, frames // step, tc_rate)
        if table.get("halfStep") == "true":
            extra["timecode"] = f"counted at {tc_fps} fps, one timecode frame per two video frames (halfStep)"
    camera = None
    if (device := _child(root, "Device")) is not None:
        maker, model = device.get("manufacturer"), device.get("modelName")
        camera = " ".join(p for p in (maker, model) if p) or None
        if device.get("serialNo"):
            extra["camera serial"] = device.get("serialNo")
    lens = _child(root, "Lens")
    for name, node, attr in (("recorded", _child(root, "CreationDate"), "value"),
                             ("recording mode", _child(root, "RecordingMode"), "type")):
        if node is not None and node.get(attr):
            extra[name] = node.get(attr)
    if (audio := _child(root, "AudioFormat")) is not None and audio.get("numOfChannel"):
        extra["camera audio channels"] = audio.get("numOfChannel")
    if (record := _child(root, "AcquisitionRecord")) is not None:
        for group in _children(record, "Group"):
            for item in _children(group, "Item"):
                if item.get("name") and item.get("value") is not None:
                    extra[item.get("name")] = item.get("value")
    return SidecarInfo(
        source="Sony NonRealTimeMeta", tc_in=tc_in, tc_out=tc_last, tc_rate=tc_rate, fps=fps, frames=frames,
        codec=codec, width=_int(layout.get("pixel")) if layout is not None else None,
        height=_int(layout.get("numOfVerticalLine")) if layout is not None else None, camera=camera,
        lens=(lens.get("modelName") or None) if lens is not None else None, extra=extra)


_CANON_NAMES = {  # field -> element or attribute local names, lower case, in order of preference
    "clip_name": ("clipname", "title"), "tc_in": ("starttimecode", "starttimecodevalue", "timecode", "ltc"),
    "fps": ("framerate", "videoframerate", "recordingframerate", "fps"), "model": ("modelname", "model"),
    "maker": ("manufacturer",), "serial": ("serialnumber", "serialno"), "lens": ("lensname", "lensmodel"),
    "frames": ("duration",), "reel": ("reelname", "reel"), "width": ("width",), "height": ("height",),
}


def _canon(root: Any) -> SidecarInfo:
    """Canon's clip XML by names: each element's text or `value` attribute, and every attribute, first one
    wins (a `Lens` element's `ModelName` is the lens, not the camera)."""
    found: dict[str, str] = {}
    lens_nodes = {id(n) for lens in root.iter() if _local(lens.tag).lower() == "lens" for n in lens.iter()}
    for node in root.iter():  # not recursive: a card's XML may nest deeper than Python's stack
        name = _local(node.tag).lower()
        text = (node.text or "").strip() or node.get("value", "").strip()
        for key, value in [(name, text), *((k.lower(), v.strip()) for k, v in node.attrib.items())]:
            key = "lensname" if id(node) in lens_nodes and key in ("modelname", "name", "model") else key
            if value and key not in found:
                found[key] = value

    def pick(what: str) -> str | None:
        return next((found[n] for n in _CANON_NAMES[what] if n in found), None)

    fps = camera_rate(pick("fps"))
    tc_in = pick("tc_in")
    if tc_in is not None and not _TC_TEXT.match(tc_in):
        raise ValueError(f"its start timecode {tc_in!r} is not HH:MM:SS:FF")
    model, maker = pick("model"), pick("maker")
    camera = model if model and maker and model.lower().startswith(maker.lower()) else \
        " ".join(p for p in (maker, model) if p) or None
    extra = {"camera serial": s} if (s := pick("serial")) else {}
    frames = _int(pick("frames"))
    return SidecarInfo(
        source="Canon clip XML", clip_name=pick("clip_name"), tc_in=tc_in, tc_rate=fps, fps=fps,
        tc_out=tc_out(tc_in, frames, fps) if tc_in and frames and fps else None, frames=frames,
        camera=camera, lens=pick("lens"), reel=pick("reel"), width=_int(pick("width")),
        height=_int(pick("height")), extra=extra)
