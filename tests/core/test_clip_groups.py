"""Grouping a card's files into clips: the card rules' clip names (spans, chapters, ARRIRAW frames), then by
extension (one movie or sound file a clip, numbered frames a sequence with its gaps), sidecars joined to their
clip, everything else outside any clip."""

from __future__ import annotations

from datawrangler.core.clips import ClipKind, frame_gaps, gaps_text, group_clips


def _by_name(paths: list[str]) -> dict:
    return {g.name: g for g in group_clips(paths)}


def test_sony_clips_take_their_xml_sidecar_and_leave_the_card_files_out() -> None:
    clips = _by_name(["PRIVATE/M4ROOT/CLIP/C0001.MP4", "PRIVATE/M4ROOT/CLIP/C0001M01.XML",
                      "PRIVATE/M4ROOT/CLIP/C0002.MP4", "PRIVATE/M4ROOT/CLIP/C0002M01.XML",
                      "PRIVATE/M4ROOT/MEDIAPRO.XML", "PRIVATE/M4ROOT/STATUS.BIN",
                      "PRIVATE/M4ROOT/THMBNL/C0001T01.JPG"])
    assert sorted(clips) == ["C0001", "C0002"]
    assert clips["C0001"].kind is ClipKind.VIDEO
    assert clips["C0001"].files == ("PRIVATE/M4ROOT/CLIP/C0001.MP4",)
    assert clips["C0001"].sidecars == ("PRIVATE/M4ROOT/CLIP/C0001M01.XML",)


def test_an_arriraw_sequence_is_one_clip_with_every_gap_named() -> None:
    name = "A001C006_231014_R2EC"
    frames = [f"A001R2EC/{name}/{name}.{i:07d}.ari" for i in range(86400, 86520) if not
              (i == 86411 or 86500 <= i <= 86502)]
    (clip,) = group_clips(frames)
    assert clip.name == name and clip.kind is ClipKind.SEQUENCE
    assert (clip.first_frame, clip.last_frame, clip.frame_count) == (86400, 86519, 116)
    assert clip.gaps == ((86411, 86411), (86500, 86502))
    assert gaps_text(clip.gaps) == "frames 86411, 86500-86502 missing"
    assert clip.missing_frames == 4


def test_red_spans_and_gopro_chapters_are_one_clip_each() -> None:
    red = [f"A001_C001_1014XY.RDM/A001_C001_1014XY.RDC/A001_C001_1014XY_{i:03d}.R3D" for i in (1, 2, 3)]
    (clip,) = group_clips(red)
    assert clip.kind is ClipKind.RAW and len(clip.files) == 3 and clip.files[0].endswith("_001.R3D")
    gopro = group_clips(["DCIM/100GOPRO/GX010042.MP4", "DCIM/100GOPRO/GX020042.MP4", "DCIM/100GOPRO/GX010043.MP4"])
    assert [(g.name, len(g.files)) for g in gopro] == [("GX010042", 2), ("GX010043", 1)]


def test_a_generic_folder_groups_by_extension() -> None:
    clips = _by_name([f"plates/shot_v1.{i:04d}.dpx" for i in (1001, 1002, 1004)] +
                     ["sound/T001.WAV", "misc/notes.txt", "edit/clip.mov", "edit/clip.xml", "x/one.0007.exr"])
    assert set(clips) == {"shot_v1", "T001", "clip", "one.0007"}
    assert clips["shot_v1"].kind is ClipKind.SEQUENCE and clips["shot_v1"].gaps == ((1003, 1003),)
    assert clips["T001"].kind is ClipKind.AUDIO
    assert clips["clip"].sidecars == ("edit/clip.xml",)
    assert clips["one.0007"].kind is ClipKind.SEQUENCE and clips["one.0007"].frame_count == 1  # a single frame


def test_two_sequences_in_one_folder_stay_apart_by_prefix_and_padding() -> None:
    groups = group_clips([f"s/a.{i:04d}.exr" for i in range(3)] + [f"s/b.{i:04d}.exr" for i in range(2)]
                         + [f"s/a.{i:06d}.exr" for i in range(2)])
    assert sorted((g.name, len(g.files)) for g in groups) == [("a", 2), ("a", 3), ("b", 2)]


def test_frame_gaps() -> None:
    assert frame_gaps([1, 2, 5, 7]) == ((3, 4), (6, 6))
    assert frame_gaps([]) == () and gaps_text(()) == ""
    assert gaps_text(((5, 5),)) == "frame 5 missing"
    many = tuple((i * 10, i * 10) for i in range(20))
    assert gaps_text(many).endswith("and 8 more ranges missing")


def test_a_2400_frame_sequence_with_one_missing_frame() -> None:
    frames = [f"A/A001C001_231014_R2EC/A001C001_231014_R2EC.{i:07d}.ari" for i in range(2400) if i != 1200]
    (clip,) = group_clips(frames)
    assert clip.frame_count == 2399 and clip.gaps == ((1200, 1200),)
