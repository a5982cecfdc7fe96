"""media.read.read_clip, the entry point the app calls: thumbnails named under the catalog's thumbnails folder
and returned only when written, each clip kind sent to its reader (real movie, WAV and DPX files), camera raw
never damaged, and a reader's surprise turned into "possibly damaged" while OSError still reaches the caller."""

from __future__ import annotations

import errno
import wave
from pathlib import Path

import pytest
from PIL import Image

from datawrangler.core.clips import ClipGroup, ClipKind, ClipMeta, ClipState, group_clips
from datawrangler.media import read, video
from datawrangler.media.read import read_clip, safe_name, thumbnail_names
from tests.media import stillgen, videogen

PREFIX = "3f2c9a8e-offload"


def only(rels: list[str]) -> ClipGroup:
    (group,) = group_clips(rels)
    return group


def jpeg_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        assert im.format == "JPEG"
        return im.size


@pytest.mark.parametrize("count", [1, 3])
def test_a_movie_clips_thumbnails_under_the_prefix_relative_to_the_thumbnails_folder(tmp_path: Path,
                                                                                     count: int) -> None:
    roll, store = tmp_path / "A001R1AB", tmp_path / "catalog" / "thumbnails"
    videogen.prores_mov(roll / "A001C001_261014_R1AB.mov", size=(1920, 1080), frames=6, timecode="01:00:00:00")
    got = read_clip(roll, only(["A001C001_261014_R1AB.mov"]), thumbs_root=store, thumbs_prefix=PREFIX,
                    thumbnails=count)
    assert got.meta.state is ClipState.READ and got.meta.codec == "ProRes 422 HQ"
    assert got.thumbnails == tuple(f"{PREFIX}/A001C001_261014_R1AB_{i}.jpg" for i in range(1, count + 1))
    for rel in got.thumbnails:
        assert jpeg_size(store.joinpath(*rel.split("/"))) == (320, 180)
    assert not list(roll.glob("*.jpg"))  # nothing written into the destination roll


def test_no_thumbnails_when_none_are_asked_or_there_is_no_folder(tmp_path: Path) -> None:
    videogen.prores_mov(tmp_path / "roll" / "clip.mov", frames=2)
    group = only(["clip.mov"])
    assert read_clip(tmp_path / "roll", group, thumbs_root=tmp_path / "t", thumbnails=0).thumbnails == ()
    got = read_clip(tmp_path / "roll", group, thumbnails=3)
    assert got.thumbnails == () and got.meta.state is ClipState.READ
    assert not (tmp_path / "t").exists()


def test_a_damaged_clip_returns_no_thumbnail_not_even_an_earlier_reads(tmp_path: Path) -> None:
    videogen.cut(videogen.prores_mov(tmp_path / "roll" / "A001C002.mov", frames=10).path, 0.5)
    stale = tmp_path / "t" / PREFIX / "A001C002_1.jpg"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an earlier read's picture of the clip")
    got = read_clip(tmp_path / "roll", only(["A001C002.mov"]), thumbs_root=tmp_path / "t", thumbs_prefix=PREFIX)
    assert got.meta.state is ClipState.DAMAGED and got.meta.problems[0].startswith("A001C002.mov cannot be opened")
    assert got.thumbnails == () and not stale.exists()


def test_thumbnail_names_are_safe_file_names() -> None:
    assert safe_name("A001 C001/take:2 é") == "A001_C001_take_2"
    assert safe_name("..") == "clip" and len(safe_name("x" * 300)) == 120
    assert thumbnail_names("A001 C001", "a/b", 3) == ["a/b/A001_C001_1.jpg", "a/b/A001_C001_2.jpg",
                                                      "a/b/A001_C001_3.jpg"]
    assert thumbnail_names("C1", "", 1) == ["C1_1.jpg"]
    for bad in ("../x", "/abs", "a\\b"):
        with pytest.raises(ValueError, match="thumbs_prefix must be a relative path"):
            thumbnail_names("C1", bad, 1)
    with pytest.raises(ValueError, match="thumbnails per clip must be 0, 1 or 3, not 2"):
        read_clip(Path("."), ClipGroup("C1", ClipKind.VIDEO, ("C1.mov",)), thumbnails=2)


def test_a_clip_name_that_is_no_file_name_still_gets_its_thumbnail(tmp_path: Path) -> None:
    videogen.prores_mov(tmp_path / "roll" / "scene 12: take 3.mov", frames=2)
    got = read_clip(tmp_path / "roll", only(["scene 12: take 3.mov"]), thumbs_root=tmp_path / "t")
    assert got.thumbnails == ("scene_12_take_3_1.jpg",) and (tmp_path / "t" / "scene_12_take_3_1.jpg").is_file()


@pytest.mark.parametrize(("files", "words"), [
    ([f"A001_0102XY.RDM/A001_C001_0102AB.RDC/A001_C001_0102AB_00{i}.R3D" for i in (1, 2)], "REDCODE RAW (R3D)"),
    (["A001_10141530_C001.braw"], "Blackmagic RAW"), (["DCIM/100CANON/A001C001_261014AB_CANON.CRM"],
                                                       "Canon Cinema RAW Light")])
def test_camera_raw_is_not_read_never_damaged_and_gets_no_thumbnail(tmp_path: Path, files: list[str],
                                                                    words: str) -> None:
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"\x00" * 4096)  # not what the camera writes: it is never opened
    group = only(files)
    assert group.kind is ClipKind.RAW and len(group.files) == len(files)
    got = read_clip(tmp_path, group, thumbs_root=tmp_path / "t", thumbnails=3)
    assert got.meta.state is ClipState.NOT_READ and got.meta.codec == words
    assert got.meta.problems == (f"metadata not read: no open library reads {words}",)
    assert got.thumbnails == () and not (tmp_path / "t").exists()


def test_camera_raw_takes_what_its_sidecar_says(tmp_path: Path) -> None:
    (tmp_path / "A001C003_261014AB_CANON.CRM").write_bytes(b"\x00" * 512)
    (tmp_path / "A001C003_261014AB_CANON.XML").write_text(videogen.canon_xml(
        clip="A001C003_261014AB", tc_in="09:00:00:00", frames=24, fps="25P", model="EOS C300 Mark III"))
    group = only(["A001C003_261014AB_CANON.CRM", "A001C003_261014AB_CANON.XML"])
    meta = read_clip(tmp_path, group).meta
    assert meta.state is ClipState.NOT_READ
    assert (meta.tc_in, meta.tc_out, meta.fps, meta.frames) == ("09:00:00:00", "09:00:00:23", "25", 24)
    assert meta.camera == "Canon EOS C300 Mark III" and meta.extra["lens"] == "RF24-70mm F2.8 L IS USM"


def test_a_missing_raw_file_raises_so_that_another_copy_is_read(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_clip(tmp_path, only(["A001_10141530_C002.braw"]))


def test_sound_and_image_sequences_go_to_their_readers(tmp_path: Path) -> None:
    with wave.open(str(tmp_path / "T001.WAV"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(3)
        w.setframerate(48000)
        w.writeframes(b"\x00" * 6 * 4800)
    sound = read_clip(tmp_path, only(["T001.WAV"]), thumbs_root=tmp_path / "t")
    assert sound.meta.state is ClipState.READ and sound.thumbnails == ()
    assert (sound.meta.container, sound.meta.audio_channels, sound.meta.sample_rate) == ("wav", 2, 48000)
    assert sound.meta.duration == pytest.approx(0.1)
    names = stillgen.write_sequence(tmp_path / "plates", "shot.", range(1001, 1006), "dpx",
                                    lambda n: stillgen.dpx_bytes(64, 36), 4)
    seq = read_clip(tmp_path, only([f"plates/{n}" for n in names]), thumbs_root=tmp_path / "t", thumbnails=1)
    assert seq.meta.state is ClipState.READ and (seq.meta.container, seq.meta.frames) == ("dpx", 5)
    assert seq.thumbnails == ("shot_1.jpg",) and jpeg_size(tmp_path / "t" / "shot_1.jpg") == (64, 36)


def test_a_readers_surprise_is_possibly_damaged_with_the_reason(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def surprised(root: Path, group: ClipGroup, thumbs: list[Path]) -> ClipMeta:
        raise ValueError("a field no camera writes")

    monkeypatch.setattr(video, "read_video", surprised)
    got = read_clip(tmp_path, ClipGroup("C1", ClipKind.VIDEO, ("C1.mov",)))
    assert got.meta.state is ClipState.DAMAGED
    assert got.meta.problems == ("C1.mov could not be read (ValueError: a field no camera writes); check it in a "
                                 "player, and report this message if the clip plays",)


def test_an_io_error_reaches_the_caller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def drive_gone(root: Path, group: ClipGroup, thumbs: list[Path]) -> ClipMeta:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(video, "read_video", drive_gone)
    with pytest.raises(OSError, match="Input/output error"):
        read_clip(tmp_path, ClipGroup("C1", ClipKind.VIDEO, ("C1.mov",)))
    monkeypatch.undo()
    with pytest.raises(FileNotFoundError):  # the real reader: the file is not on this copy
        read_clip(tmp_path, ClipGroup("C1", ClipKind.VIDEO, ("C1.mov",)))


def test_the_raw_formats_named_are_the_ones_grouped_as_raw() -> None:
    from datawrangler.core.clips import RAW_EXT

    assert set(read.RAW_FORMATS) == set(RAW_EXT)
