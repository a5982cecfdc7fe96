"""media.video: movie clips read from real files FFmpeg encoded (tests/media/videogen.py). Every field is checked
against what was encoded; damaged files (cut short, not movies, empty, without picture) are possibly damaged
with a sentence naming the file; thumbnails are JPEGs of the frames they should show."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image, ImageStat

from datawrangler.core.clips import ClipGroup, ClipKind, ClipMeta, ClipState, group_clips
from datawrangler.media.video import codec_words, read_video
from datawrangler.media.videothumbs import thumbnail_frames
from tests.media import videogen
from tests.media.videogen import Encoded


def one_clip(root: Path, *rels: str) -> ClipGroup:
    """The card's listing grouped as the offload groups it: exactly one clip."""
    (group,) = group_clips(rels)
    assert group.kind is ClipKind.VIDEO
    return group


def thumbs(tmp_path: Path, count: int) -> list[Path]:
    return [tmp_path / "thumbs" / f"clip_{i}.jpg" for i in range(1, count + 1)]


def red(jpeg: Path, size: tuple[int, int] = (320, 180)) -> float:
    with Image.open(jpeg) as im:
        assert im.format == "JPEG" and im.size == size
        return float(ImageStat.Stat(im.convert("RGB")).mean[0])


def assert_fields(meta: ClipMeta, enc: Encoded, container: str) -> None:
    assert meta.state is ClipState.READ, meta.problems
    assert meta.problems == ()
    assert (meta.container, meta.codec, meta.width, meta.height) == (container, enc.codec, enc.width, enc.height)
    assert (meta.fps, meta.frames) == (enc.fps, enc.frames)
    assert meta.duration == pytest.approx(enc.duration, abs=1e-6)
    assert (meta.audio_channels, meta.sample_rate) == (sum(enc.audio), videogen.SAMPLE_RATE if enc.audio else None)


def test_prores_mov_with_timecode_reel_and_sound_and_three_thumbnails_of_the_right_frames(tmp_path: Path) -> None:
    root = tmp_path / "A001R1AB"
    enc = videogen.prores_mov(root / "A001C001_261014_R1AB.mov", rate=Fraction(24000, 1001), frames=12,
                              timecode="01:00:00:00", reel="A001", audio=(2,))
    targets = thumbs(tmp_path, 3)
    meta = read_video(root, one_clip(root, "A001C001_261014_R1AB.mov"), targets)
    assert_fields(meta, enc, "mov")
    assert (meta.codec, meta.fps, meta.frames) == ("ProRes 422 HQ", "24000/1001", 12)
    assert (meta.tc_in, meta.tc_out, meta.reel) == ("01:00:00:00", "01:00:00:11", "A001")
    assert meta.extra["picture"] == "10-bit 4:2:2"
    # 10%, 50%, 90% of 12 frames: frames 1, 6 and 10, each its own red (ProRes: every frame is a key frame)
    assert thumbnail_frames(12, 3) == [1, 6, 10]
    for target, index in zip(targets, (1, 6, 10), strict=True):
        assert red(target) == pytest.approx(videogen.red_of(index, 12), abs=6)


@pytest.mark.parametrize("profile", ["proxy", "lt", "standard", "4444", "4444xq"])
def test_prores_profiles_in_the_words_of_a_dit(tmp_path: Path, profile: str) -> None:
    enc = videogen.prores_mov(tmp_path / "clip.mov", profile=profile, frames=2)
    meta = read_video(tmp_path, one_clip(tmp_path, "clip.mov"), [])
    assert_fields(meta, enc, "mov")
    assert meta.tc_in is None and meta.reel is None  # none was written


def test_xavc_intra_mxf_drop_frame_timecode_over_a_minute_and_four_mono_tracks(tmp_path: Path) -> None:
    enc = videogen.xavc_intra_mxf(tmp_path / "Clip" / "A001C002_261014AB.MXF", size=(1920, 1080),
                                  rate=Fraction(30000, 1001), frames=10, timecode="00:00:59;28", audio=(1, 1, 1, 1))
    targets = thumbs(tmp_path, 1)
    meta = read_video(tmp_path, one_clip(tmp_path, "Clip/A001C002_261014AB.MXF"), targets)
    assert_fields(meta, enc, "mxf")  # MXF gives no frame count: 10 comes from the duration and the rate
    assert meta.codec == "XAVC Intra" and meta.fps == "30000/1001"
    # ;28 ;29, then minute 1 starts at ;02 (;00 and ;01 are dropped): the tenth frame is 00:01:00;09
    assert (meta.tc_in, meta.tc_out) == ("00:00:59;28", "00:01:00;09")
    assert meta.extra["MXF pattern"] == "OP1a" and meta.extra["picture"] == "10-bit 4:2:2"
    assert red(targets[0]) == pytest.approx(videogen.red_of(5, 10), abs=6)


def test_xdcam_mpeg2_mxf_with_a_reel_name(tmp_path: Path) -> None:
    enc = videogen.xdcam_mxf(tmp_path / "C0001.MXF", size=(1920, 1080), frames=15, timecode="10:00:00:00",
                             reel="B002", audio=(1, 1))
    meta = read_video(tmp_path, one_clip(tmp_path, "C0001.MXF"), thumbs(tmp_path, 3))
    assert_fields(meta, enc, "mxf")
    assert (meta.codec, meta.tc_in, meta.tc_out, meta.reel) == ("MPEG-2 4:2:2", "10:00:00:00", "10:00:00:14", "B002")
    assert all(red(p) > 0 for p in thumbs(tmp_path, 3))


@pytest.mark.parametrize(("op_atom", "pattern"), [(False, "OP1a"), (True, "OP-Atom")])
def test_dnxhd_mxf_op1a_and_op_atom(tmp_path: Path, op_atom: bool, pattern: str) -> None:
    enc = videogen.dnxhd_mxf(tmp_path / "A002C003.mxf", op_atom=op_atom, frames=3, timecode="02:00:00:00")
    meta = read_video(tmp_path, one_clip(tmp_path, "A002C003.mxf"), thumbs(tmp_path, 1))
    assert_fields(meta, enc, "mxf")
    assert (meta.tc_in, meta.tc_out, meta.extra["MXF pattern"]) == ("02:00:00:00", "02:00:00:02", pattern)
    assert red(thumbs(tmp_path, 1)[0]) == pytest.approx(videogen.red_of(1, 3), abs=6)


def test_dnxhr_hqx_mxf(tmp_path: Path) -> None:
    enc = videogen.dnxhr_mxf(tmp_path / "clip.mxf", size=(640, 360), frames=3)
    meta = read_video(tmp_path, one_clip(tmp_path, "clip.mxf"), [])
    assert_fields(meta, enc, "mxf")
    assert meta.codec == "DNxHR HQX" and meta.extra["picture"] == "10-bit 4:2:2"


@pytest.mark.parametrize("make", [videogen.h264_mp4, videogen.h265_mp4])
def test_h264_and_h265_mp4(tmp_path: Path, make: object) -> None:
    enc = make(tmp_path / "clip.mp4", size=(640, 360), rate=50, frames=10, audio=(2,))  # type: ignore[operator]
    meta = read_video(tmp_path, one_clip(tmp_path, "clip.mp4"), thumbs(tmp_path, 3))
    assert_fields(meta, enc, "mp4")
    assert meta.tc_in is None and meta.tc_out is None
    for p in thumbs(tmp_path, 3):  # long GOP: the key frame at or before each frame
        assert red(p) >= videogen.red_of(0, 10) - 6


def test_avchd_mts_frames_from_the_duration_and_ac3_sound(tmp_path: Path) -> None:
    rel = "PRIVATE/AVCHD/BDMV/STREAM/00000.MTS"
    enc = videogen.avchd_mts(tmp_path / rel, size=(640, 360), frames=30, audio=(2,))
    targets = thumbs(tmp_path, 3)
    meta = read_video(tmp_path, one_clip(tmp_path, rel), targets)
    assert_fields(meta, enc, "mts")
    # MPEG-TS has no index: the thumbnail is the key frame (every 12th) at or before frames 3, 15, 27
    for target, key in zip(targets, (0, 12, 24), strict=True):
        assert red(target) == pytest.approx(videogen.red_of(key, 30), abs=6)


def test_gopro_chapters_add_up_and_the_thumbnails_cross_into_the_second(tmp_path: Path) -> None:
    rels = ["DCIM/100GOPRO/GX010042.MP4", "DCIM/100GOPRO/GX020042.MP4"]
    intra = {"preset": "ultrafast", "x264-params": "keyint=1:log-level=none"}
    for i, rel in enumerate(rels):
        videogen.write_movie(tmp_path / rel, "libx264", words="H.264", rate=Fraction(60000, 1001), frames=10,
                             first=10 * i, total=20, options=intra, audio=(2,),
                             timecode="12:00:00;00" if i == 0 else "12:00:00;10")
    targets = thumbs(tmp_path, 3)
    meta = read_video(tmp_path, one_clip(tmp_path, *rels), targets)
    assert meta.state is ClipState.READ and meta.problems == ()
    assert (meta.frames, meta.fps, meta.codec) == (20, "60000/1001", "H.264")
    assert meta.duration == pytest.approx(20 * 1001 / 60000)
    assert (meta.tc_in, meta.tc_out) == ("12:00:00;00", "12:00:00;19")  # from the first chapter, over both
    for target, index in zip(targets, thumbnail_frames(20, 3), strict=True):  # 2, 10, 18: the last two in GX02
        assert red(target) == pytest.approx(videogen.red_of(index, 20), abs=6)


def test_a_sony_mp4_takes_timecode_camera_and_lens_from_its_sidecar(tmp_path: Path) -> None:
    clip = "PRIVATE/M4ROOT/CLIP/C0001"
    enc = videogen.h264_mp4(tmp_path / f"{clip}.MP4", size=(640, 360), rate=Fraction(24000, 1001), frames=24,
                            audio=(2,))
    (tmp_path / f"{clip}M01.XML").write_text(videogen.sony_xml(
        frames=24, tc_in="14:38:24:15", tc_end="14:38:25:14", tc_fps=24, format_fps="23.98p",
        codec="AVC_640_360_HP@L41", size=(640, 360)), encoding="utf-8")
    group = one_clip(tmp_path, f"{clip}.MP4", f"{clip}M01.XML")
    assert group.sidecars == (f"{clip}M01.XML",)
    meta = read_video(tmp_path, group, [])
    assert_fields(meta, enc, "mp4")
    assert meta.codec == "H.264"  # the container's word wins over the sidecar's "XAVC"
    assert (meta.tc_in, meta.tc_out) == ("14:38:24:15", "14:38:25:14")  # TC out from the file's 24 frames
    assert meta.camera == "Sony ILME-FX3" and meta.extra["lens"] == "FE 24-70mm F2.8 GM II"
    assert meta.extra["CaptureGammaEquation"] == "s-log3-cine" and meta.extra["sidecar"] == "Sony NonRealTimeMeta"


def test_the_containers_timecode_wins_over_the_sidecars(tmp_path: Path) -> None:
    videogen.h264_mp4(tmp_path / "C0002.MP4", frames=25, timecode="01:00:00:00")
    (tmp_path / "C0002M01.XML").write_text(videogen.sony_xml(frames=50, tc_in="02:00:00:00", tc_end="02:00:01:24"),
                                           encoding="utf-8")
    meta = read_video(tmp_path, one_clip(tmp_path, "C0002.MP4", "C0002M01.XML"), [])
    assert (meta.tc_in, meta.tc_out) == ("01:00:00:00", "01:00:00:24")
    # the camera said 50 frames, the file holds 25: said, but only the file's own checks call it damaged
    assert meta.state is ClipState.READ
    assert meta.problems == ("the camera's sidecar gives 50 frames, the file holds 25",)


def test_only_key_frames_at_the_thumbnails_are_decoded(tmp_path: Path) -> None:
    """Every frame but the three the thumbnails show is overwritten with garbage: a reader that decoded the clip
    (or anything but one frame per thumbnail) would fail on it."""
    enc = videogen.prores_mov(tmp_path / "clip.mov", profile="proxy", frames=40, timecode="01:00:00:00")
    keep = set(thumbnail_frames(40, 3))
    with av.open(str(enc.path)) as container:
        entries = container.streams.video[0].index_entries
        spans = [(entries[i].pos, entries[i].size) for i in range(len(entries)) if i not in keep]
    with enc.path.open("r+b") as f:
        for pos, size in spans:
            f.seek(pos)
            f.write(b"\xff\x00" * (size // 2))
    targets = thumbs(tmp_path, 3)
    meta = read_video(tmp_path, one_clip(tmp_path, "clip.mov"), targets)
    assert meta.state is ClipState.READ and meta.problems == ()
    for target, index in zip(targets, sorted(keep), strict=True):
        assert red(target) == pytest.approx(videogen.red_of(index, 40), abs=6)


# ---------------------------------------------------------------- possibly damaged


def test_a_mov_cut_before_its_index_was_written(tmp_path: Path) -> None:
    """FFmpeg, like cameras, writes the moov atom after the media: a cut file has none, and cannot be opened."""
    videogen.cut(videogen.prores_mov(tmp_path / "A001C004.mov", frames=20, audio=(2,)).path, 0.6)
    targets = thumbs(tmp_path, 1)
    meta = read_video(tmp_path, one_clip(tmp_path, "A001C004.mov"), targets)
    assert meta.state is ClipState.DAMAGED and meta.container == "mov"
    (problem,) = meta.problems
    assert problem.startswith("A001C004.mov cannot be opened: it is cut short: its 'mdat' atom declares ")
    assert "it has no index (moov atom), which the camera writes when the recording stops" in problem
    assert not targets[0].exists()


@pytest.mark.parametrize(("name", "make", "keep"), [
    ("A001C005.mov", videogen.prores_mov, 0.5), ("C0005.MP4", videogen.h264_mp4, 0.95)])
def test_a_file_whose_media_was_cut_after_its_index(tmp_path: Path, name: str, make: object, keep: float) -> None:
    """Index first (what 'faststart' writes, and some cameras): the file opens, its index places samples
    beyond its end. What was read is still given."""
    enc = make(tmp_path / name, frames=50, timecode="01:00:00:00", audio=(2,),  # type: ignore[operator]
               container_options={"movflags": "faststart"})
    videogen.cut(enc.path, keep)
    meta = read_video(tmp_path, one_clip(tmp_path, name), [])
    assert meta.state is ClipState.DAMAGED
    assert (meta.codec, meta.width, meta.frames, meta.tc_in) == (enc.codec, 320, 50, "01:00:00:00")
    (problem,) = meta.problems
    assert problem.startswith(f"{name} is cut short: its index places ")
    assert f"the file holds {enc.path.stat().st_size:,} bytes" in problem
    assert "of the 2.00 s it declares" in problem


def test_an_mxf_cut_short_misses_the_footer_its_header_points_to(tmp_path: Path) -> None:
    enc = videogen.xdcam_mxf(tmp_path / "C0006.MXF", frames=50, timecode="01:00:00:00")
    videogen.cut(enc.path, 0.5)
    meta = read_video(tmp_path, one_clip(tmp_path, "C0006.MXF"), thumbs(tmp_path, 1))
    assert meta.state is ClipState.DAMAGED and meta.codec == "MPEG-2 4:2:2"
    assert meta.problems[0].startswith("C0006.MXF is cut short: its MXF header places the footer at byte ")
    assert f"but the file holds {enc.path.stat().st_size:,} bytes" in meta.problems[0]


def test_files_that_are_not_movies(tmp_path: Path) -> None:
    videogen.not_media(tmp_path / "A001C007.mov")
    (tmp_path / "A001C008.mxf").write_bytes(b"")
    meta = read_video(tmp_path, one_clip(tmp_path, "A001C007.mov"), thumbs(tmp_path, 1))
    assert meta.state is ClipState.DAMAGED and meta.problems == (
        "A001C007.mov cannot be opened: it is not a QuickTime or MP4 file (it starts with b'This is ')",)
    empty = read_video(tmp_path, one_clip(tmp_path, "A001C008.mxf"), [])
    assert empty.state is ClipState.DAMAGED and empty.problems == (
        "A001C008.mxf is empty (0 bytes): the camera created it but wrote nothing into it",)


def test_a_movie_without_picture(tmp_path: Path) -> None:
    with av.open(str(tmp_path / "sound.mov"), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=48000, layout="stereo")
        frame = av.AudioFrame(format="s16", layout="stereo", samples=4800)
        frame.planes[0].update(bytes(frame.planes[0].buffer_size))
        frame.sample_rate, frame.pts = 48000, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    meta = read_video(tmp_path, one_clip(tmp_path, "sound.mov"), thumbs(tmp_path, 1))
    assert meta.state is ClipState.DAMAGED and (meta.audio_channels, meta.sample_rate) == (2, 48000)
    assert meta.problems == ("sound.mov holds no picture (no video stream): not a camera clip, or a damaged one",)


def test_a_missing_file_raises_so_that_another_copy_is_read(tmp_path: Path) -> None:
    group = one_clip(tmp_path, "A001C009.mov")
    with pytest.raises(FileNotFoundError):
        read_video(tmp_path, group, [])


@pytest.mark.parametrize(("name", "profile", "tag", "mxf", "company", "words"), [
    ("prores", "HQ", "apch", False, "", "ProRes 422 HQ"), ("prores", "4444", None, False, "", "ProRes 4444"),
    ("dnxhd", "DNXHR HQX", None, True, "", "DNxHR HQX"), ("dnxhd", "DNXHD", None, True, "", "DNxHD"),
    ("h264", "High 4:2:2 Intra", None, True, "Sony", "XAVC Intra"),
    ("h264", "High 4:2:2", None, True, "Sony", "XAVC Long GOP"),
    ("h264", "High 4:2:2 Intra", None, True, "CANON", "XF-AVC Intra"), ("h264", "High", "avc1", False, "", "H.264"),
    ("hevc", "Main 10", None, False, "", "H.265"), ("mpeg2video", "Main", None, True, "", "MPEG-2"),
    ("vc1", None, None, False, "", "VC1")])
def test_codec_words(name: str, profile: str | None, tag: str | None, mxf: bool, company: str, words: str) -> None:
    assert codec_words(name, profile, tag, mxf, company) == words


_PEAK = """
import sys
from pathlib import Path
from datawrangler.core.clips import group_clips
from datawrangler.media.read import read_clip


def peak():  # VmHWM: this process's peak resident memory (reset by exec, unlike getrusage's ru_maxrss)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


base = peak()
(group,) = group_clips(["A001C010.mov"])
got = read_clip(Path(sys.argv[1]), group, thumbs_root=Path(sys.argv[2]), thumbnails=3)
assert got.meta.state.value == "read" and len(got.thumbnails) == 3, got
print(peak() - base)
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from /proc (Linux)")
def test_an_8k_clip_costs_one_decoded_frame_of_memory(tmp_path: Path) -> None:
    """16 frames of 8192x4320 ProRes: decoded (10-bit 4:2:2), each is 142 MB; all of them would be 2.3 GB. The
    reader's peak stays within a few frames' worth (the decoder's own buffers, the scaler's)."""
    import subprocess
    import sys

    enc = videogen.repeated_prores(tmp_path / "roll" / "A001C010.mov", (8192, 4320), 16)
    frame_bytes = enc.width * enc.height * 2 * 2
    done = subprocess.run([sys.executable, "-c", _PEAK, str(tmp_path / "roll"), str(tmp_path / "t")],
                          capture_output=True, text=True, check=True, timeout=120)
    grew = int(done.stdout.strip())
    assert frame_bytes < grew < 4 * frame_bytes, f"reading the 8K clip took {grew / 1e6:.0f} MB"
    for i in (1, 2, 3):
        with Image.open(tmp_path / "t" / f"A001C010_{i}.jpg") as im:
            assert im.size == (320, 168)


def test_a_picture_ffmpeg_does_not_decode_is_not_read_never_damaged(tmp_path: Path) -> None:
    """A codec FFmpeg does not know (as X-OCN in some wrappers): the container's timing, timecode and sound
    are kept, the clip is 'not read', and no thumbnail is tried."""
    enc = videogen.prores_mov(tmp_path / "clip.mov", frames=4, timecode="01:00:00:00", audio=(2,))
    data = enc.path.read_bytes()
    assert data.count(b"apch") == 1  # the sample description's codec fourcc
    enc.path.write_bytes(data.replace(b"apch", b"xocn"))
    targets = thumbs(tmp_path, 1)
    meta = read_video(tmp_path, one_clip(tmp_path, "clip.mov"), targets)
    assert meta.state is ClipState.NOT_READ and not targets[0].exists()
    assert meta.problems == ("metadata not read: no open library decodes the picture of clip.mov (FFmpeg does not "
                             "know its codec); its duration, timecode and sound are the container's",)
    assert (meta.codec, meta.width, meta.fps, meta.frames) == (None, None, "25", 4)
    assert (meta.tc_in, meta.tc_out, meta.audio_channels) == ("01:00:00:00", "01:00:00:03", 2)


def test_an_mxf_cut_short_whose_header_names_no_footer_is_found_by_its_last_frames(tmp_path: Path) -> None:
    """A header partition that does not say where the footer is (cameras that never rewrite the header):
    the last frames are demuxed and end before the duration the file declares."""
    enc = videogen.xdcam_mxf(tmp_path / "C0007.MXF", frames=50, timecode="01:00:00:00")
    data = bytearray(enc.path.read_bytes())
    at = data.find(bytes.fromhex("060e2b34020501010d01020101"))  # the header partition pack
    body = at + 17 + (data[at + 16] & 0x7F if data[at + 16] & 0x80 else 0)
    data[body + 24: body + 32] = bytes(8)  # FooterPartition: 0, "not known"
    enc.path.write_bytes(bytes(data))
    whole = read_video(tmp_path, one_clip(tmp_path, "C0007.MXF"), [])
    assert whole.state is ClipState.READ and whole.problems == ()  # the whole file is not suspected
    enc.path.write_bytes(bytes(data[: len(data) // 2]))
    meta = read_video(tmp_path, one_clip(tmp_path, "C0007.MXF"), [])
    assert meta.state is ClipState.DAMAGED and meta.duration == pytest.approx(2.0)
    (problem,) = meta.problems
    assert problem.startswith("C0007.MXF is cut short: ") and "2.00 s" in problem
