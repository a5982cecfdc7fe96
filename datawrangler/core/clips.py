"""Clips: what a camera or recorder made as one take, grouped from a card's file listing, and what reading
its media found.

`group_clips(rel_paths)` groups a card's files into `ClipGroup`s: the card rules' clip names first (spans,
GoPro chapters, ARRIRAW frames: `core.cards.clip_members`), then by extension for every other file: one
video or sound file is one clip, files of an image-sequence extension that share a folder, a prefix and the
width of their frame number are one sequence (the frame number is the last run of digits before the
extension), XML sidecars join the clip whose name they start with. Other files (thumbnails, card
indexes, system files) belong to no clip.

`ClipMeta` is what `datawrangler.media` read from a verified copy; `store.clips` keeps both. Pure: no I/O.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

from datawrangler.core.cards import CardRule, clip_members
from datawrangler.core.timecode import TimecodeError, parse_rate

VIDEO_EXT = frozenset({"mov", "mp4", "m4v", "mxf", "mts", "m2ts", "avi", "mkv", "mpg", "mpeg"})
AUDIO_EXT = frozenset({"wav", "bwf", "aif", "aiff", "mp3", "m4a", "flac"})
# formats no open library decodes: clips are grouped and sized, their metadata is "not read"
RAW_EXT = frozenset({"r3d", "braw", "crm", "nev", "rmf"})
SEQUENCE_EXT = frozenset({"ari", "arx", "dpx", "exr", "tif", "tiff", "dng", "cin"})
SIDECAR_EXT = frozenset({"xml"})

_FRAME = re.compile(r"^(?P<prefix>.*?)(?P<num>\d+)(?P<suffix>\.[^./]+)$")


class ClipKind(StrEnum):
    VIDEO = "video"  # a movie file (MOV, MP4, MXF, MTS), spans and chapters included
    AUDIO = "audio"  # a sound file (Broadcast WAV)
    SEQUENCE = "sequence"  # one file per frame (ARRIRAW, DPX, EXR, TIFF, CinemaDNG)
    RAW = "raw"  # a camera raw format no open library reads (R3D, BRAW, Cinema RAW Light)


class ClipState(StrEnum):
    READ = "read"  # the metadata was read
    NOT_READ = "not read"  # no open library reads this format: grouping, size and spans only; never "damaged"
    DAMAGED = "possibly damaged"  # the container cannot be opened, or its duration disagrees with its size
    UNAVAILABLE = "unavailable"  # no verified copy could be read (the drive is gone): nothing is known


@dataclass(frozen=True)
class ClipGroup:
    """One clip's files on the card, in order (spans, chapters, frames). For a sequence, the frame range
    and every gap in its numbering: (first missing, last missing) ranges."""

    name: str
    kind: ClipKind
    files: tuple[str, ...]
    sidecars: tuple[str, ...] = ()
    first_frame: int | None = None
    last_frame: int | None = None
    gaps: tuple[tuple[int, int], ...] = ()

    @property
    def frame_count(self) -> int | None:
        """Frames present (a sequence only)."""
        return len(self.files) if self.kind is ClipKind.SEQUENCE else None

    @property
    def missing_frames(self) -> int:
        return sum(b - a + 1 for a, b in self.gaps)

    @property
    def folder(self) -> str:
        return posixpath.dirname(self.files[0]) if self.files else ""


@dataclass(frozen=True)
class ClipMeta:
    """What reading a clip's media (from a verified destination copy) found. Every field is optional: a
    reader fills what its format carries. `problems` say, in words, why a clip is possibly damaged or what
    could not be read; `extra` holds sidecar fields (lens, ISO/EI, shutter, white balance...) by name."""

    state: ClipState = ClipState.READ
    problems: tuple[str, ...] = ()
    container: str | None = None  # e.g. "mov", "mxf", "wav", "dpx"
    codec: str | None = None  # e.g. "ProRes 422 HQ", "H.264", "XAVC", "PCM 24-bit"
    width: int | None = None
    height: int | None = None
    fps: str | None = None  # a rational as text: "24000/1001", "25"
    duration: float | None = None  # seconds
    frames: int | None = None
    tc_in: str | None = None  # HH:MM:SS:FF (HH:MM:SS;FF drop frame)
    tc_out: str | None = None  # the last frame's timecode
    reel: str | None = None  # reel / tape name the container or sidecar carries
    camera: str | None = None  # camera model, where a sidecar names it
    audio_channels: int | None = None
    sample_rate: int | None = None
    bit_depth: int | None = None
    scene: str | None = None
    take: str | None = None
    tape: str | None = None  # the sound roll (iXML TAPE)
    tracks: tuple[str, ...] = ()  # sound track names (iXML)
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def rate(self) -> Fraction | None:
        """`fps` as a Fraction; None when not read, or not a rate (a catalog written by another version)."""
        try:
            return parse_rate(self.fps)
        except TimecodeError:
            return None


def clip_flags(gaps: Iterable[tuple[int, int]], meta: ClipMeta) -> tuple[str, ...]:
    """What makes a clip flagged, in words: its missing frames, then why it is possibly damaged. Empty for a
    clip that is not flagged ("metadata not read" never is)."""
    out = []
    if text := gaps_text(gaps):
        out.append(text)
    if meta.state is ClipState.DAMAGED:
        out.append("possibly damaged: " + "; ".join(meta.problems or ("the clip could not be read",)))
    return tuple(out)


def _ext(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def frame_gaps(frames: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Sorted frame numbers -> the missing ranges between the first and the last: [1, 2, 5, 7] ->
    ((3, 4), (6, 6))."""
    gaps = []
    for a, b in itertools.pairwise(frames):
        if b > a + 1:
            gaps.append((a + 1, b - 1))
    return tuple(gaps)


def gaps_text(gaps: Iterable[tuple[int, int]], limit: int = 12) -> str:
    """((86411, 86411), (86500, 86502)) -> 'frames 86411, 86500-86502 missing' (the first `limit` ranges,
    then '... and N more ranges')."""
    gaps = list(gaps)
    if not gaps:
        return ""
    parts = [str(a) if a == b else f"{a}-{b}" for a, b in gaps[:limit]]
    more = f" and {len(gaps) - limit} more ranges" if len(gaps) > limit else ""
    count = sum(b - a + 1 for a, b in gaps)
    word = "frame" if count == 1 else "frames"
    return f"{word} {', '.join(parts)}{more} missing"


def _frame_number(path: str) -> tuple[tuple[str, str, str, int], int] | None:
    """path -> ((folder, prefix, suffix, digits), frame) for a name whose last run of digits precedes its
    extension."""
    folder, name = posixpath.split(path)
    m = _FRAME.match(name)
    if m is None:
        return None
    return (folder, m["prefix"], m["suffix"].lower(), len(m["num"])), int(m["num"])


def _sequence(name: str, numbered: list[tuple[int, str]]) -> ClipGroup:
    numbered.sort()
    frames = [n for n, _ in numbered]
    return ClipGroup(name, ClipKind.SEQUENCE, tuple(p for _, p in numbered), (), frames[0], frames[-1],
                     frame_gaps(frames))


def _sequence_name(folder: str, prefix: str) -> str:
    """A sequence is named by its frames' prefix without trailing separators, else by its folder."""
    clean = prefix.rstrip("._-")
    return clean or posixpath.basename(folder) or "sequence"


def _kind_of(files: Sequence[str]) -> ClipKind:
    exts = {_ext(f) for f in files}
    if exts & SEQUENCE_EXT and len(files) > 1:
        return ClipKind.SEQUENCE
    if exts & RAW_EXT:
        return ClipKind.RAW
    if exts & AUDIO_EXT and not exts & VIDEO_EXT:
        return ClipKind.AUDIO
    if exts & SEQUENCE_EXT:
        return ClipKind.SEQUENCE
    return ClipKind.VIDEO


def _ruled_group(name: str, files: list[str]) -> ClipGroup:
    kind = _kind_of(files)
    if kind is ClipKind.SEQUENCE:
        numbered = [(hit[1], f) for f in files if (hit := _frame_number(f)) is not None]
        if len(numbered) == len(files):
            return _sequence(name, numbered)
    return ClipGroup(name, kind, tuple(sorted(files)))


def group_clips(rel_paths: Iterable[str], rules: Sequence[CardRule] | None = None) -> list[ClipGroup]:
    """The card's clips, sorted by name (then first file); see the module docstring."""
    paths = sorted(set(rel_paths))
    media, members = clip_members(paths, rules)
    by_rule: dict[str, list[str]] = defaultdict(list)
    for path, clip in members.items():
        by_rule[clip].append(path)
    groups = [_ruled_group(name, files) for name, files in by_rule.items()]
    stills = media == "stills"
    sequences: dict[tuple[str, str, str, int], list[tuple[int, str]]] = defaultdict(list)
    sidecars: list[str] = []
    for path in paths:
        if path in members:
            continue
        ext = _ext(path)
        if ext in SIDECAR_EXT:
            sidecars.append(path)
        elif ext in SEQUENCE_EXT and not stills and (hit := _frame_number(path)) is not None:
            sequences[hit[0]].append((hit[1], path))
        elif ext in VIDEO_EXT or ext in AUDIO_EXT or ext in RAW_EXT or ext in SEQUENCE_EXT:
            groups.append(ClipGroup(_stem(path), _kind_of([path]), (path,)))
    for (folder, prefix, _suffix, _width), numbered in sequences.items():
        if len(numbered) == 1:
            path = numbered[0][1]
            groups.append(ClipGroup(_stem(path), _kind_of([path]), (path,)))
        else:
            groups.append(_sequence(_sequence_name(folder, prefix), numbered))
    groups = _attach_sidecars(groups, sidecars)
    groups.sort(key=lambda g: (g.name, g.files[0] if g.files else ""))
    return groups


def _attach_sidecars(groups: list[ClipGroup], sidecars: list[str]) -> list[ClipGroup]:
    """An XML file joins the clip one of whose files has a stem it starts with, in its own folder (Sony
    `C0001M01.XML` beside `C0001.MP4`, Canon `..._CANON.XML` beside `..._CANON.MXF`), the longest stem
    winning. Card-level XML (MEDIAPRO.XML) matches no clip and stays out."""
    if not sidecars:
        return groups
    stems: dict[tuple[str, str], int] = {}
    for i, g in enumerate(groups):
        if g.kind is ClipKind.SEQUENCE:
            continue
        for f in g.files:
            stems[(posixpath.dirname(f), _stem(f).lower())] = i
    extra: dict[int, list[str]] = defaultdict(list)
    for xml in sidecars:
        folder, stem = posixpath.dirname(xml), _stem(xml).lower()
        best = None
        for cut in range(len(stem), min(len(stem), 4) - 1, -1):
            hit = stems.get((folder, stem[:cut]))
            if hit is not None:
                best = hit
                break
        if best is not None:
            extra[best].append(xml)
    out = []
    for i, g in enumerate(groups):
        if i in extra:
            g = ClipGroup(g.name, g.kind, g.files, tuple(sorted(g.sidecars + tuple(extra[i]))), g.first_frame,
                          g.last_frame, g.gaps)
        out.append(g)
    return out
