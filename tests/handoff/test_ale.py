"""The Avid ALE of real offloads' clips, read back with OpenTimelineIO's ALE adapter (otio-ale-adapter): names,
Start/End/Duration against what the catalog holds (23.976, 25 with a 50 fps clip, 29.97 drop frame), the
heading, the columns, the Comments that say what is wrong, and values that would break a row."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from datawrangler.core.clips import ClipMeta, ClipState, group_clips
from datawrangler.core.timecode import to_frames
from datawrangler.handoff.ale import COLUMNS, build_ale, render_ale
from datawrangler.store.clips import ClipRecord, ClipRow, offload_clips, offload_file_paths, record_clips
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder
from tests.handoff.conftest import Recorded, RunOffload

R = "A001R2EC"
MOV = f"{R}/A001C001_231014_R2EC.mov"
HD = {"codec": "Apple ProRes 422 HQ", "width": 1920, "height": 1080, "container": "mov"}
CARD_23976 = {
    f"{R}/A001C001_231014_R2EC.XML": 300,  # a sidecar whose name sorts before its movie's
    MOV: 40_000,
    f"{R}/A001C002_231014_R2EC.mov": 30_000,
    f"{R}/A001C003_231014_R2EC.mov": 20_000,
    f"{R}/A001C004_231014_R2EC.mov": 10_000,
    **{f"{R}/A001C006/A001C006_231014_R2EC.{n:07d}.dpx": 2_000 for n in range(86400, 86410) if n != 86404},
    "A001_C007_1014AB.RDC/A001_C007_1014AB_001.R3D": 9_000,
    "SOUND/T001.WAV": 8_000,
    "SOUND/Café ñ.wav": 4_000,
    "SDINFO.TXT": 120,
}
META_23976 = {
    "A001C001_231014_R2EC": ClipMeta(**HD, fps="24000/1001", frames=240, duration=240 * 1001 / 24000,
                                     tc_in="01:00:00:00", tc_out="01:00:09:23", reel="A001R2EC", camera="ALEXA Mini LF",
                                     audio_channels=2, sample_rate=48000, bit_depth=24),
    "A001C002_231014_R2EC": ClipMeta(**HD, fps="24000/1001", frames=1234, tc_in="14:23:59:20", tc_out="14:24:51:05",
                                     reel="A001R2EC"),
    "A001C003_231014_R2EC": ClipMeta(**HD, fps="24000/1001", frames=100),  # no timecode in the container
    "A001C004_231014_R2EC": ClipMeta(state=ClipState.DAMAGED, container="mov", problems=(
        "the movie cannot be opened (moov atom not found): it may be truncated",)),
    "A001C006_231014_R2EC": ClipMeta(codec="DPX 10-bit RGB", width=2048, height=1080, fps="24000/1001", frames=9,
                                     container="dpx", tc_in="01:00:00:00", tc_out="01:00:00:09"),
    "A001_C007_1014AB_001": ClipMeta(state=ClipState.NOT_READ, container="r3d", problems=(
        "metadata not read: no open library reads REDCODE RAW",)),
    "T001": ClipMeta(container="wav", codec="PCM 24-bit", fps="24000/1001", duration=12.5, tc_in="14:24:00:00",
                     tc_out="14:24:12:11", audio_channels=4, sample_rate=48000, bit_depth=24,
                     scene="12A\tday\r\nint", take="3", tape="SR01", tracks=("Boom", "Lav 1", "Lav 2", "Mix")),
    "Café ñ": ClipMeta(container="wav", codec="PCM 16-bit", duration=2.0, audio_channels=1, sample_rate=48000,
                       bit_depth=16),
}


def record(rec: Recorded, metas: Mapping[str, ClipMeta]) -> list[ClipRow]:
    """Record clips for the offload's files as the app step would (grouped from the catalog's file list), with
    `metas` as what reading them found; return what the catalog then gives."""
    db = open_catalog(rec.db_path)
    try:
        groups = group_clips(offload_file_paths(db, rec.offload_id))
        assert {g.name for g in groups} == set(metas), sorted(g.name for g in groups)
        record_clips(db, rec.offload_id, [ClipRecord(g, metas[g.name]) for g in groups])
        return offload_clips(db, rec.offload_id, with_paths=True)
    finally:
        db.close()


def offload_with(make_card: CardBuilder, dest_dirs, recorded_offload: RunOffload, files: dict[str, int],
                 metas: Mapping[str, ClipMeta], name: str = R, drives: int = 1) -> tuple[Recorded, list[ClipRow]]:
    card = make_card(files, name=name)
    rec = recorded_offload(card, dest_dirs(drives))
    assert rec.result.all_verified
    return rec, record(rec, metas)


def read_ale(data: bytes) -> otio.schema.SerializableCollection:
    return otio.adapters.read_from_string(data.decode("utf-8"), adapter_name="ale")


def by_name(collection: otio.schema.SerializableCollection) -> dict[str, otio.schema.Clip]:
    """{name: clip}. (OpenTimelineIO crashes when a collection is freed while a loop walks it: keep it named.)"""
    return {c.name: c for c in collection}


class AleClips(dict[str, otio.schema.Clip]):
    """{name: clip} that keeps its collection alive (a clip's metadata dies with the collection)."""

    def __init__(self, collection: otio.schema.SerializableCollection) -> None:
        super().__init__(by_name(collection))
        self.collection = collection


def read_ale_file(path: Path | str) -> AleClips:
    """An ALE file read by the adapter's own file reading: {name: clip}, in the file's order."""
    return AleClips(otio.adapters.read_from_file(str(path), adapter_name="ale"))


def tc_end(tc_out: str, fps: float) -> otio.opentime.RationalTime:
    """The catalog's TC out (the last frame) plus one frame: Avid's and OpenTimelineIO's exclusive End."""
    last = otio.opentime.from_timecode(tc_out, fps)
    return last + otio.opentime.RationalTime(1, fps)


@pytest.fixture
def card_23976(make_card: CardBuilder, dest_dirs, recorded_offload: RunOffload) -> tuple[Recorded, list[ClipRow]]:
    return offload_with(make_card, dest_dirs, recorded_offload, CARD_23976, META_23976)


def test_otio_reads_every_clip_with_the_catalogs_timecode_at_23976(card_23976, tmp_path: Path) -> None:
    _, clips = card_23976
    path = tmp_path / "roll.ale"
    path.write_bytes(render_ale(clips))
    col = otio.adapters.read_from_file(str(path), adapter_name="ale")  # the adapter's own file reading
    header = col.metadata["ALE"]["header"]
    assert header == {"FIELD_DELIM": "TABS", "VIDEO_FORMAT": "1080", "AUDIO_FORMAT": "48khz", "FPS": "23.976"}
    assert list(col.metadata["ALE"]["columns"]) == list(COLUMNS)
    got = by_name(col)
    assert list(got) == [c.name for c in clips]  # every clip, in the catalog's order, names intact (UTF-8)
    fps = 24000 / 1001
    for c in clips:
        m, clip = c.meta, got[c.name]
        if m.tc_in and m.tc_out:  # Start is the TC in, End the frame after the TC out, Duration the frames
            assert otio.opentime.to_timecode(clip.source_range.start_time, fps) == m.tc_in
            assert clip.source_range.end_time_exclusive() == tc_end(m.tc_out, fps)
    rng = got["A001C001_231014_R2EC"].source_range
    assert (rng.start_time.value, rng.duration.value) == (86400, 240)
    assert got["A001C002_231014_R2EC"].source_range.duration.value == 1234
    seq = got["A001C006_231014_R2EC"].source_range  # 86400..86409: the missing frame still takes its place
    assert seq.duration.value == 10
    sound = got["T001"].source_range  # 12.5 s at 23.976 is 299.7 frames: 300
    assert sound.duration.value == 300
    assert otio.opentime.to_timecode(sound.start_time, fps) == "14:24:00:00"


def test_columns_say_tape_tracks_files_and_format(card_23976) -> None:
    rec, clips = card_23976
    ale = by_name(read_ale(render_ale(clips)))
    first = ale["A001C001_231014_R2EC"]
    assert first.media_reference.target_url == "A001C001_231014_R2EC.mov"  # the movie, not its XML sidecar
    fields = first.metadata["ALE"]
    shown = ("Tape", "Tracks", "Source Path", "Codec", "Image Size", "Camera", "Clip FPS", "Audio SR",
             "Audio Bit Depth", "Comments")
    assert [fields[k] for k in shown] == ["A001R2EC", "VA1A2", MOV, "Apple ProRes 422 HQ", "1920x1080",
                                          "ALEXA Mini LF", "23.976", "48000", "24", ""]
    roll = Path(rec.plan.destinations[0])
    for c in clips:  # Source Path is where the clip's first file is in the roll
        path = ale[c.name].metadata["ALE"]["Source Path"]
        assert (roll / path).is_file() and not path.upper().endswith(".XML"), path
    sound = ale["T001"].metadata["ALE"]
    assert (sound["Tape"], sound["Tracks"], sound["Take"]) == ("SR01", "A1A2A3A4", "3")
    assert sound["Scene"] == "12A day int"  # a tab, CR and LF would break the row: one space
    assert ale["A001C006_231014_R2EC"].metadata["ALE"]["Tracks"] == "V"
    assert ale["Café ñ"].metadata["ALE"]["Tracks"] == "A1"
    assert ale["A001C003_231014_R2EC"].metadata["ALE"]["Tape"] == R  # no reel in the media: the offload's roll


def test_comments_say_damage_missing_frames_no_timecode_and_metadata_not_read(card_23976) -> None:
    _, clips = card_23976
    ale = by_name(read_ale(render_ale(clips)))

    def said(name: str) -> str:
        return str(ale[name].metadata["ALE"]["Comments"])

    assert said("A001C004_231014_R2EC").startswith("POSSIBLY DAMAGED: the movie cannot be opened (moov atom")
    assert ale["A001C004_231014_R2EC"].source_range is None  # nothing to place it by
    assert said("A001C006_231014_R2EC") == "frame 86404 missing"
    no_tc = ale["A001C003_231014_R2EC"]
    assert otio.opentime.to_timecode(no_tc.source_range.start_time, 24000 / 1001) == "00:00:00:00"
    assert no_tc.source_range.duration.value == 100
    assert said("A001C003_231014_R2EC") == "no timecode in the media: Start set to 00:00:00:00"
    assert said("A001_C007_1014AB_001").startswith("metadata not read: no open library reads REDCODE RAW")
    assert ale["A001_C007_1014AB_001"].source_range is None
    assert said("Café ñ") == ("no frame rate in the media: 23.976 fps assumed; no timecode in the media: Start set "
                              "to 00:00:00:00")
    assert ale["Café ñ"].source_range.duration.value == 48  # 2 s at the file's 23.976


def test_bytes_crlf_utf8_and_one_field_per_column(card_23976) -> None:
    _, clips = card_23976
    data = render_ale(clips)
    assert not data.startswith(b"\xef\xbb\xbf") and "Café ñ".encode() in data
    lines = data.split(b"\r\n")
    assert lines[-1] == b"" and all(b"\n" not in line and b"\r" not in line for line in lines)
    assert lines[:5] == [b"Heading", b"FIELD_DELIM\tTABS", b"VIDEO_FORMAT\t1080", b"AUDIO_FORMAT\t48khz",
                         b"FPS\t23.976"]
    data_rows = lines[lines.index(b"Data") + 1:-1]
    assert len(data_rows) == len(clips)
    assert all(row.count(b"\t") == len(COLUMNS) - 1 for row in data_rows)


def test_25_fps_uhd_card_with_a_50_fps_clip_is_one_file_at_25(make_card, dest_dirs, recorded_offload) -> None:
    uhd = {"codec": "Apple ProRes 4444", "width": 3840, "height": 2160}
    files = {f"{R}/B001C00{i}_231014_R2EC.mov": 5_000 for i in range(1, 4)}
    metas = {
        "B001C001_231014_R2EC": ClipMeta(**uhd, fps="25", frames=250, tc_in="10:00:00:00", tc_out="10:00:09:24"),
        "B001C002_231014_R2EC": ClipMeta(**uhd, fps="25", frames=1, tc_in="10:00:10:24", tc_out="10:00:10:24"),
        "B001C003_231014_R2EC": ClipMeta(**uhd, fps="50", frames=125, duration=2.5, tc_in="10:01:00:49",
                                         tc_out="10:01:03:23"),
    }
    _, clips = offload_with(make_card, dest_dirs, recorded_offload, files, metas)
    built = build_ale(clips)
    assert (built.fps, built.video_format, built.converted) == (Fraction(25), "CUSTOM", ["B001C003_231014_R2EC"])
    col = read_ale(built.render())
    assert col.metadata["ALE"]["header"]["FPS"] == "25" and col.metadata["ALE"]["header"]["VIDEO_FORMAT"] == "CUSTOM"
    got = by_name(col)
    for name in ("B001C001_231014_R2EC", "B001C002_231014_R2EC"):
        m = metas[name]
        assert otio.opentime.to_timecode(got[name].source_range.start_time, 25) == m.tc_in
        assert got[name].source_range.end_time_exclusive() == tc_end(str(m.tc_out), 25)
        assert got[name].metadata["ALE"]["Comments"] == ""
    fast = got["B001C003_231014_R2EC"]
    # the label's 10:01:00 kept, frame 49 of 50 is frame 24 of 25; 2.5 s at 25 fps is 62.5 frames: 62
    assert otio.opentime.to_timecode(fast.source_range.start_time, 25) == "10:01:00:24"
    assert fast.source_range.duration.value == 62
    assert fast.metadata["ALE"]["Clip FPS"] == "50"
    assert fast.metadata["ALE"]["Comments"] == ("recorded at 50 fps (TC in 10:01:00:49, 00:00:02:25 long at 50): "
                                                "Start/End/Duration converted to 25 fps")


def test_2997_drop_frame_across_minutes_and_non_drop(make_card, dest_dirs, recorded_offload) -> None:
    files = {f"C{i:03d}.MP4": 5_000 for i in range(1, 4)}
    metas = {  # across 01:00:00 (a tenth minute: no label dropped) and 01:01:00 (;00 and ;01 dropped)
        "C001": ClipMeta(codec="XAVC", width=1920, height=1080, fps="30000/1001", frames=1800,
                         tc_in="00:59:59;28", tc_out="01:00:59;27"),
        "C002": ClipMeta(codec="XAVC", width=1920, height=1080, fps="30000/1001", frames=3597,
                         tc_in="01:00:59;29", tc_out="01:02:59;29"),
        "C003": ClipMeta(codec="XAVC", width=1920, height=1080, fps="30000/1001", frames=90,
                         tc_in="02:00:00:00", tc_out="02:00:02:29"),  # non-drop at 29.97
    }
    _, clips = offload_with(make_card, dest_dirs, recorded_offload, files, metas, name="SONY_A")
    data = render_ale(clips)
    col = read_ale(data)
    assert col.metadata["ALE"]["header"]["FPS"] == "29.97"
    got = by_name(col)
    fps = 30000 / 1001
    rate = Fraction(30000, 1001)
    for name, m in metas.items():
        rng = got[name].source_range
        assert rng.duration.value == m.frames
        assert rng.start_time.value == to_frames(str(m.tc_in), rate)  # OTIO's drop-frame count is ours
        assert rng.end_time_exclusive() == tc_end(str(m.tc_out), fps), name
    row = next(line for line in data.decode().split("\r\n") if line.startswith("C002\t")).split("\t")
    # Start as the media says it, End the frame after 01:02:59;29 (01:03:00;00 and ;01 do not exist), Duration
    # non-drop (a count of frames, not a clock)
    assert row[2:5] == ["01:00:59;29", "01:03:00;02", "00:01:59:27"]


def test_a_clip_past_midnight_has_no_end_and_still_reads(make_card, dest_dirs, recorded_offload) -> None:
    files = {"NIGHT.mov": 5_000, "LATE.mov": 5_000}
    metas = {
        "NIGHT": ClipMeta(fps="25", frames=100, tc_in="23:59:59:00", tc_out="00:00:02:24"),
        "LATE": ClipMeta(fps="25", frames=25, tc_in="23:59:58:00", tc_out="23:59:58:24"),
    }
    _, clips = offload_with(make_card, dest_dirs, recorded_offload, files, metas, name="NIGHT01")
    got = by_name(read_ale(render_ale(clips)))
    night = got["NIGHT"]
    assert night.source_range.duration.value == 100 and night.metadata["ALE"].get("End") == ""
    assert otio.opentime.to_timecode(night.source_range.start_time, 25) == "23:59:59:00"
    assert night.metadata["ALE"]["Comments"] == ("runs past midnight: End left empty (it would be 00:00:03:00); "
                                                 "Start and Duration place it")
    assert got["LATE"].source_range.end_time_exclusive() == tc_end("23:59:58:24", 25)


def test_a_sound_only_card_takes_the_sounds_rate(make_card, dest_dirs, recorded_offload) -> None:
    files = {"T001.WAV": 5_000, "T002.WAV": 5_000}
    metas = {n: ClipMeta(fps="25", duration=4.0, tc_in=tc, audio_channels=8, sample_rate=96000, bit_depth=32,
                         tape="SR07") for n, tc in (("T001", "11:00:00:00"), ("T002", "11:05:00:00"))}
    _, clips = offload_with(make_card, dest_dirs, recorded_offload, files, metas, name="SOUND_07")
    col = read_ale(render_ale(clips))
    assert col.metadata["ALE"]["header"] == {"FIELD_DELIM": "TABS", "VIDEO_FORMAT": "1080", "AUDIO_FORMAT": "48khz",
                                             "FPS": "25"}
    for clip in col:
        assert clip.source_range.duration.value == 100
        assert (clip.metadata["ALE"]["Tape"], clip.metadata["ALE"]["Tracks"]) == ("SR07", "A1A2A3A4A5A6A7A8")
