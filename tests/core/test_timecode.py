"""Timecode arithmetic: rates as rationals, frames <-> HH:MM:SS:FF, drop frame at 29.97 and 59.94."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datawrangler.core import timecode as tc

NTSC30 = Fraction(30000, 1001)
NTSC60 = Fraction(60000, 1001)


@pytest.mark.parametrize(("text", "rate"), [("24000/1001", Fraction(24000, 1001)), ("23.976", Fraction(24000, 1001)),
                                            ("29.97", NTSC30), ("59.94", NTSC60), ("25", Fraction(25)),
                                            (24, Fraction(24)), ("25/1", Fraction(25))])
def test_rates_are_exact_rationals(text: str | int, rate: Fraction) -> None:
    assert tc.parse_rate(text) == rate


def test_no_rate_and_bad_rates() -> None:
    assert tc.parse_rate(None) is None and tc.parse_rate("") is None and tc.parse_rate("0/1") is None
    with pytest.raises(tc.TimecodeError, match="not a frame rate: 'fast'"):
        tc.parse_rate("fast")
    with pytest.raises(tc.TimecodeError):
        tc.parse_rate("24/0")


def test_rate_text() -> None:
    assert [tc.rate_text(r) for r in (Fraction(24000, 1001), NTSC30, Fraction(25), Fraction(48))] == \
        ["23.976", "29.97", "25", "48"]


@pytest.mark.parametrize(("frames", "text"), [(0, "00:00:00;00"), (1799, "00:00:59;29"), (1800, "00:01:00;02"),
                                              (17982, "00:10:00;00"), (107892, "01:00:00;00"),
                                              (17981, "00:09:59;29")])
def test_drop_frame_labels_skip_two_numbers_a_minute_but_every_tenth(frames: int, text: str) -> None:
    assert tc.from_frames(frames, NTSC30, drop=True) == text
    assert tc.to_frames(text, NTSC30) == frames


def test_drop_frame_at_59_94_skips_four() -> None:
    assert tc.from_frames(3600, NTSC60, drop=True) == "00:01:00;04"
    assert tc.to_frames("00:01:00;04", NTSC60) == 3600


@given(st.integers(min_value=0, max_value=2_589_407))  # a drop-frame day: 24 h of 29.97 fps frames
def test_drop_frame_round_trips(frames: int) -> None:
    assert tc.to_frames(tc.from_frames(frames, NTSC30, drop=True), NTSC30) == frames


def test_non_drop_and_tc_out() -> None:
    assert tc.to_frames("01:00:00:00", Fraction(25)) == 90000
    assert tc.tc_out("01:00:00:00", 250, Fraction(25)) == "01:00:09:24"  # in + duration - 1
    assert tc.tc_out("00:59:59;29", 2, NTSC30) == "01:00:00;00"
    assert tc.duration_text(24 * 61 + 3, Fraction(24)) == "00:01:01:03"
    assert tc.add("23:59:59:24", 1, Fraction(25)) == "00:00:00:00"  # wraps at 24 hours
    assert tc.from_frames(2_589_408, NTSC30, drop=True) == "00:00:00;00"


def test_bad_timecodes_say_what_they_are() -> None:
    with pytest.raises(tc.TimecodeError, match="not a timecode: 'noon'"):
        tc.to_frames("noon", Fraction(25))
    with pytest.raises(tc.TimecodeError, match="at 25 fps"):
        tc.to_frames("01:00:00:25", Fraction(25))


def test_bwf_time_reference() -> None:
    assert tc.from_samples(48000 * 3600, 48000, Fraction(25)) == "01:00:00:00"
    # an hour of clock at 29.97: drop-frame labels keep up with it, non-drop labels fall 3.6 s behind
    assert tc.from_samples(48000 * 3600, 48000, NTSC30, drop=True) == "01:00:00;00"
    assert tc.from_samples(48000 * 3600, 48000, NTSC30, drop=False) == "00:59:56:12"
