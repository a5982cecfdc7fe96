"""Real test media for the movie reader, encoded by FFmpeg through PyAV: ProRes MOV with a start timecode and a
reel name on its tmcd track, XAVC-like MXF (H.264 High 4:2:2 Intra in MXF OP1a, drop-frame timecode, mono audio
tracks as cameras write them), XDCAM-like MPEG-2 4:2:2 MXF, DNxHD/DNxHR MXF (OP1a and OP-Atom), H.264 and
H.265 MP4, AVCHD-like MPEG-TS with AC-3, Sony and Canon XML sidecars, GoPro chapters, files cut short, and
files that are not movies at all.

Frame i of a clip is a flat colour whose red channel is `red_of(i, total)`, so that a thumbnail can be matched
to the frame it shows. Audio is interleaved with the picture as a camera writes it (not all after it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import Image

SAMPLE_RATE = 48000


@dataclass(frozen=True)
class Encoded:
    """What a movie file was written with: the fields the reader must give back."""

    path: Path
    codec: str  # in the reader's words
    width: int
    height: int
    rate: Fraction
    frames: int
    timecode: str | None = None
    reel: str | None = None
    audio: tuple[int, ...] = ()  # channels of each audio stream
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return float(self.frames / self.rate)

    @property
    def fps(self) -> str:
        r = self.rate
        return str(r.numerator) if r.denominator == 1 else f"{r.numerator}/{r.denominator}"


def red_of(index: int, total: int) -> int:
    """The red level of frame `index` of a clip of `total` frames: spread from 16 to 240."""
    return 16 + round(224 * index / max(total - 1, 1))


def write_movie(path: Path, codec: str, *, words: str, size: tuple[int, int] = (320, 180),
                rate: Fraction | int = 25, frames: int = 10, pix_fmt: str = "yuv420p", fmt: str | None = None,
                options: dict[str, str] | None = None, bit_rate: int | None = None, timecode: str | None = None,
                reel: str | None = None, audio: Sequence[int] = (), audio_codec: str = "pcm_s24le",
                container_options: dict[str, str] | None = None, first: int = 0, total: int | None = None) -> Encoded:
    """Encode `frames` frames (frame `first + i` of a take of `total` frames, for spans) to `path`.
    MOV/MP4 get the timecode and reel on the video track (FFmpeg writes them into the tmcd track); MXF gets
    them on the container (the material package; FFmpeg writes the reel as the source package's name)."""
    rate = Fraction(rate)
    total = total or frames
    path.parent.mkdir(parents=True, exist_ok=True)
    mxf = (fmt or path.suffix.lstrip(".").lower()).startswith("mxf")
    with av.open(str(path), "w", format=fmt, options=container_options or {}) as out:
        tags = {k: v for k, v in (("timecode", timecode), ("reel_name", reel)) if v}
        if mxf:
            out.metadata.update(tags)
        video = out.add_stream(codec, rate=rate, options=options or {})
        video.width, video.height = size
        video.pix_fmt = pix_fmt
        if bit_rate:
            video.bit_rate = bit_rate
        if not mxf:
            video.metadata.update(tags)
        layouts = {1: "mono", 2: "stereo", 6: "5.1"}
        sounds = [out.add_stream(audio_codec, rate=SAMPLE_RATE, layout=layouts[ch]) for ch in audio]
        sent = 0  # audio samples written so far, per stream
        for i in range(frames):
            picture = Image.new("RGB", size, (red_of(first + i, total), 40, 90))
            frame = av.VideoFrame.from_image(picture)
            frame.pts = i
            out.mux(video.encode(frame))
            upto = int(Fraction(i + 1) / rate * SAMPLE_RATE)
            if sounds and upto > sent:
                for s in sounds:
                    out.mux(s.encode(_silence(s, sent, upto - sent)))
                sent = upto
        out.mux(video.encode(None))
        for s in sounds:
            out.mux(s.encode(None))
    return Encoded(path, words, size[0], size[1], rate, frames, timecode, reel, tuple(audio))


def _silence(stream: av.AudioStream, at: int, samples: int) -> av.AudioFrame:
    fmt = stream.codec_context.format.name if stream.codec_context.format else "s32"
    frame = av.AudioFrame(format=fmt, layout=stream.layout.name, samples=samples)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate = SAMPLE_RATE
    frame.pts = at
    return frame


# ---------------------------------------------------------------- the cameras' files


PRORES = {"proxy": "ProRes 422 Proxy", "lt": "ProRes 422 LT", "standard": "ProRes 422", "hq": "ProRes 422 HQ",
          "4444": "ProRes 4444", "4444xq": "ProRes 4444 XQ"}


def prores_mov(path: Path, profile: str = "hq", **kw: Any) -> Encoded:
    pix = "yuva444p10le" if profile.startswith("4444") else "yuv422p10le"
    return write_movie(path, "prores_ks", words=PRORES[profile], pix_fmt=pix, options={"profile": profile},
                       **kw)


def xavc_intra_mxf(path: Path, **kw: Any) -> Encoded:
    """Sony XAVC Intra as FFmpeg can write it: H.264 High 4:2:2 Intra, 10-bit, every frame a key frame."""
    return write_movie(path, "libx264", words="XAVC Intra", pix_fmt="yuv422p10le",
                       options={"x264-params": "keyint=1:log-level=none", "profile": "high422",
                                "preset": "ultrafast"}, **kw)


def xdcam_mxf(path: Path, **kw: Any) -> Encoded:
    """XDCAM HD422-like: MPEG-2 4:2:2 long GOP in MXF OP1a."""
    return write_movie(path, "mpeg2video", words="MPEG-2 4:2:2", pix_fmt="yuv422p", bit_rate=50_000_000,
                       options={"g": "12"}, **kw)


def dnxhd_mxf(path: Path, op_atom: bool = False, **kw: Any) -> Encoded:
    """DNxHD 120 (1920x1080 at 25, 8-bit): the one size and rate its bit rate is defined for."""
    return write_movie(path, "dnxhd", words="DNxHD", size=(1920, 1080), rate=25, pix_fmt="yuv422p",
                       bit_rate=120_000_000, fmt="mxf_opatom" if op_atom else "mxf", **kw)


def dnxhr_mxf(path: Path, profile: str = "dnxhr_hqx", **kw: Any) -> Encoded:
    pix = "yuv422p10le" if profile == "dnxhr_hqx" else "yuv422p"
    words = {"dnxhr_lb": "DNxHR LB", "dnxhr_sq": "DNxHR SQ", "dnxhr_hq": "DNxHR HQ", "dnxhr_hqx": "DNxHR HQX"}
    return write_movie(path, "dnxhd", words=words[profile], pix_fmt=pix, options={"profile": profile},
                       **kw)


def h264_mp4(path: Path, **kw: Any) -> Encoded:
    return write_movie(path, "libx264", words="H.264", options={"preset": "ultrafast",
                                                                "x264-params": "log-level=none"},
                       **kw)


def h265_mp4(path: Path, **kw: Any) -> Encoded:
    return write_movie(path, "libx265", words="H.265", options={"preset": "ultrafast",
                                                                "x265-params": "log-level=none"},
                       **kw)


def avchd_mts(path: Path, **kw: Any) -> Encoded:
    """AVCHD-like: H.264 and AC-3 in MPEG-TS, short GOPs."""
    return write_movie(path, "libx264", words="H.264", fmt="mpegts", audio_codec="ac3",
                       options={"preset": "ultrafast", "g": "12", "x264-params": "log-level=none"},
                       **kw)


def repeated_prores(path: Path, size: tuple[int, int], frames: int, rate: int = 24) -> Encoded:
    """A ProRes Proxy MOV of `frames` identical frames, one encoded and its packet muxed `frames` times: a long
    clip at 8K in a second, for tests of what reading costs, not of what the pictures show."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        video = out.add_stream("prores_ks", rate=rate, options={"profile": "proxy"})
        video.width, video.height = size
        video.pix_fmt = "yuv422p10le"
        picture = av.VideoFrame.from_image(Image.new("RGB", size, (200, 40, 90)))
        picture.pts = 0
        (packet, *_) = [*video.encode(picture), *video.encode(None)]
        data = bytes(packet)
        for i in range(frames):
            copy = av.Packet(data)
            copy.stream = video
            copy.time_base = packet.time_base
            copy.pts = copy.dts = i * (packet.duration or 1)
            copy.duration = packet.duration
            copy.is_keyframe = True
            out.mux(copy)
    return Encoded(path, "ProRes 422 Proxy", size[0], size[1], Fraction(rate), frames)


def cut(path: Path, keep: float) -> Path:
    """Cut the file to `keep` (a fraction) of its bytes, as a camera that lost power leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def not_media(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"This is a camera log, not a movie.\n" * 200)
    return path


# ---------------------------------------------------------------- sidecars


def ltc_word(tc: str) -> str:
    """'01:02:03;04' -> Sony's LtcChange value: the SMPTE 12M bytes frames, seconds, minutes, hours as hex
    digits (BCD), 0x40 in the frame byte for drop frame."""
    hh, mm, ss, ff = (int(x) for x in tc.replace(";", ":").split(":"))
    frame_byte = (ff // 10) << 4 | ff % 10 | (0x40 if ";" in tc else 0)
    return "".join(f"{b:02X}" for b in (frame_byte, (ss // 10) << 4 | ss % 10, (mm // 10) << 4 | mm % 10,
                                        (hh // 10) << 4 | hh % 10))


def sony_xml(*, frames: int, tc_in: str, tc_end: str | None, tc_fps: int = 25, half_step: bool = False,
             format_fps: str = "25p", capture_fps: str | None = None, codec: str = "AVC_1920_1080_HP@L41",
             size: tuple[int, int] = (1920, 1080), model: str = "ILME-FX3", lens: str | None = "FE 24-70mm F2.8 GM II",
             ltc_text: bool = False) -> str:
    """A NonRealTimeMeta file as Sony cameras write it beside a clip (ver.2.20 schema, default namespace)."""
    value = (lambda tc: tc) if ltc_text else ltc_word
    end = (f'\n\t\t<LtcChange frameCount="{frames - 1}" value="{value(tc_end)}" status="end"/>' if tc_end else "")
    lens_xml = f'\n\t<Lens modelName="{lens}"/>' if lens else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<NonRealTimeMeta xmlns="urn:schemas-professionalDisc:nonRealTimeMeta:ver.2.20" \
xmlns:lib="urn:schemas-professionalDisc:lib:ver.2.10" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
lastUpdate="2026-10-14T15:30:12+02:00">
\t<TargetMaterial umidRef="060A2B340101010501010D4313000000C20AA47F479805C59C50D1FFFEAC3B63"/>
\t<Duration value="{frames}"/>
\t<LtcChangeTable tcFps="{tc_fps}" halfStep="{'true' if half_step else 'false'}">
\t\t<LtcChange frameCount="0" value="{value(tc_in)}" status="increment"/>{end}
\t</LtcChangeTable>
\t<CreationDate value="2026-10-14T15:30:12+02:00"/>
\t<VideoFormat>
\t\t<VideoRecPort port="DIRECT"/>
\t\t<VideoFrame videoCodec="{codec}" captureFps="{capture_fps or format_fps}" formatFps="{format_fps}"/>
\t\t<VideoLayout pixel="{size[0]}" numOfVerticalLine="{size[1]}" aspectRatio="16:9"/>
\t</VideoFormat>
\t<AudioFormat numOfChannel="2">
\t\t<AudioRecPort port="DIRECT" audioCodec="LPCM24" trackDst="CH1"/>
\t\t<AudioRecPort port="DIRECT" audioCodec="LPCM24" trackDst="CH2"/>
\t</AudioFormat>
\t<Device manufacturer="Sony" modelName="{model}" serialNo="5012345"/>{lens_xml}
\t<RecordingMode type="normal" cacheRec="false"/>
\t<AcquisitionRecord>
\t\t<Group name="CameraUnitMetadataSet">
\t\t\t<Item name="CaptureGammaEquation" value="s-log3-cine"/>
\t\t\t<Item name="CaptureColorPrimaries" value="S-Gamut3Cine"/>
\t\t\t<Item name="CodingEquations" value="rec709"/>
\t\t</Group>
\t</AcquisitionRecord>
</NonRealTimeMeta>
"""


def canon_xml(*, clip: str, tc_in: str, frames: int, fps: str = "23.98P", model: str = "EOS C70",
              lens: str = "RF24-70mm F2.8 L IS USM") -> str:
    """A Canon Cinema EOS clip XML as DataWrangler expects one (Canon publishes no schema: elements named for
    what they hold, a Canon namespace, the lens's own ModelName under Lens)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ClipMetadata xmlns="http://www.canon.com/ns/VideoClip" version="1.10">
  <ClipName>{clip}</ClipName>
  <Duration>{frames}</Duration>
  <Timecode>
    <StartTimecode>{tc_in}</StartTimecode>
    <TimecodeMode>Rec Run</TimecodeMode>
  </Timecode>
  <VideoFormat>
    <Codec>XF-AVC Intra</Codec>
    <FrameRate>{fps}</FrameRate>
    <Width>4096</Width>
    <Height>2160</Height>
  </VideoFormat>
  <Device>
    <Manufacturer>Canon</Manufacturer>
    <ModelName>{model}</ModelName>
    <SerialNumber>483021000123</SerialNumber>
  </Device>
  <Lens>
    <ModelName>{lens}</ModelName>
  </Lens>
</ClipMetadata>
"""
