"""Reading an offload's clips, once its copies are verified: from a verified destination copy (the card has
gone back to the camera), in the offload's own worker (the window's worker process, the CLI's process), after
the handoff files and before the report, so the report and the editorial handoff (ALE, clip CSV) have them.

What it finds is catalog data (`store.clips`): reports, the window and other stations read it there. A clip
that is possibly damaged or a sequence with missing frames is a warning on the card; it never changes what
"verified" means (the bytes were copied faithfully). `datawrangler clips OFFLOAD --read` runs the same step
again (an offload made before clips were read, or a drive that was away).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from datawrangler.core.clips import ClipGroup, ClipMeta, ClipState, clip_flags, group_clips
from datawrangler.core.timecode import clock
from datawrangler.core.words import plural
from datawrangler.store import clips as store_clips
from datawrangler.store.clips import ClipRecord, CopyToRead
from datawrangler.store.db import Catalog
from datawrangler.store.handoff import offload_summary

log = logging.getLogger(__name__)

THUMBNAIL_COUNTS = (0, 1, 3)
READERS = min(4, (os.cpu_count() or 2) + 1)  # clips read at once


@dataclass(frozen=True)
class ClipOptions:
    """Whether and how an offload's clips are read: thumbnails per clip (0, 1 or 3)."""

    thumbnails: int = 1

    def __post_init__(self) -> None:
        if self.thumbnails not in THUMBNAIL_COUNTS:
            raise ValueError(f"thumbnails per clip must be 0, 1 or 3, not {self.thumbnails}")


@dataclass(frozen=True)
class ClipsRead:
    """What reading an offload's clips found: counts, and one sentence per flagged clip."""

    clips: int
    read: int  # metadata read
    not_read: int  # formats no open library reads (R3D, BRAW, ARRIRAW...)
    damaged: int
    with_gaps: int
    unavailable: int  # no verified copy could be read
    running_time: float  # seconds, over the clips with a duration
    warnings: tuple[str, ...] = ()
    cancelled: bool = False

    @property
    def summary(self) -> str:
        parts = [f"{plural(self.clips, 'clip')} read from a verified copy"]
        if self.running_time:
            parts.append(f"running time {clock(self.running_time)}")
        if self.damaged:
            parts.append(f"{self.damaged} possibly damaged")
        if self.with_gaps:
            parts.append(f"{plural(self.with_gaps, 'sequence')} with missing frames")
        if self.not_read:
            parts.append(f"metadata not read for {plural(self.not_read, 'clip')} (no open library reads their format)")
        if self.unavailable:
            parts.append(f"{self.unavailable} not readable (no verified copy could be read)")
        return "; ".join(parts) + ("; stopped: cancelled" if self.cancelled else "")


def _sources(group: ClipGroup, copies: Sequence[CopyToRead]) -> list[CopyToRead]:
    """The destinations holding every file of the clip verified, most verified first."""
    return [c for c in copies if all(f in c.verified for f in group.files)]


def _read_one(group: ClipGroup, copies: Sequence[CopyToRead], thumbs_root: Path, prefix: str,
              thumbnails: int) -> ClipRecord:
    from datawrangler.media.read import read_clip  # PyAV loads only where clips are read (the worker)

    sources = _sources(group, copies)
    if not sources:
        return ClipRecord(group, ClipMeta(state=ClipState.UNAVAILABLE, problems=(
            "no destination holds a verified copy of every file of this clip, so it was not read",)))
    failures = []
    for copy in sources:
        try:
            got = read_clip(Path(copy.roll), group, thumbs_root=thumbs_root, thumbs_prefix=prefix,
                            thumbnails=thumbnails)
        except OSError as exc:  # the drive went away, a file cannot be read there: the next copy
            failures.append(f"{copy.roll}: {exc.strerror or exc}")
            continue
        return ClipRecord(group, got.meta, got.thumbnails, copy.destination_id)
    return ClipRecord(group, ClipMeta(state=ClipState.UNAVAILABLE, problems=(
        "no verified copy could be read (" + "; ".join(failures) + "); read it again with 'datawrangler clips "
        "OFFLOAD --read' once the drive is back",)))


def flagged_sentence(group: ClipGroup, meta: ClipMeta) -> str | None:
    """The warning a flagged clip gives, in words, or None."""
    said = clip_flags(group.gaps, meta)
    if not said:
        return None
    return (f"Clip {group.name}: {'; '.join(said)}. The copies are verified (they match the card byte for byte): "
            "check the clip on the camera or in a player before the card is formatted.")


def read_offload_clips(db: Catalog, catalog: str | os.PathLike[str], offload_id: int,
                       options: ClipOptions | None = None, *, cancelled: Callable[[], bool] | None = None,
                       on_clip: Callable[[int, int, str], None] | None = None) -> ClipsRead:
    """Group the offload's files into clips, read each from a verified destination copy, record them all in
    the catalog (replacing what an earlier read recorded), and say what was found. `on_clip(done, total,
    name)` is told as each clip is read; `cancelled()` stops between clips (what was read is recorded)."""
    options = options or ClipOptions()
    summary = offload_summary(db, offload_id)
    if summary is None:
        raise ValueError(f"There is no offload {offload_id} in the catalog: see 'datawrangler history'.")
    groups = group_clips(store_clips.offload_file_paths(db, offload_id))
    copies = store_clips.readable_copies(db, offload_id)
    thumbs_root = store_clips.thumbnails_dir(catalog)
    thumbnails, no_thumbs = options.thumbnails, None
    if thumbnails:
        try:  # the thumbnails folder is not the copy: when it cannot be made, the clips are read without pictures
            (thumbs_root / summary.uuid).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            thumbnails = 0
            no_thumbs = (f"no thumbnail: the thumbnails folder {thumbs_root} cannot be written "
                         f"({exc.strerror or exc}); free space there or fix it, then 'datawrangler clips "
                         f"{offload_id} --read'")
    seen: dict[str, int] = {}
    jobs = []
    for group in groups:
        seen[group.name] = seen.get(group.name, 0) + 1  # two clips of one name keep their own thumbnails
        jobs.append((group, summary.uuid if seen[group.name] == 1 else f"{summary.uuid}/{seen[group.name]}"))

    def read(job: tuple[ClipGroup, str]) -> ClipRecord | None:
        if cancelled is not None and cancelled():
            return None
        rec = _read_one(job[0], copies, thumbs_root, job[1], thumbnails)
        if no_thumbs and rec.meta.state is not ClipState.UNAVAILABLE:
            rec = dataclasses.replace(rec, meta=dataclasses.replace(rec.meta, problems=(*rec.meta.problems,
                                                                                         no_thumbs)))
        return rec

    records: list[ClipRecord] = []
    # FFmpeg decodes and the copies are read without the GIL: a few clips at once use the cores and the drive's
    # queue (the copies are done: nothing else runs now); results keep the clips' order
    with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="dw-clips") as pool:
        for rec in pool.map(read, jobs):
            if rec is not None:
                records.append(rec)
                if on_clip is not None:
                    on_clip(len(records), len(groups), rec.group.name)
    stopped = len(records) < len(groups)
    store_clips.record_clips(db, offload_id, records)
    warnings = tuple(w for r in records if (w := flagged_sentence(r.group, r.meta)))
    if no_thumbs:
        warnings = (no_thumbs[0].upper() + no_thumbs[1:] + ".", *warnings)
    states = [r.meta.state for r in records]
    return ClipsRead(
        clips=len(records), read=states.count(ClipState.READ), not_read=states.count(ClipState.NOT_READ),
        damaged=states.count(ClipState.DAMAGED), with_gaps=sum(1 for r in records if r.group.gaps),
        unavailable=states.count(ClipState.UNAVAILABLE),
        running_time=sum(r.meta.duration or 0.0 for r in records), warnings=warnings, cancelled=stopped)
