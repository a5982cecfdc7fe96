"""The one entry point the app calls to read a clip: it names the thumbnails, picks the reader for the clip's
kind, and makes sure that a reader's surprise about one clip never stops an offload's clip step.

Readers return what they read and flag bad media themselves; anything else a reader raises (an FFmpeg error
it did not expect, a value it could not parse) still says "possibly damaged" with the reason, and is logged
with its traceback. OSError is the one exception that passes: the file could not be read at all here (the
drive went away, an I/O error), and the caller reads another verified copy.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from datawrangler.core.clips import ClipGroup, ClipKind, ClipMeta, ClipState
from datawrangler.media.sidecar import read_sidecars

log = logging.getLogger(__name__)

THUMBNAIL_COUNTS = (0, 1, 3)
# camera raw formats no open library decodes: their clips are grouped and sized, their metadata "not read"
RAW_FORMATS = {"r3d": "REDCODE RAW (R3D)", "braw": "Blackmagic RAW", "crm": "Canon Cinema RAW Light",
               "rmf": "Canon Cinema RAW (RMF)", "nev": "Nikon N-RAW"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ReadClip:
    """What reading a clip found, and the thumbnails written (relative to thumbs_root, '/'-separated)."""

    meta: ClipMeta
    thumbnails: tuple[str, ...]


def safe_name(name: str) -> str:
    """A clip name as a file name on every platform: 'A001 C001/x' -> 'A001_C001_x'."""
    return _UNSAFE.sub("_", name).strip("._")[:120] or "clip"


def thumbnail_names(clip: str, prefix: str, count: int) -> list[str]:
    """The thumbnails' paths relative to the thumbnails folder: 'PREFIX/CLIP_1.jpg' ... ('/'-separated)."""
    parts = PurePosixPath(prefix).parts if prefix else ()
    if any(p in ("..", "/") for p in parts) or "\\" in prefix:
        raise ValueError(f"thumbs_prefix must be a relative path inside the thumbnails folder, not {prefix!r}")
    return ["/".join((*parts, f"{safe_name(clip)}_{i}.jpg")) for i in range(1, count + 1)]


def read_clip(root: Path, group: ClipGroup, *, thumbs_root: Path | None = None, thumbs_prefix: str = "",
              thumbnails: int = 1) -> ReadClip:
    """Read the clip `group` from the verified copy under `root` (the destination roll folder), writing
    `thumbnails` JPEGs (0, 1 or 3) under `thumbs_root / thumbs_prefix` when a thumbnails folder is given.
    Returns the metadata and the thumbnails that exist. OSError: a file of the clip cannot be read here."""
    if thumbnails not in THUMBNAIL_COUNTS:
        raise ValueError(f"thumbnails per clip must be 0, 1 or 3, not {thumbnails}")
    if not group.files:
        raise ValueError(f"clip {group.name!r} has no files")
    names = thumbnail_names(group.name, thumbs_prefix, thumbnails) if thumbs_root is not None else []
    if group.kind is ClipKind.RAW:
        names = []
    targets = [thumbs_root.joinpath(*n.split("/")) for n in names] if thumbs_root is not None else []
    for target in targets:  # an earlier read's pictures must not pass for this read's
        target.unlink(missing_ok=True)
    try:
        meta = _dispatch(root, group, targets)
    except OSError:
        raise
    except Exception as exc:  # one clip's surprise must not stop the others (logged, and said)
        log.warning("reading clip %s from %s failed", group.name, root, exc_info=True)
        meta = ClipMeta(state=ClipState.DAMAGED, problems=(
            f"{group.files[0]} could not be read ({type(exc).__name__}: {exc}); check it in a player, and report "
            "this message if the clip plays",))
    return ReadClip(meta, tuple(n for n, t in zip(names, targets, strict=True) if t.is_file()))


def _dispatch(root: Path, group: ClipGroup, thumbs: list[Path]) -> ClipMeta:
    if group.kind is ClipKind.VIDEO:
        from datawrangler.media.video import read_video  # PyAV loads where clips are read

        return read_video(root, group, thumbs)
    if group.kind is ClipKind.AUDIO:
        from datawrangler.media.audio import read_audio

        return read_audio(root, group, thumbs)
    if group.kind is ClipKind.SEQUENCE:
        from datawrangler.media.sequence import read_sequence

        return read_sequence(root, group, thumbs)
    return read_raw(root, group)


def read_raw(root: Path, group: ClipGroup) -> ClipMeta:
    """A camera raw clip (R3D, BRAW, CRM...): never damaged, never decoded; its sidecars say what they can."""
    (root / group.files[0]).stat()  # the copy is there (else OSError: the caller reads another copy)
    ext = Path(group.files[0]).suffix.lower().lstrip(".")
    name = RAW_FORMATS.get(ext, ext.upper())
    side = read_sidecars([root / rel for rel in group.sidecars])
    extra = dict(side.extra)
    if side.lens:
        extra["lens"] = side.lens
    fps = side.fps
    return ClipMeta(
        state=ClipState.NOT_READ, problems=(f"metadata not read: no open library reads {name}", *side.problems),
        container=ext, codec=name, width=side.width, height=side.height,
        fps=None if fps is None else (f"{fps.numerator}/{fps.denominator}" if fps.denominator > 1 else str(fps)),
        frames=side.frames, tc_in=side.tc_in, tc_out=side.tc_out, reel=side.reel, camera=side.camera, extra=extra)
