"""media.sequence and media.imagehead: image sequences read from real DPX, OpenEXR, TIFF and Cineon frames (written
after the standards, and by FFmpeg's own encoders), with gaps, damaged first frames and formats no open library
decodes. Every field is checked against what the frame headers were written with."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image, ImageStat

from datawrangler.core.clips import ClipGroup, ClipKind, ClipState, gaps_text, group_clips
from datawrangler.media import imagehead, sequence
from datawrangler.media.sequence import read_sequence, thumbnail_frames
from tests.media import stillgen

FOLDER = "A001R1AB/A001C003_261214_R1AB"
PREFIX = "A001C003_261214_R1AB."


def card(root: Path, numbers: range | list[int], ext: str, make: object, *, digits: int = 7) -> ClipGroup:
    """Frames written under root/FOLDER, grouped as the offload groups a card's listing."""
    names = stillgen.write_sequence(root / FOLDER, PREFIX, numbers, ext, make, digits)
    groups = group_clips(f"{FOLDER}/{n}" for n in names)
    assert len(groups) == 1 and groups[0].kind is ClipKind.SEQUENCE
    return groups[0]


def thumbs_in(tmp_path: Path, count: int) -> list[Path]:
    return [tmp_path / "thumbs" / f"clip-{i}.jpg" for i in range(count)]


def red_of(jpeg: Path) -> float:
    with Image.open(jpeg) as im:
        assert im.format == "JPEG"
        return float(ImageStat.Stat(im.convert("RGB")).mean[0])


def test_dpx_sequence_fields_timecode_and_three_thumbnails_of_10_50_90_percent(tmp_path: Path) -> None:
    root = tmp_path / "roll"
    # ten frames, each with a flat red of its own: frame i has red i*100 (of 1023)
    group = card(root, range(86400, 86410), "dpx", lambda n: stillgen.dpx_bytes(
        96, 54, timecode=stillgen_tc(n), tv_fps=24.0, project="Feature", input_device="ALEXA 35",
        slate="12A-3", red=(n - 86400) * 100))
    thumbs = thumbs_in(tmp_path, 3)
    meta = read_sequence(root, group, thumbs)
    assert meta.state is ClipState.READ and meta.problems == ()
    assert (meta.container, meta.codec, meta.width, meta.height) == ("dpx", "DPX 10-bit", 96, 54)
    assert (meta.fps, meta.frames, meta.duration) == ("24", 10, pytest.approx(10 / 24))
    assert (meta.tc_in, meta.tc_out) == ("01:00:00:00", "01:00:00:09")
    assert meta.extra["project"] == "Feature" and meta.extra["input device"] == "ALEXA 35"
    assert meta.extra["slate"] == "12A-3" and meta.extra["descriptor"] == "RGB"
    # 10%, 50%, 90% of ten frames: frames 1, 5, 9, whose red is 100, 500, 900 of 1023
    assert thumbnail_frames(10, 3) == [1, 5, 9]
    for thumb, index in zip(thumbs, (1, 5, 9), strict=True):
        with Image.open(thumb) as im:
            assert im.size == (96, 54)
        assert red_of(thumb) == pytest.approx(index * 100 * 255 / 1023, abs=4)


def stillgen_tc(frame: int) -> str:
    """Frame numbers that are the timecode at 24 fps (a common DPX naming): 86400 is 01:00:00:00."""
    return f"{frame // 86400:02d}:{frame // 1440 % 60:02d}:{frame // 24 % 60:02d}:{frame % 24:02d}"


def test_one_thumbnail_is_the_middle_frame_present(tmp_path: Path) -> None:
    root = tmp_path / "roll"
    group = card(root, [1, 2, 3, 4, 8], "dpx", lambda n: stillgen.dpx_bytes(red=n * 100))
    (thumb,) = thumbs_in(tmp_path, 1)
    read_sequence(root, group, [thumb])
    # frames present 1, 2, 3, 4, 8: the middle one is frame 3 (not frame 4, the middle of the range)
    assert red_of(thumb) == pytest.approx(300 * 255 / 1023, abs=4)


def test_gaps_stay_the_callers_tc_out_is_the_last_frames_duration_the_frames_present(tmp_path: Path) -> None:
    root = tmp_path / "roll"
    present = [n for n in range(1, 21) if n not in (7, 12, 13)]
    group = card(root, present, "dpx", stillgen.dpx_bytes(timecode="10:00:00:00", tv_fps=25.0), digits=4)
    assert group.gaps == ((7, 7), (12, 13))
    assert gaps_text(group.gaps) == "frames 7, 12-13 missing"
    meta = read_sequence(root, group, [])
    assert meta.state is ClipState.READ and meta.problems == ()  # a gap is reported from group.gaps, not here
    assert meta.frames == 17 and meta.duration == pytest.approx(17 / 25)
    assert (meta.tc_in, meta.tc_out) == ("10:00:00:00", "10:00:00:19")  # frame 20 is 19 frames after frame 1


def test_little_endian_dpx_at_29_97_drop_frame(tmp_path: Path) -> None:
    root = tmp_path / "roll"
    group = card(root, range(1, 6), "dpx", stillgen.dpx_bytes(timecode="00:00:59;28", tv_fps=29.97,
                                                                big_endian=False))
    meta = read_sequence(root, group, [])
    assert meta.fps == "30000/1001" and meta.tc_in == "00:00:59;28"
    # 00:01:00;00 and ;01 do not exist in drop frame: the fifth frame is 00:01:00;04
    assert meta.tc_out == "00:01:00;04"


def test_dpx_rate_from_the_film_header_at_23_976(tmp_path: Path) -> None:
    root = tmp_path / "roll"
    group = card(root, range(1, 25), "dpx", stillgen.dpx_bytes(timecode="01:00:00:00", film_fps=23.976))
    meta = read_sequence(root, group, [])
    assert meta.fps == "24000/1001" and meta.duration == pytest.approx(24 * 1001 / 24000)
    assert (meta.tc_in, meta.tc_out) == ("01:00:00:00", "01:00:00:23")


def test_ffmpeg_agrees_on_the_dpx_timecode_we_write_and_read(tmp_path: Path) -> None:
    """The BCD layout (hours in the high byte) is FFmpeg's reading too, not only ours."""
    data = stillgen.dpx_bytes(timecode="13:24:35:16", tv_fps=25.0)
    ctx = av.CodecContext.create("dpx", "r")
    (frame,) = ctx.decode(av.Packet(data)) + ctx.decode(None)
    (tmp_path / "f.dpx").write_bytes(data)
    assert frame.metadata["timecode"] == imagehead.read_header(tmp_path / "f.dpx", "dpx").timecode == "13:24:35:16"


def test_dpx_written_by_ffmpeg_without_a_tv_header(tmp_path: Path) -> None:
    """FFmpeg's DPX encoder writes no film or TV header (its pixels start at byte 1664): no timecode or rate
    is read out of pixel bytes."""
    root = tmp_path / "roll"
    group = card(root, range(1, 4), "dpx", lambda n: stillgen.ffmpeg_still("dpx", "rgb48le", 80, 44, seed=n))
    thumbs = thumbs_in(tmp_path, 1)
    meta = read_sequence(root, group, thumbs)
    assert meta.state is ClipState.READ and meta.problems == ()
    assert (meta.codec, meta.width, meta.height, meta.frames) == ("DPX 16-bit", 80, 44, 3)
    assert (meta.tc_in, meta.tc_out, meta.fps, meta.duration) == (None, None, None, None)
    assert meta.extra["creator"].startswith("Lavc")
    assert thumbs[0].stat().st_size > 0


@pytest.mark.parametrize("pixels_at", [1664, 2048])
def test_no_timecode_is_read_where_a_writer_left_no_tv_header(tmp_path: Path, pixels_at: int) -> None:
    """A DPX whose industry header size is 0: bytes at 1920 and 1940 that happen to look like a timecode and a
    frame rate are pixels (image data at 1664) or padding (at 2048), not a timecode."""
    data = bytearray(stillgen.dpx_bytes(timecode="01:00:00:00", tv_fps=25.0))
    for at in (4, 808):  # the image data offset, in the generic header and in the first image element
        struct.pack_into(">I", data, at, pixels_at)
    struct.pack_into(">I", data, 28, 0)  # industry header size: none
    (tmp_path / "f.dpx").write_bytes(data)
    head = imagehead.read_header(tmp_path / "f.dpx", "dpx")
    assert (head.codec, head.timecode, head.rate) == ("DPX 10-bit", None, None)


def test_openexr_half_with_timecode_and_rate(tmp_path: Path) -> None:
    root = tmp_path / "roll"
    group = card(root, range(1001, 1049), "exr", lambda n: stillgen.exr_bytes(
        128, 72, timecode="23:59:59:20", fps=(24000, 1001), seed=n))
    thumbs = thumbs_in(tmp_path, 3)
    meta = read_sequence(root, group, thumbs)
    assert meta.state is ClipState.READ and meta.problems == ()
    assert (meta.container, meta.codec, meta.width, meta.height) == ("exr", "OpenEXR half", 128, 72)
    assert (meta.fps, meta.frames) == ("24000/1001", 48) and meta.duration == pytest.approx(48 * 1001 / 24000)
    assert (meta.tc_in, meta.tc_out) == ("23:59:59:20", "00:00:01:19")  # wraps at midnight
    assert meta.extra["compression"] == "none" and meta.extra["channels"] == "B,G,R"
    for thumb in thumbs:
        with Image.open(thumb) as im:
            assert im.size == (128, 72)


def test_openexr_float_zip_written_by_ffmpeg(tmp_path: Path) -> None:
    root = tmp_path / "roll"
    data = stillgen.ffmpeg_still("exr", "gbrpf32le", 64, 36, options={"compression": "zip16", "format": "float"})
    group = card(root, range(1, 3), "exr", data)
    meta = read_sequence(root, group, thumbs_in(tmp_path, 1))
    assert (meta.codec, meta.extra["compression"], meta.tc_in, meta.fps) == ("OpenEXR float", "ZIP", None, None)
    assert meta.problems == () and (tmp_path / "thumbs" / "clip-0.jpg").exists()


def test_tiff_sequence_written_by_ffmpeg(tmp_path: Path) -> None:
    root = tmp_path / "roll"
    group = card(root, range(1, 5), "tif", lambda n: stillgen.ffmpeg_still(
        "tiff", "rgb48le", 72, 40, seed=n, options={"compression_algo": "lzw"}))
    meta = read_sequence(root, group, thumbs_in(tmp_path, 1))
    assert (meta.container, meta.codec, meta.width, meta.height, meta.frames) == ("tiff", "TIFF 16-bit", 72, 40, 4)
    assert meta.extra["compression"] == "LZW" and meta.extra["samples per pixel"] == "3"
    assert meta.state is ClipState.READ and meta.problems == ()
    assert (meta.tc_in, meta.fps) == (None, None)


def test_cineon_header_read_and_no_thumbnail_said_in_words(tmp_path: Path) -> None:
    root = tmp_path / "roll"
    group = card(root, range(1, 4), "cin", stillgen.cineon_bytes(100, 50, fps=24.0))
    meta = read_sequence(root, group, thumbs_in(tmp_path, 1))
    assert (meta.codec, meta.width, meta.height, meta.fps) == ("Cineon 10-bit", 100, 50, "24")
    assert meta.state is ClipState.READ
    assert meta.problems == ("no thumbnail: FFmpeg decodes no Cineon frames",)


@pytest.mark.parametrize(("ext", "name"), [("ari", "ARRIRAW"), ("dng", "CinemaDNG")])
def test_formats_no_open_library_decodes_are_not_read_never_damaged(tmp_path: Path, ext: str, name: str) -> None:
    root = tmp_path / "roll"
    group = card(root, [1, 2, 3, 5], ext, stillgen.fake_arriraw())
    thumbs = thumbs_in(tmp_path, 3)
    meta = read_sequence(root, group, thumbs)
    assert meta.state is ClipState.NOT_READ
    assert meta.problems == (f"metadata not read: no open library reads {name}",)
    assert (meta.codec, meta.frames) == (name, 4) and (group.first_frame, group.last_frame) == (1, 5)
    assert group.gaps == ((4, 4),)
    assert not any(t.exists() for t in thumbs)


def test_arriraw_on_a_missing_drive_raises_oserror(tmp_path: Path) -> None:
    group = group_clips([f"{FOLDER}/{PREFIX}0000001.ari", f"{FOLDER}/{PREFIX}0000002.ari"])[0]
    with pytest.raises(FileNotFoundError):
        read_sequence(tmp_path / "gone", group, [])


@pytest.mark.parametrize(("ext", "first", "said"), [
    ("dpx", b"", "it is empty (0 bytes)"),
    ("dpx", b"\x89PNG\r\n\x1a\n" + bytes(3000), "not a DPX file (it starts with b'\\x89PNG'"),
    ("dpx", stillgen.dpx_bytes()[:900], "its header is cut short (900 of at least 1664 bytes)"),
    ("dpx", stillgen.dpx_bytes()[:772] + bytes(8) + stillgen.dpx_bytes()[780:], "impossible image size (0x0)"),
    ("dpx", stillgen.dpx_bytes()[:803] + b"\xff" + stillgen.dpx_bytes()[804:], "its bit depth (255) is not one a DPX"),
    ("exr", stillgen.exr_bytes()[:200], "cut short"),
    ("exr", b"garbage" * 50, "not an OpenEXR file"),
    ("tif", b"II*\0" + b"\xff\xff\xff\x7f" + bytes(40), "cut short or malformed"),
    ("tif", b"MM\0\x2c" + bytes(40), "not a TIFF file (version 44, not 42 or 43)"),
])
def test_a_first_frame_whose_header_cannot_be_read_is_possibly_damaged(
        tmp_path: Path, ext: str, first: bytes, said: str) -> None:
    root = tmp_path / "roll"
    good = stillgen.ffmpeg_still("tiff", "rgb24") if ext == "tif" else (
        stillgen.exr_bytes() if ext == "exr" else stillgen.dpx_bytes())
    group = card(root, range(1, 6), ext, lambda n: first if n == 1 else good)
    meta = read_sequence(root, group, thumbs_in(tmp_path, 1))
    assert meta.state is ClipState.DAMAGED and meta.frames == 5
    (problem,) = meta.problems
    assert problem.startswith(f"the first frame {group.files[0]} cannot be read: ")
    assert said in problem


def test_a_damaged_thumbnail_frame_is_named_and_an_undecodable_one_is_not_damage(tmp_path: Path,
                                                                                    monkeypatch) -> None:
    root = tmp_path / "roll"
    group = card(root, range(1, 6), "dpx", lambda n: b"" if n == 3 else stillgen.dpx_bytes())
    meta = read_sequence(root, group, thumbs_in(tmp_path, 1))  # the middle frame is frame 3, 0 bytes
    assert meta.state is ClipState.DAMAGED and meta.codec == "DPX 10-bit"
    assert meta.problems == (f"frame {group.files[2]} cannot be read: it is empty (0 bytes); check the camera's "
                             "or the recorder's copy of that frame",)

    # a frame whose header is fine but that FFmpeg will not decode: no thumbnail, said, and not damage
    def refuse(*args: object, **kwargs: object) -> None:
        raise av.InvalidDataError(1094995529, "Invalid data found when processing input")

    (root / group.files[2]).write_bytes(stillgen.dpx_bytes())
    monkeypatch.setattr(sequence, "write_jpeg", refuse)
    meta = read_sequence(root, group, thumbs_in(tmp_path, 1))
    assert meta.state is ClipState.READ
    (problem,) = meta.problems
    assert problem.startswith(f"no thumbnail from frame {group.files[2]}: FFmpeg cannot decode it (")


def test_thumbnail_frames_spread() -> None:
    assert thumbnail_frames(2400, 3) == [240, 1200, 2160]
    assert thumbnail_frames(2400, 1) == [1200]
    assert thumbnail_frames(1, 3) == [0, 0, 0]
    assert thumbnail_frames(5, 0) == []


def _listing(missing: set[int]) -> list[str]:
    return [f"{FOLDER}/{stillgen.frame_name(PREFIX, n, 'dpx')}" for n in range(1, 2401) if n not in missing]


def test_2400_frame_sequence_reads_one_header_and_touches_no_other_frame(tmp_path: Path, monkeypatch) -> None:
    """What keeps a long sequence fast: grouping is the listing alone, reading is the first frame's header,
    thumbnails decode only their own frames. Only the first frame exists on disk here, so reading any other
    one would raise; the header reader is counted."""
    missing = {100, 101, 102, 2000}
    group = group_clips(_listing(missing))[0]
    assert (group.first_frame, group.last_frame, group.frame_count) == (1, 2400, 2396)
    assert group.gaps == ((100, 102), (2000, 2000))
    root = tmp_path / "roll"
    (root / FOLDER).mkdir(parents=True)
    (root / group.files[0]).write_bytes(stillgen.dpx_bytes(timecode="01:00:00:00", tv_fps=24.0))
    calls: list[Path] = []
    real = sequence.read_header

    def counted(path: Path, fmt: str) -> imagehead.FrameHeader:
        calls.append(path)
        return real(path, fmt)

    monkeypatch.setattr(sequence, "read_header", counted)
    meta = read_sequence(root, group, [])
    assert calls == [root / group.files[0]]
    assert (meta.state, meta.frames, meta.fps, meta.problems) == (ClipState.READ, 2396, "24", ())
    assert meta.duration == pytest.approx(2396 / 24)
    assert (meta.tc_in, meta.tc_out) == ("01:00:00:00", "01:01:39:23")  # frame 2400: 2399 frames later


def test_2400_frame_sequence_with_three_thumbnails_decodes_three_frames(tmp_path: Path) -> None:
    """The frames a thumbnail shows are real; every other frame is 0 bytes and is never looked at."""
    group = group_clips(_listing({7, 1500}))[0]
    shown = [group.files[i] for i in thumbnail_frames(len(group.files), 3)]
    root = tmp_path / "roll"
    (root / FOLDER).mkdir(parents=True)
    for i, rel in enumerate(group.files):
        (root / rel).write_bytes(stillgen.dpx_bytes(32, 18, red=900) if i == 0 or rel in shown else b"")
    meta = read_sequence(root, group, thumbs_in(tmp_path, 3))
    assert (meta.state, meta.problems, meta.frames) == (ClipState.READ, (), 2398)
    assert all(red_of(t) == pytest.approx(900 * 255 / 1023, abs=4) for t in thumbs_in(tmp_path, 3))


def test_smpte_word_undefined_and_not_bcd() -> None:
    assert imagehead.smpte_timecode(0xFFFFFFFF) is None
    assert imagehead.smpte_timecode(0x0A000000) is None  # hours nibble 10: not BCD
    assert imagehead.smpte_timecode(stillgen.smpte_word("23:59:59;29")) == "23:59:59;29"
    assert imagehead.smpte_timecode(0x01000000) == "01:00:00:00"
    assert Fraction(30000, 1001) == imagehead._rate(29.97)
