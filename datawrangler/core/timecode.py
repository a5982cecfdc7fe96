"""SMPTE timecode arithmetic: frame rates as rationals, HH:MM:SS:FF <-> frame counts, drop frame.

Drop-frame timecode (`HH:MM:SS;FF`) exists at 29.97 and 59.94 (30000/1001, 60000/1001): it skips the first
2 (or 4) frame numbers of every minute except each tenth, so that the label keeps up with the clock. The
frames themselves are never dropped. 23.976 (24000/1001) has no drop-frame form.
"""

from __future__ import annotations

import re
from fractions import Fraction

_TC = re.compile(r"^(\d{1,2})[:.](\d{2})[:.](\d{2})([:;.,])(\d{2,3})$")
_COMMON = {23.976: Fraction(24000, 1001), 29.97: Fraction(30000, 1001), 59.94: Fraction(60000, 1001),
           47.952: Fraction(48000, 1001), 119.88: Fraction(120000, 1001)}


class TimecodeError(ValueError):
    """A frame rate or timecode that cannot be read; the message quotes it."""


def parse_rate(value: str | float | Fraction | None) -> Fraction | None:
    """'24000/1001', '23.976', 25, Fraction(30000, 1001) -> a Fraction; None or a zero rate -> None.
    Decimal spellings of the NTSC rates (23.976, 29.97, 59.94) become their exact rationals."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, Fraction):
            rate = value
        elif isinstance(value, str) and "/" in value:
            num, den = value.split("/", 1)
            rate = Fraction(int(num), int(den))
        else:
            number = float(value)
            rate = next((r for f, r in _COMMON.items() if abs(number - f) < 0.0015), None) or \
                Fraction(number).limit_denominator(1001)
    except (ValueError, ZeroDivisionError) as exc:
        raise TimecodeError(f"not a frame rate: {value!r}") from exc
    return rate if rate > 0 else None


def rate_text(rate: Fraction | None) -> str:
    """24 -> '24', 24000/1001 -> '23.976', 30000/1001 -> '29.97', 25/1 -> '25'."""
    if rate is None:
        return ""
    if rate.denominator == 1:
        return str(rate.numerator)
    return f"{float(rate):.3f}".rstrip("0").rstrip(".")


def clock(seconds: float, pad: bool = False) -> str:
    """A running time to the second: 0:14:32 (pad: 00:14:32)."""
    s = round(seconds)
    return f"{s // 3600:{'02d' if pad else 'd'}}:{s // 60 % 60:02d}:{s % 60:02d}"


def nominal(rate: Fraction) -> int:
    """The frames per timecode second: 30 for 29.97, 24 for 23.976, 25 for 25."""
    return max(1, round(rate))


def can_drop(rate: Fraction) -> bool:
    return rate.denominator == 1001 and nominal(rate) % 30 == 0


def _drop_per_minute(rate: Fraction) -> int:
    return 2 * (nominal(rate) // 30)


def to_frames(tc: str, rate: Fraction) -> int:
    """'01:00:00:00' at 25 -> 90000. A ';' (or ',') before the frames means drop frame."""
    m = _TC.match(tc.strip())
    if m is None:
        raise TimecodeError(f"not a timecode: {tc!r} (expected HH:MM:SS:FF)")
    hh, mm, ss, sep, ff = int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5])
    fps = nominal(rate)
    if mm > 59 or ss > 59 or ff >= fps:
        raise TimecodeError(f"not a timecode at {rate_text(rate)} fps: {tc!r}")
    frames = ((hh * 60 + mm) * 60 + ss) * fps + ff
    if sep in ";," and can_drop(rate):
        drop = _drop_per_minute(rate)
        minutes = hh * 60 + mm
        frames -= drop * (minutes - minutes // 10)
    return frames


def from_frames(frames: int, rate: Fraction, drop: bool = False) -> str:
    """90000 at 25 -> '01:00:00:00'; with drop (29.97, 59.94 only) -> 'HH:MM:SS;FF'. Wraps at 24 hours."""
    fps = nominal(rate)
    drop = drop and can_drop(rate)
    if drop:
        per_min = _drop_per_minute(rate)
        per_10min = fps * 600 - per_min * 9
        per_dropped_min = fps * 60 - per_min
        day = per_10min * 6 * 24
        frames %= day
        tens, rest = divmod(frames, per_10min)
        if rest > per_min:
            frames += per_min * 9 * tens + per_min * ((rest - per_min) // per_dropped_min)
        else:
            frames += per_min * 9 * tens
    else:
        frames %= fps * 86400
    ff = frames % fps
    total = frames // fps
    sep = ";" if drop else ":"
    return f"{total // 3600 % 24:02d}:{total // 60 % 60:02d}:{total % 60:02d}{sep}{ff:02d}"


def is_drop(tc: str) -> bool:
    return ";" in tc or "," in tc


def add(tc: str, frames: int, rate: Fraction) -> str:
    """tc + frames, in tc's own (drop or non-drop) form."""
    return from_frames(to_frames(tc, rate) + frames, rate, is_drop(tc))


def tc_out(tc_in: str, duration_frames: int, rate: Fraction) -> str:
    """The timecode of a clip's last frame: TC in + duration - 1 (DOMAIN.md)."""
    return add(tc_in, max(duration_frames - 1, 0), rate)


def duration_text(frames: int, rate: Fraction) -> str:
    """A duration as non-drop HH:MM:SS:FF (what an ALE's Duration column and the reports print)."""
    return from_frames(frames, rate, False)


def from_samples(samples: int, sample_rate: int, rate: Fraction, drop: bool = False) -> str:
    """A Broadcast WAV's bext TimeReference (samples since midnight) as timecode at `rate`."""
    frames = int(Fraction(samples, sample_rate) * rate)
    if drop and can_drop(rate):
        return from_frames(frames, rate, True)
    # non-drop at a 1001 rate: the label counts nominal frames, the clock runs slow; label = real frames
    return from_frames(frames, rate, False)
