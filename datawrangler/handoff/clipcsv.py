"""The clip CSV: one row per clip with every field the catalog holds of it, for post (a lab's or an assistant's
database, a spreadsheet, a script).

UTF-8, a header row, CRLF rows, quoted where needed (Python's csv, like the file manifest in
handoff.manifests). The columns are `COLUMNS`, in that order, always all of them (an empty cell where the media
said nothing): a later version adds columns at the end, never renames or moves one, so a script that reads the
file by header or by position keeps working. Lists (files, track names, problems, sidecar fields) are JSON
arrays or objects in their cell, so that no name can be split wrongly; `warnings` is the sentence the reports
and the ALE's Comments say. Times are at the clip's own rate (the ALE converts to one rate per file; this does
not). Thumbnail paths and the id of the destination read are left out: they mean something only beside the
catalog they belong to.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence

from datawrangler.core.clips import gaps_text
from datawrangler.core.timecode import duration_text, rate_text
from datawrangler.handoff.ale import first_media_file, tape
from datawrangler.handoff.cliptime import clip_frames, clip_rate
from datawrangler.handoff.common import iso
from datawrangler.store.clips import ClipRow

COLUMNS = (
    "clip", "kind", "state", "warnings", "reel", "roll", "tape", "tc_in", "tc_out", "duration", "frames", "fps",
    "fps_exact", "duration_seconds", "first_frame", "last_frame", "missing_frames", "gaps", "container", "codec",
    "width", "height", "camera", "reel_name", "audio_channels", "sample_rate", "bit_depth", "scene", "take",
    "sound_roll", "track_names", "files", "bytes", "first_file", "file_paths", "problems", "extra", "read_at",
    "offload_id", "card_id", "clip_id",
)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""


def clip_fields(clip: ClipRow, notes: Sequence[str] = ()) -> dict[str, object]:
    """{column: value} of one clip (None: an empty cell)."""
    m = clip.meta
    rate = clip_rate(clip)
    frames = clip_frames(clip, rate)
    return {
        "clip": clip.name, "kind": clip.kind.value, "state": m.state.value,
        "warnings": "; ".join((*clip.warnings, *notes)), "reel": clip.reel, "roll": clip.roll_name,
        "tape": tape(clip), "tc_in": m.tc_in, "tc_out": m.tc_out,
        "duration": duration_text(frames, rate) if frames and rate else None, "frames": frames,
        "fps": rate_text(rate) or None, "fps_exact": m.fps, "duration_seconds": m.duration,
        "first_frame": clip.first_frame, "last_frame": clip.last_frame,
        "missing_frames": sum(b - a + 1 for a, b in clip.gaps) if clip.gaps else None,
        "gaps": gaps_text(clip.gaps, limit=len(clip.gaps)) if clip.gaps else None,
        "container": m.container, "codec": m.codec, "width": m.width, "height": m.height, "camera": m.camera,
        "reel_name": m.reel, "audio_channels": m.audio_channels, "sample_rate": m.sample_rate,
        "bit_depth": m.bit_depth, "scene": m.scene, "take": m.take, "sound_roll": m.tape,
        "track_names": _json(list(m.tracks)), "files": clip.files, "bytes": clip.bytes,
        "first_file": first_media_file(clip), "file_paths": _json(list(clip.file_paths)),
        "problems": _json(list(m.problems)), "extra": _json(dict(m.extra)),
        "read_at": iso(clip.read_at) if clip.read_at else None, "offload_id": clip.offload_id,
        "card_id": clip.card_id, "clip_id": clip.id,
    }


def render_clip_csv(clips: Sequence[ClipRow], notes: Mapping[int, Sequence[str]] | None = None) -> bytes:
    """The CSV of `clips` (in their order); `notes`: more warnings per clip id (e.g. not verified here)."""
    notes = notes or {}
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for c in clips:
        fields = clip_fields(c, notes.get(c.id, ()))
        w.writerow(["" if fields[col] is None else fields[col] for col in COLUMNS])
    return buf.getvalue().encode("utf-8", "surrogateescape")
