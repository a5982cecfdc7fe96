"""A catalog clip's time, as the editorial files give it: its own frame rate, its length in frames, its TC in,
and the Start / End / Duration of an ALE row at the file's one frame rate.

Length: an image sequence lasts from its first to its last frame number (a missing frame still takes its place
in time, as media.sequence's TC out says); a movie its frame count; a sound file, or a movie whose container
gives no count (MXF), its running time at its rate.

End is exclusive, as Avid and OpenTimelineIO's ALE adapter have it: TC in + duration, the frame after the last
(the catalog's TC out is the last frame itself). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from datawrangler.core.clips import ClipKind
from datawrangler.core.timecode import (
    TimecodeError,
    add,
    duration_text,
    from_frames,
    is_drop,
    nominal,
    rate_text,
    to_frames,
)
from datawrangler.store.clips import ClipRow

NO_TC = "00:00:00:00"


def clip_rate(clip: ClipRow) -> Fraction | None:
    """The clip's own frame rate (a sound file's: its timecode rate), None when not read or not a rate."""
    return clip.meta.rate


def clip_frames(clip: ClipRow, rate: Fraction | None) -> int | None:
    """The clip's length in frames at `rate` (see the module docstring); None when nothing tells it."""
    if clip.kind is ClipKind.SEQUENCE and clip.first_frame is not None and clip.last_frame is not None:
        return clip.last_frame - clip.first_frame + 1
    if clip.meta.frames:
        return clip.meta.frames
    if clip.meta.duration and rate is not None:
        return max(1, round(Fraction(clip.meta.duration) * rate))
    return None


@dataclass(frozen=True)
class AleTimes:
    """One ALE row's Start, End and Duration at the file's rate (all three empty, or all three given: a reader
    that gets Start without the others cannot place the clip; only End is left empty for a clip that runs past
    midnight, whose End label would come before its Start), and what the Comments column must say."""

    start: str = ""
    end: str = ""
    duration: str = ""
    notes: tuple[str, ...] = ()
    converted: bool = False  # the clip is at another rate than the file's: its times were converted


def _label_at(tc: str, own: Fraction, rate: Fraction) -> str:
    """The same timecode label at another rate: hours, minutes and seconds kept, the frames scaled (01:00:00:48
    at 50 -> 01:00:00:24 at 25), so that the clip lines up with a slate or the sound by the clock's label."""
    literal = to_frames(tc.replace(";", ":").replace(",", ":"), own)  # the label's own fields, drop frame or not
    seconds, ff = divmod(literal, nominal(own))
    return from_frames(seconds * nominal(rate) + ff * nominal(rate) // nominal(own), rate)


def ale_times(clip: ClipRow, rate: Fraction) -> AleTimes:
    """Start / End / Duration of `clip` in an ALE at `rate`. A clip without timecode starts at 00:00:00:00 (what
    Avid and Resolve give a file without one) and the Comments say so; a clip whose length is unknown gets no
    times at all, its TC in (if any) in the Comments. A clip at another rate is converted (see `_label_at`)
    and the Comments keep its own TC in, rate and length."""
    own = clip_rate(clip)
    notes: list[str] = []
    if own is None and clip.meta.fps:
        notes.append(f"frame rate {clip.meta.fps!r} not read: {rate_text(rate)} fps assumed")
    elif own is None and (clip.meta.tc_in or clip.meta.duration):
        notes.append(f"no frame rate in the media: {rate_text(rate)} fps assumed")
    at = own or rate
    tc = clip.meta.tc_in
    frames = clip_frames(clip, at)
    if tc:
        try:
            to_frames(tc, at)
        except TimecodeError:
            notes.append(f"timecode {tc} does not exist at {rate_text(at)} fps")
            tc = None
    if frames is None:
        said = f"TC in {tc}; " if tc else ""
        return AleTimes(notes=(*notes, f"{said}duration not known, so no Start/End"))
    if not tc:
        notes.append(f"no timecode in the media: Start set to {NO_TC}")
    start = from_frames(to_frames(tc, at), at, is_drop(tc)) if tc else NO_TC  # its own form, written cleanly
    converted = at != rate
    if converted:
        seconds = Fraction(clip.meta.duration) if clip.meta.duration else Fraction(frames) / at
        notes.append(f"recorded at {rate_text(at)} fps (TC in {start}, {duration_text(frames, at)} long at "
                     f"{rate_text(at)}): Start/End/Duration converted to {rate_text(rate)} fps")
        start = _label_at(start, at, rate)
        frames = max(1, round(seconds * rate))
    end = add(start, frames, rate)
    if to_frames(end, rate) < to_frames(start, rate) + frames:  # past 23:59:59:FF the label wraps to 00:00
        notes.append(f"runs past midnight: End left empty (it would be {end}); Start and Duration place it")
        end = ""
    return AleTimes(start, end, duration_text(frames, rate), tuple(notes), converted)
