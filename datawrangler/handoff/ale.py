"""An Avid Log Exchange (ALE) of catalog clips: what editorial imports to log and relink a day's rushes.

The file: a `Heading` (FIELD_DELIM TABS, VIDEO_FORMAT, AUDIO_FORMAT, FPS), a `Column` line and a `Data` row per
clip, tab-separated, with a blank line between the sections, UTF-8 without a byte order mark (clip names from
cameras and recorders are ASCII; a name that is not stays readable), CRLF line ends (Avid, Resolve and
OpenTimelineIO's adapter split lines either way; CRLF also keeps it legible in Windows Notepad on an assistant's
station). A tab, newline or other control character inside a value would break the row: it becomes a space.

Decisions, as an assistant editor would expect them:
- One FPS per file. Media Composer and OpenTimelineIO read every Start/End/Duration at the heading's FPS, so the
  file takes the most common rate of its picture clips (of its sound clips when it has no picture) and gives
  every row at that rate. A clip recorded at another rate (a 50 fps clip on a 25 fps card) is converted (its
  timecode label's hours, minutes, seconds kept, frames scaled; its length by running time), its own rate is
  in the `Clip FPS` column, and its Comments say what it was. Splitting into one file per rate was rejected: the
  file names must be known before the clips are read (the ASC MHL generation written earlier ignores them) and a
  card rarely mixes rates; a converted clip is also listed in `Ale.converted` so the writer can say so.
  The column is not named `FPS`: Media Composer would take that as the row's own rate and read the converted
  times at it.
- End is exclusive (TC in + duration), as Avid and OpenTimelineIO's adapter have it (handoff.cliptime).
- A clip without timecode starts at 00:00:00:00 (what Avid gives a file without one); one whose length is
  unknown (a camera raw format no open library reads) has no Start/End/Duration; the Comments say each.
- A clip that runs past midnight (time-of-day timecode on a night shoot) has no End: its label would wrap to
  before its Start, which readers refuse; Start and Duration place it, and the Comments say so.
- VIDEO_FORMAT as Media Composer writes it: 1080 (up to 1920 wide), 720, PAL (576), NTSC (486/480), otherwise
  CUSTOM: UHD, DCI 2K/4K and larger projects are CUSTOM in Media Composer's own ALEs, and an HD project refuses
  a CUSTOM ALE, so an HD card must say 1080. Without picture: 1080 (OpenTimelineIO's default too).
- `Image Size` (not "Resolution"): Media Composer's own column, which OpenTimelineIO reads for the format too.
- Comments: "POSSIBLY DAMAGED: ..." and "frames ... missing" first, then what the caller adds (a copy not verified
  on this drive), then "metadata not read" and the time notes.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from datawrangler.core.clips import SIDECAR_EXT, ClipKind, ClipState, gaps_text
from datawrangler.core.timecode import rate_text
from datawrangler.handoff.cliptime import ale_times, clip_rate
from datawrangler.store.clips import ClipRow

COLUMNS = ("Name", "Tape", "Start", "End", "Duration", "Tracks", "Clip FPS", "Source File", "Source Path",
           "Codec", "Image Size", "Camera", "Scene", "Take", "Audio SR", "Audio Bit Depth", "Comments")
PICTURE = frozenset({ClipKind.VIDEO, ClipKind.SEQUENCE, ClipKind.RAW})
DEFAULT_RATE = Fraction(24)  # no clip names a rate: no row has times then
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def clean(value: object) -> str:
    """A value as one ALE field: control characters (tab, CR, LF...) become a space; None is empty."""
    if value is None:
        return ""
    return _CONTROL.sub(" ", str(value)).strip()


def _most_common(values: Iterable[object]) -> object | None:
    counted = Counter(v for v in values if v is not None)
    return counted.most_common(1)[0][0] if counted else None


def file_rate(clips: Sequence[ClipRow]) -> Fraction:
    """The ALE's one FPS: the most common rate of the picture clips, else of the sound clips (first seen wins
    a tie), else 24."""
    for kinds in (PICTURE, frozenset({ClipKind.AUDIO})):
        rate = _most_common(clip_rate(c) for c in clips if c.kind in kinds)
        if isinstance(rate, Fraction):
            return rate
    return DEFAULT_RATE


def video_format(clips: Sequence[ClipRow]) -> str:
    """VIDEO_FORMAT from the most common picture size (see the module docstring)."""
    size = _most_common((c.meta.width, c.meta.height) for c in clips
                        if c.kind in PICTURE and c.meta.width and c.meta.height)
    if not isinstance(size, tuple):
        return "1080"
    width, height = size
    if height == 1080:
        return "1080" if width <= 1920 else "CUSTOM"
    return {720: "720", 576: "PAL", 486: "NTSC", 480: "NTSC"}.get(height, "CUSTOM")


def audio_format(clips: Sequence[ClipRow]) -> str:
    """AUDIO_FORMAT: 44khz when the sound is at 44.1 kHz, else 48khz (what cameras and recorders on set use)."""
    return "44khz" if _most_common(c.meta.sample_rate for c in clips if c.meta.sample_rate) == 44100 else "48khz"


def tracks(clip: ClipRow) -> str:
    """Avid's Tracks: V for picture, then A1A2... for its sound channels (a sound file: A1 at least)."""
    channels = clip.meta.audio_channels or (1 if clip.kind is ClipKind.AUDIO else 0)
    picture = "V" if clip.kind in PICTURE else ""
    return picture + "".join(f"A{i}" for i in range(1, channels + 1))


def tape(clip: ClipRow) -> str:
    """The Tape column: a sound file's sound roll (iXML TAPE); else the reel the media names (what Avid reads
    when it links the file), else the offload's reel or roll."""
    own = (clip.meta.tape or clip.meta.reel) if clip.kind is ClipKind.AUDIO else clip.meta.reel
    return clean(own or clip.reel or clip.roll_name)


def first_media_file(clip: ClipRow) -> str:
    """The clip's first file, as the card (and each roll) has it, XML sidecars left out; '' when the catalog
    rows came without paths."""
    media = [p for p in clip.file_paths if p.rsplit(".", 1)[-1].lower() not in SIDECAR_EXT]
    return media[0] if media else ""


def comments(clip: ClipRow, extra: Sequence[str] = (), timing: Sequence[str] = ()) -> str:
    said: list[str] = []
    if clip.gaps:
        said.append(gaps_text(clip.gaps))
    if clip.meta.state is ClipState.DAMAGED:
        said.append("POSSIBLY DAMAGED: " + "; ".join(clip.meta.problems or ("the media did not read as it should",)))
    said.extend(extra)
    if clip.meta.state in (ClipState.NOT_READ, ClipState.UNAVAILABLE):
        said.extend(clip.meta.problems or (f"metadata {clip.meta.state.value}",))
    said.extend(timing)
    return clean("; ".join(said))


@dataclass
class Ale:
    fps: Fraction
    video_format: str
    audio_format: str
    rows: list[list[str]] = field(default_factory=list)
    converted: list[str] = field(default_factory=list)  # clips at another rate than `fps`, converted

    def render(self) -> bytes:
        lines = ["Heading", "FIELD_DELIM\tTABS", f"VIDEO_FORMAT\t{self.video_format}",
                 f"AUDIO_FORMAT\t{self.audio_format}", f"FPS\t{rate_text(self.fps)}", "", "Column", "\t".join(COLUMNS),
                 "", "Data", *("\t".join(r) for r in self.rows)]
        return ("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogateescape")


def build_ale(clips: Sequence[ClipRow], notes: Mapping[int, Sequence[str]] | None = None) -> Ale:
    """The ALE of `clips` (in their order); `notes`: more Comments per clip id (e.g. not verified here)."""
    notes = notes or {}
    rate = file_rate(clips)
    ale = Ale(rate, video_format(clips), audio_format(clips))
    for c in clips:
        m = c.meta
        times = ale_times(c, rate)
        if times.converted:
            ale.converted.append(c.name)
        path = first_media_file(c)
        values = {
            "Name": c.name, "Tape": tape(c), "Start": times.start, "End": times.end, "Duration": times.duration,
            "Tracks": tracks(c), "Clip FPS": rate_text(clip_rate(c)), "Source File": posixpath.basename(path),
            "Source Path": path, "Codec": m.codec, "Image Size": f"{m.width}x{m.height}" if m.width and m.height
            else "", "Camera": m.camera, "Scene": m.scene, "Take": m.take, "Audio SR": m.sample_rate,
            "Audio Bit Depth": m.bit_depth, "Comments": comments(c, notes.get(c.id, ()), times.notes),
        }
        ale.rows.append([clean(values[col]) for col in COLUMNS])
    return ale


def render_ale(clips: Sequence[ClipRow], notes: Mapping[int, Sequence[str]] | None = None) -> bytes:
    return build_ale(clips, notes).render()
