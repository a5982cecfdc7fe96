"""Clips as the reports print them: one `ClipLine` per clip the catalog holds (`store.clips.ClipRow`), with
its timecode, duration at the clip's own rate, format, what is wrong with it in words, and its thumbnail.

A clip is flagged (a warning on the card, never a change to "verified") when it is possibly damaged or a
sequence misses frames. A clip whose format no open library reads says "metadata not read" and is never
flagged for that alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from datawrangler.core.clips import ClipKind, ClipState, gaps_text
from datawrangler.core.timecode import TimecodeError, clock, duration_text, rate_text, tc_out
from datawrangler.reports.clipmodel import ClipLine, ClipTable, Thumb
from datawrangler.store.clips import ClipRow

_NOT_READ = "metadata not read"


def lines(rows: Iterable[ClipRow], thumbnails: Path | None) -> ClipTable:
    """The report's clip table from the catalog's rows; `thumbnails` is the folder their JPEGs are in (None:
    no thumbnails, e.g. an in-memory catalog)."""
    return ClipTable(tuple(line(r, thumbnails) for r in rows))


def latest_per_name(rows: Sequence[ClipRow]) -> list[ClipRow]:
    """One row per clip name, from the latest offload that read it (rows come oldest offload first): a card
    offloaded again, or grown and offloaded incrementally, shows each clip once. By name."""
    latest = {r.name: r for r in rows}  # a later row replaces an earlier one of the same name
    return sorted(latest.values(), key=lambda r: r.name)


def _duration(r: ClipRow, rate: Fraction | None) -> tuple[str | None, float | None, int | None]:
    """(text, seconds, frames): HH:MM:SS:FF at the clip's rate; HH:MM:SS for sound."""
    m = r.meta
    if r.kind is ClipKind.AUDIO:
        return (clock(m.duration, pad=True), m.duration, None) if m.duration is not None else (None, None, None)
    frames = m.frames
    if frames is None and m.duration is not None and rate is not None:
        frames = round(m.duration * rate)
    if frames is not None and rate is not None:
        seconds = m.duration if m.duration is not None else float(frames / rate)
        return duration_text(frames, rate), seconds, frames
    if m.duration is not None:
        return clock(m.duration, pad=True), m.duration, frames
    return None, None, frames


def _audio(r: ClipRow) -> str | None:
    m = r.meta
    if not m.audio_channels:
        return None
    text = f"{m.audio_channels} ch"
    if m.sample_rate:
        text += f" · {m.sample_rate / 1000:g} kHz"
        if m.bit_depth and r.kind is ClipKind.AUDIO:
            text += f"/{m.bit_depth}-bit"
    return text


def _tc_out(r: ClipRow, rate: Fraction | None, frames: int | None) -> str | None:
    """The reader's TC out, else TC in + duration - 1 (for a sequence: over its frame range, gaps included)."""
    m = r.meta
    if m.tc_out or not m.tc_in or rate is None:
        return m.tc_out
    span = frames
    if r.first_frame is not None and r.last_frame is not None:
        span = r.last_frame - r.first_frame + 1
    if not span:
        return None
    try:
        return tc_out(m.tc_in, span, rate)
    except TimecodeError:
        return None


def _words(r: ClipRow) -> tuple[tuple[str, ...], str | None, tuple[str, ...]]:
    """(damage, gaps, notes): why the clip is flagged, in words; what else is known about reading it."""
    m = r.meta
    damage: tuple[str, ...] = ()
    notes: list[str] = []
    if m.state is ClipState.DAMAGED:
        damage = m.problems or ("the clip could not be read",)
    elif m.state is ClipState.NOT_READ:
        why = [p.removeprefix(_NOT_READ).lstrip(":; ") for p in m.problems]
        why = [w for w in why if w]
        notes.append(f"{_NOT_READ} ({'; '.join(why)})" if why else _NOT_READ)
    elif m.state is ClipState.UNAVAILABLE:
        notes.append("not read: " + "; ".join(m.problems or ("no verified copy could be read",)))
    else:
        notes.extend(m.problems)
    return damage, gaps_text(r.gaps) or None, tuple(notes)


def _thumb(r: ClipRow, root: Path | None) -> tuple[Thumb | None, str | None]:
    """The clip's thumbnail (the middle one of several), with its size in pixels; or why there is none."""
    if not r.thumbnails or root is None:
        return None, None
    path = root / r.thumbnails[len(r.thumbnails) // 2]
    try:
        with Image.open(path) as im:
            if im.format != "JPEG":
                return None, f"the thumbnail {path.name} is not a JPEG"
            width, height = im.size
    except FileNotFoundError:
        return None, "thumbnail missing from the thumbnails folder"
    except (OSError, UnidentifiedImageError) as exc:
        return None, f"the thumbnail {path.name} cannot be read ({exc})"
    return Thumb(path, width, height), None


def _frame_label(r: ClipRow, why: str | None) -> str:
    """What an empty frame says where a clip has no thumbnail (one line: its words never break)."""
    return _frame_words(r, why).replace(" ", "\u00a0")


def _frame_words(r: ClipRow, why: str | None) -> str:
    if r.kind is ClipKind.AUDIO:
        return "SOUND"
    if why:
        return "MISSING"
    if r.meta.state is ClipState.NOT_READ:
        return "NOT DECODED"
    if r.meta.state is ClipState.DAMAGED:
        return "NO PICTURE"
    if r.meta.state is ClipState.UNAVAILABLE:
        return "NOT READ"
    return "NO THUMBNAIL"


def _slate(r: ClipRow) -> str | None:
    m = r.meta
    parts = [f"scene {m.scene}" if m.scene else "", f"take {m.take}" if m.take else "",
             f"sound roll {m.tape}" if m.tape else ""]
    return " · ".join(p for p in parts if p) or None


def line(r: ClipRow, thumbnails: Path | None) -> ClipLine:
    m = r.meta
    rate = m.rate
    duration, seconds, frames = _duration(r, rate)
    damage, gaps, notes = _words(r)
    thumb, why = _thumb(r, thumbnails)
    if why:
        notes += (why,)
    return ClipLine(
        name=r.name, kind=r.kind.value, state=m.state.value, container=m.container, reel=r.reel,
        offload_id=r.offload_id, card_id=r.card_id, files=r.files, bytes=r.bytes, first_frame=r.first_frame,
        last_frame=r.last_frame, frames=frames, missing=sum(b - a + 1 for a, b in r.gaps), tc_in=m.tc_in,
        tc_out=_tc_out(r, rate, frames), duration=duration, seconds=seconds, rate=rate_text(rate) or None,
        rational=rate, codec=m.codec, width=m.width, height=m.height, audio=_audio(r), sample_rate=m.sample_rate,
        bit_depth=m.bit_depth, channels=m.audio_channels, slate=_slate(r), flagged=r.flagged, damage=damage, gaps=gaps,
        notes=notes, thumb=thumb, frame_label=_frame_label(r, why))
