"""How the window writes a clip: duration, timecode, format, audio, what is wrong with it, and the numbers
its columns sort by. Pure functions of a `store.clips.ClipRow` (no Qt), so the words are tested alone and
the same in every cell, tooltip and summary."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

from datawrangler.core.clips import ClipKind, ClipState, gaps_text
from datawrangler.core.timecode import TimecodeError, clock, duration_text, rate_text, to_frames
from datawrangler.core.words import human_bytes, plural
from datawrangler.store.clips import ClipRow

_TC = re.compile(r"^(\d{1,2})[:.](\d{2})[:.](\d{2})[:;.,](\d{2,3})$")


def rate_of(r: ClipRow) -> Fraction | None:
    return r.meta.rate


def frames_of(r: ClipRow) -> int | None:
    """The clip's length in frames: what its reader counted, or a sequence's frames present."""
    if r.meta.frames is not None:
        return r.meta.frames
    return r.files if r.kind is ClipKind.SEQUENCE else None


def duration_seconds(r: ClipRow) -> float | None:
    if r.meta.duration is not None:
        return r.meta.duration
    rate, frames = rate_of(r), frames_of(r)
    return float(frames / rate) if rate and frames is not None else None


def duration_display(r: ClipRow) -> str:
    """HH:MM:SS:FF when the frame rate is known (as editors read it), else HH:MM:SS."""
    rate, frames = rate_of(r), frames_of(r)
    if rate and frames is not None:
        return duration_text(frames, rate)
    seconds = duration_seconds(r)
    return "–" if seconds is None else clock(seconds, pad=True)


def tc_seconds(tc: str | None, rate: Fraction | None) -> float:
    """A timecode as seconds since midnight, to sort by (-1 without one). Without a usable rate the frames
    only break ties between equal seconds."""
    if not tc:
        return -1.0
    if rate:
        try:
            return float(to_frames(tc, rate) / rate)
        except TimecodeError:
            pass
    m = _TC.match(tc.strip())
    if m is None:
        return -1.0
    return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) + int(m[4]) / 1000


def format_text(r: ClipRow) -> str:
    """'ProRes 422 HQ · 3840×2160 · 23.976 fps'; sound: 'PCM 24-bit · 48 kHz'."""
    m = r.meta
    parts = [m.codec or (m.container or "").upper()]
    if m.width and m.height:
        parts.append(f"{m.width}×{m.height}")
    if r.kind is ClipKind.AUDIO:
        if m.sample_rate:
            parts.append(f"{m.sample_rate / 1000:g} kHz")
        if m.bit_depth and (not m.codec or str(m.bit_depth) not in m.codec):
            parts.append(f"{m.bit_depth}-bit")
    elif rate := rate_of(r):
        parts.append(f"{rate_text(rate)} fps")
    return " · ".join(p for p in parts if p) or "–"


def audio_text(r: ClipRow) -> str:
    n = r.meta.audio_channels
    if n is None:
        return "–"
    return "none" if n == 0 else f"{n} ch"


def files_text(r: ClipRow) -> str:
    if r.kind is ClipKind.SEQUENCE:
        return plural(r.files, "frame", grouped=True)
    return plural(r.files, "file", grouped=True)


def notes(r: ClipRow) -> str:
    """One line for the Notes column: what is wrong first, else what the clip is (scene, take)."""
    m = r.meta
    if r.flagged:
        said = [gaps_text(r.gaps)] if r.gaps else []
        if m.state is ClipState.DAMAGED:
            first = m.problems[0] if m.problems else "the clip could not be read"
            more = f" (+{len(m.problems) - 1} more)" if len(m.problems) > 1 else ""
            said.append(f"POSSIBLY DAMAGED: {first}{more}")
        return " · ".join(said)
    if m.state is ClipState.NOT_READ:
        return "metadata not read" + (f": {m.problems[0]}" if m.problems else " (no open library reads this format)")
    if m.state is ClipState.UNAVAILABLE:
        return "not read: " + (m.problems[0] if m.problems else "no verified copy could be read")
    if m.problems:
        return "; ".join(m.problems)
    bits = [f"scene {m.scene}" if m.scene else "", f"take {m.take}" if m.take else "",
            f"sound roll {m.tape}" if m.tape else ""]
    return " · ".join(b for b in bits if b)


def problems(r: ClipRow) -> list[str]:
    """Every problem of the clip, in full (the tooltip)."""
    out = [gaps_text(r.gaps, limit=40)] if r.gaps else []
    if r.state is ClipState.DAMAGED:
        out += [f"POSSIBLY DAMAGED: {p}" for p in (r.meta.problems or ("the clip could not be read",))]
    elif r.state in (ClipState.NOT_READ, ClipState.UNAVAILABLE):
        out.append(notes(r))
    else:
        out += list(r.meta.problems)
    return out


def tooltip(r: ClipRow) -> str:
    m = r.meta
    lines = [f"{r.name}  ({r.kind.value}, {files_text(r)}, {human_bytes(r.bytes)})", *problems(r)]
    if r.kind is ClipKind.SEQUENCE and r.first_frame is not None:
        lines.append(f"frames {r.first_frame}–{r.last_frame}")
    reel = m.reel or r.reel
    who = [f"reel {reel}" if reel else "", m.camera or "", f"roll {r.roll_name}" if r.roll_name else ""]
    if any(who):
        lines.append(" · ".join(w for w in who if w))
    take = notes(r) if r.state is ClipState.READ and not r.flagged and not m.problems else ""
    if take:
        lines.append(take)
    if m.tracks:
        lines.append("tracks: " + ", ".join(m.tracks))
    lines += [f"{k}: {v}" for k, v in sorted(m.extra.items())]
    return "\n".join(lines)


def search_text(r: ClipRow) -> str:
    m = r.meta
    return " ".join(x for x in (r.name, m.reel, r.reel, r.roll_name, m.codec, m.container, m.camera, m.scene,
                                m.take, m.tape, r.kind.value) if x).casefold()


def thumbnail_of(r: ClipRow, root: Path | None) -> str | None:
    """The clip's thumbnail file: the middle one of three (the most telling frame), the one of one."""
    if root is None or not r.thumbnails:
        return None
    return str(root / r.thumbnails[len(r.thumbnails) // 2])


def summary(rows: list[ClipRow], shown: int | None = None) -> str:
    """'12 clips · running time 0:14:32 · 2 flagged · metadata not read for 3 · 4.1 GB' (and how many a
    search shows)."""
    parts = [plural(len(rows), "clip", grouped=True)]
    running = sum(d for r in rows if (d := duration_seconds(r)) is not None)
    if running:
        parts.append(f"running time {clock(running)}")
    flagged = sum(r.flagged for r in rows)
    parts.append(f"{flagged} flagged" if flagged else "none flagged")
    not_read = sum(r.state is ClipState.NOT_READ for r in rows)
    if not_read:
        parts.append(f"metadata not read for {not_read}")
    parts.append(human_bytes(sum(r.bytes for r in rows)))
    if shown is not None and shown != len(rows):
        parts.append(f"{shown} shown")
    return " · ".join(parts)


