"""media.sidecar: Sony NonRealTimeMeta and Canon clip XML read from files written as the cameras write them
(namespaces included), and hostile or broken XML from a card said as a problem, never raised."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from datawrangler.media import sidecar
from datawrangler.media.sidecar import SidecarInfo, camera_rate, read_sidecars, sony_ltc
from tests.media import videogen


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_sony_fields_from_a_25p_fx3_sidecar(tmp_path: Path) -> None:
    xml = write(tmp_path / "C0001M01.XML", videogen.sony_xml(frames=4380, tc_in="19:57:30:17", tc_end="20:00:25:21"))
    got = read_sidecars([xml])
    assert got.problems == ()
    assert got.source == "Sony NonRealTimeMeta"
    assert (got.tc_in, got.tc_out, got.tc_rate, got.fps, got.frames) == (
        "19:57:30:17", "20:00:25:21", Fraction(25), Fraction(25), 4380)
    assert (got.codec, got.width, got.height) == ("XAVC", 1920, 1080)
    assert got.camera == "Sony ILME-FX3" and got.lens == "FE 24-70mm F2.8 GM II"
    assert got.extra["camera codec"] == "AVC_1920_1080_HP@L41"
    assert got.extra["CaptureGammaEquation"] == "s-log3-cine"
    assert got.extra["CaptureColorPrimaries"] == "S-Gamut3Cine"
    assert got.extra["camera serial"] == "5012345" and got.extra["recording mode"] == "normal"
    assert got.extra["recorded"] == "2026-10-14T15:30:12+02:00" and got.extra["camera audio channels"] == "2"
    assert "capture fps" not in got.extra


def test_sony_drop_frame_at_2997_from_the_flag_in_the_frame_byte(tmp_path: Path) -> None:
    assert videogen.ltc_word("11:08:46;27") == "67460811"  # the frame byte: 0x40 (drop frame) | BCD 27
    xml = write(tmp_path / "C0002M01.XML", videogen.sony_xml(
        frames=10, tc_in="11:08:46;27", tc_end="11:08:47;06", tc_fps=30, format_fps="29.97p"))
    got = read_sidecars([xml])
    assert (got.tc_in, got.tc_out) == ("11:08:46;27", "11:08:47;06")
    assert (got.tc_rate, got.fps) == (Fraction(30000, 1001), Fraction(30000, 1001))


def test_sony_half_step_50p_counted_at_25_without_an_end_entry(tmp_path: Path) -> None:
    """halfStep: one timecode frame per two video frames. 100 frames of 50p are 50 timecode frames at 25."""
    xml = write(tmp_path / "C0003M01.XML", videogen.sony_xml(
        frames=100, tc_in="01:00:00:00", tc_end=None, tc_fps=25, half_step=True, format_fps="50p",
        capture_fps="100p"))
    got = read_sidecars([xml])
    assert (got.tc_in, got.tc_out, got.tc_rate, got.fps) == ("01:00:00:00", "01:00:01:24", Fraction(25),
                                                           Fraction(50))
    assert "halfStep" in got.extra["timecode"]
    assert got.extra["capture fps"] == "100p"  # slow motion: captured at 100, played at 50


def test_sony_alpha_bodies_write_the_timecode_as_text(tmp_path: Path) -> None:
    xml = write(tmp_path / "C0004M01.XML", videogen.sony_xml(
        frames=48, tc_in="00:10:00:00", tc_end="00:10:01:23", tc_fps=24, format_fps="23.98p", ltc_text=True,
        model="ILCE-7SM3", lens=None))
    got = read_sidecars([xml])
    assert (got.tc_in, got.tc_out, got.fps) == ("00:10:00:00", "00:10:01:23", Fraction(24000, 1001))
    assert got.camera == "Sony ILCE-7SM3" and got.lens is None


@pytest.mark.parametrize(("text", "rate"), [
    ("23.98p", Fraction(24000, 1001)), ("24p", Fraction(24)), ("25p", Fraction(25)),
    ("29.97p", Fraction(30000, 1001)), ("59.94i", Fraction(30000, 1001)), ("50i", Fraction(25)),
    ("59.94p", Fraction(60000, 1001)), ("119.88p", Fraction(120000, 1001)), ("23.976", Fraction(24000, 1001)),
    ("100p", Fraction(100)), ("fast", None), ("", None), (None, None)])
def test_camera_frame_rate_words(text: str | None, rate: Fraction | None) -> None:
    assert camera_rate(text) == rate


def test_sony_ltc_words_are_checked() -> None:
    assert sony_ltc("00000001", Fraction(25)) == "01:00:00:00"
    assert sony_ltc("24595923", Fraction(25)) == "23:59:59:24"
    with pytest.raises(ValueError, match="not a timecode at 25 fps"):
        sony_ltc("25000001", Fraction(25))  # frame 25 at 25 fps
    with pytest.raises(ValueError, match="not a timecode"):
        sony_ltc("0000zz01", Fraction(25))


def test_a_bad_ltc_value_is_a_problem_naming_the_sidecar(tmp_path: Path) -> None:
    text = videogen.sony_xml(frames=10, tc_in="01:00:00:00", tc_end=None).replace('value="00000001"',
                                                                                 'value="garbage"')
    got = read_sidecars([write(tmp_path / "C0005M01.XML", text)])
    assert got.tc_in is None
    assert got.problems == ("sidecar C0005M01.XML not read: its LtcChange value 'garbage' is not a timecode",)


def test_canon_clip_xml(tmp_path: Path) -> None:
    xml = write(tmp_path / "A001C001_261014AB_CANON.XML", videogen.canon_xml(
        clip="A001C001_261014AB", tc_in="14:21:05:10", frames=48))
    got = read_sidecars([xml])
    assert got.problems == () and got.source == "Canon clip XML"
    assert (got.clip_name, got.tc_in, got.fps, got.frames) == ("A001C001_261014AB", "14:21:05:10",
                                                              Fraction(24000, 1001), 48)
    assert got.tc_out == "14:21:07:09"  # 48 frames at 23.976: two timecode seconds
    assert got.camera == "Canon EOS C70" and got.lens == "RF24-70mm F2.8 L IS USM"  # not the camera's ModelName
    assert (got.width, got.height) == (4096, 2160) and got.extra["camera serial"] == "483021000123"


def test_a_canon_start_timecode_that_is_not_one_is_a_problem(tmp_path: Path) -> None:
    xml = write(tmp_path / "A001C002_261014AB_CANON.XML", videogen.canon_xml(
        clip="A001C002_261014AB", tc_in="soon", frames=48))
    got = read_sidecars([xml])
    assert got.tc_in is None and got.camera is None
    assert got.problems == ("sidecar A001C002_261014AB_CANON.XML not read: its start timecode 'soon' is not "
                            "HH:MM:SS:FF",)


def test_broken_hostile_large_and_missing_sidecars_are_problems_never_exceptions(tmp_path: Path) -> None:
    broken = write(tmp_path / "C0001M01.XML", videogen.sony_xml(frames=10, tc_in="01:00:00:00", tc_end=None)[:300])
    laughs = write(tmp_path / "C0002M01.XML", '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                   '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
                   "<NonRealTimeMeta>&lol2;</NonRealTimeMeta>")
    external = write(tmp_path / "C0003M01.XML", '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM '
                     '"file:///etc/passwd">]>\n<NonRealTimeMeta>&e;</NonRealTimeMeta>')
    large = tmp_path / "C0004M01.XML"
    large.write_bytes(b"<a>" + b" " * sidecar.MAX_SIDECAR + b"</a>")
    missing = tmp_path / "C0005M01.XML"
    got = read_sidecars([broken, laughs, external, large, missing])
    assert got.tc_in is None and got.camera is None
    assert len(got.problems) == 5
    assert got.problems[0].startswith("sidecar C0001M01.XML is not readable XML (")
    assert got.problems[1].startswith("sidecar C0002M01.XML is not readable XML (")
    assert "EntitiesForbidden" in got.problems[1] or "entity" in got.problems[1].lower()
    assert got.problems[2].startswith("sidecar C0003M01.XML is not readable XML (")
    assert got.problems[3] == (f"sidecar C0004M01.XML not read: it is {sidecar.MAX_SIDECAR + 7:,} bytes, more than "
                               "a camera writes for a clip")
    assert got.problems[4] == ("sidecar C0005M01.XML could not be read (No such file or directory); its timecode, "
                               "camera and lens are not known")


def test_xml_of_another_kind_adds_nothing(tmp_path: Path) -> None:
    other = write(tmp_path / "clip.xml", '<?xml version="1.0"?><xmeml version="5"><clip><name>x</name>'
                  "<timecode><string>01:00:00:00</string></timecode></clip></xmeml>")
    assert read_sidecars([other]) == SidecarInfo()
    assert read_sidecars([]) == SidecarInfo()


def test_several_sidecars_merge_the_first_giving_a_field_wins(tmp_path: Path) -> None:
    broken = write(tmp_path / "C0001M02.XML", "<NonRealTimeMeta")
    first = write(tmp_path / "C0001M01.XML", videogen.sony_xml(frames=10, tc_in="01:00:00:00", tc_end=None,
                                                                lens=None))
    second = write(tmp_path / "C0001_CANON.XML", videogen.canon_xml(clip="C0001", tc_in="02:00:00:00", frames=10))
    got = read_sidecars([broken, first, second])
    assert got.source == "Sony NonRealTimeMeta" and got.tc_in == "01:00:00:00"
    assert got.camera == "Sony ILME-FX3"
    assert got.lens == "RF24-70mm F2.8 L IS USM"  # only the second says a lens
    assert got.extra["camera serial"] == "5012345"  # both say one: the first's
    assert len(got.problems) == 1 and got.problems[0].startswith("sidecar C0001M02.XML is not readable XML")
