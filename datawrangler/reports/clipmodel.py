"""The clips of a report (the offload report's clip table, the contact sheet's cells), as frozen dataclasses
built by `clipview` from the catalog. Durations are already words here (HH:MM:SS:FF at each clip's rate),
because a running time over clips of one rate is a frame count, and over mixed rates only seconds."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from datawrangler.core.timecode import nominal


@dataclass(frozen=True)
class Thumb:
    """A thumbnail JPEG in the thumbnails folder, with its size in pixels (the page keeps its shape)."""

    path: Path
    width: int
    height: int

    def fit(self, box_w: int, box_h: int) -> tuple[int, int]:
        """Its size scaled to fit a box (a vertical phone clip stays inside the 16:9 frame), in CSS pixels."""
        scale = min(box_w / self.width, box_h / self.height) if self.width and self.height else 1.0
        return max(1, round(self.width * scale)), max(1, round(self.height * scale))


@dataclass(frozen=True)
class ClipLine:
    name: str
    kind: str  # core.clips.ClipKind: video, audio, sequence, raw
    state: str  # core.clips.ClipState: read, not read, possibly damaged, unavailable
    container: str | None  # mov, mxf, wav, dpx, r3d
    reel: str | None
    offload_id: int
    card_id: int | None
    files: int
    bytes: int
    first_frame: int | None  # a sequence's frame range
    last_frame: int | None
    frames: int | None  # frames present (a sequence) or in the clip
    missing: int  # frames missing from a sequence's range
    tc_in: str | None
    tc_out: str | None
    duration: str | None  # HH:MM:SS:FF at the clip's rate; HH:MM:SS for sound
    seconds: float | None
    rate: str | None  # 23.976, 25
    rational: Fraction | None
    codec: str | None
    width: int | None
    height: int | None
    audio: str | None  # "2 ch · 48 kHz", sound: "2 ch · 48 kHz/24-bit"
    sample_rate: int | None
    bit_depth: int | None
    channels: int | None
    slate: str | None  # sound: scene, take, sound roll
    flagged: bool  # possibly damaged, or frames missing: a warning on the card
    damage: tuple[str, ...]  # why the reader calls it possibly damaged, in its words
    gaps: str | None  # "frames 86411, 86500-86502 missing"
    notes: tuple[str, ...]  # quieter: "metadata not read (...)", a thumbnail that is missing
    thumb: Thumb | None
    frame_label: str  # what the empty frame says when there is no thumbnail

    @property
    def resolution(self) -> str | None:
        return f"{self.width}×{self.height}" if self.width and self.height else None

    @property
    def is_sequence(self) -> bool:
        return self.kind == "sequence"

    @property
    def frame_range(self) -> str | None:
        """'frames 86400-88799 (2,396 of 2,400)' for a sequence."""
        if self.first_frame is None or self.last_frame is None:
            return None
        span = self.last_frame - self.first_frame + 1
        present = f" ({span - self.missing:,} of {span:,})" if self.missing else ""
        return f"frames {self.first_frame}-{self.last_frame}{present}"

    @property
    def codec_text(self) -> str | None:
        """The codec, else the container's name (R3D, whose metadata no open library reads)."""
        return self.codec or (self.container.upper() if self.container else None)

    @property
    def format(self) -> str | None:
        """One line for the contact sheet: 'ProRes 422 HQ · 1920×1080 · 23.976 fps', 'PCM 24-bit · 2 ch ·
        48 kHz/24-bit'; None when nothing is known."""
        parts = [self.codec_text, self.resolution, f"{self.rate} fps" if self.rate and self.kind != "audio" else None]
        if self.kind == "audio":
            parts.append(self.audio)
        return " · ".join(p for p in parts if p) or None

    @property
    def damaged(self) -> str | None:
        """'POSSIBLY DAMAGED: <what the reader found>'."""
        return "POSSIBLY DAMAGED: " + "; ".join(self.damage) if self.state == "possibly damaged" else None

    @property
    def marks(self) -> tuple[str, ...]:
        """Why it is flagged, in words: 'POSSIBLY DAMAGED: <problem>', 'frames 86411, 86500-86502 missing'."""
        return tuple(m for m in (self.damaged, self.gaps) if m)

    def damage_brief(self, limit: int = 90) -> str:
        """The damage in a few words for a contact sheet's cell (the clip warnings block has it all)."""
        text = "; ".join(self.damage)
        if len(text) <= limit:
            return text
        return text[:limit + 1].rsplit(" ", 1)[0].rstrip(",;:") + " …"  # whole words only


@dataclass(frozen=True)
class ClipTable:
    """The clips of an offload, a card or a day, and their totals."""

    lines: tuple[ClipLine, ...]

    @property
    def count(self) -> int:
        return len(self.lines)

    @property
    def flagged(self) -> tuple[ClipLine, ...]:
        return tuple(c for c in self.lines if c.flagged)

    @property
    def not_read(self) -> int:
        return sum(c.state == "not read" for c in self.lines)

    @property
    def seconds(self) -> float:
        return sum(c.seconds or 0.0 for c in self.lines)

    @property
    def running_time(self) -> str | None:
        """The sum of the durations: HH:MM:SS:FF when every timed clip has one frame rate (and is not sound),
        else HH:MM:SS. None when no clip has a duration."""
        timed = [c for c in self.lines if c.seconds is not None]
        if not timed:
            return None
        rates = {c.rational for c in timed}
        if len(rates) == 1 and None not in rates and all(c.frames is not None and c.kind != "audio" for c in timed):
            (rate,) = rates
            assert rate is not None
            fps = nominal(rate)
            total, ff = divmod(sum(c.frames or 0 for c in timed), fps)
            return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}:{ff:02d}"  # past 24 h too
        s = round(self.seconds)
        return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
