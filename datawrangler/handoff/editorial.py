"""The editorial handoff: an Avid ALE and a clip CSV of an offload's clips in each of its destination rolls, and an
ALE (or clip CSV) of one offload or of a shooting day to a file of the user's choosing.

In a roll they sit beside the other sidecars, named by store.handoff_names through writer.sidecar_names
(`<roll>_<start>Z.ale`, `<roll>_<start>Z.clips.csv`). The app writes the ASC MHL generation first, reads the
clips from a verified copy, then calls `write_editorial`: the generation already names these files among its
ignore patterns (writer), so `ascmhl verify` does not find them new. Only for an offload that ended (not
running, interrupted or cancelled), and only when the catalog holds its clips. Each roll's files list every
clip of the offload; a clip with a file not verified on that drive says so in its Comments / warnings.
Written atomically (handoff.common.write_atomic): a file is either absent, the old one, or whole.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from datawrangler.core.timecode import rate_text
from datawrangler.core.words import agree, plural
from datawrangler.handoff.ale import build_ale, first_media_file
from datawrangler.handoff.clipcsv import render_clip_csv
from datawrangler.handoff.common import write_atomic
from datawrangler.handoff.writer import NOT_WRITTEN, HandoffOptions, HandoffResult, sidecar_names
from datawrangler.store.clips import ClipRow, day_clips, offload_clips
from datawrangler.store.db import Catalog
from datawrangler.store.handoff import OffloadSummary, offload_files, offload_summary

Kind = Literal["ale", "clip_csv"]
KINDS: tuple[Kind, ...] = ("ale", "clip_csv")  # writer.EDITORIAL_KINDS, as types


class EditorialError(ValueError):
    """Why an ALE or clip CSV asked for cannot be written, said for a person; `code` is stable (the CLI's error
    code): unknown_offload, no_clips, bad_day, bad_target."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def editorial_names(roll: str, started_at: float, options: HandoffOptions) -> dict[Kind, str]:
    """{"ale" / "clip_csv": file name in the roll folder}, for the kinds `options` asks for."""
    names = sidecar_names(roll, started_at, options, ())
    return {k: names[k] for k in KINDS if k in names}


def _converted_warning(where: str, fps: str, names: Sequence[str]) -> str:
    shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
    return (f"{where}: {plural(len(names), 'clip')} ({shown}) {agree(len(names), 'is', 'are')} at another frame "
            f"rate than the ALE's {fps} fps: their Start/End/Duration are given at {fps} fps, their own rate is in "
            "the Clip FPS column and their Comments say their own TC in. Check them in the bin after the import.")


def render(kind: Kind, clips: Sequence[ClipRow], notes: dict[int, list[str]] | None = None,
           result: HandoffResult | None = None, where: str = "") -> bytes:
    """The bytes of one editorial file; a converted frame rate is said in `result`'s warnings."""
    if kind == "clip_csv":
        return render_clip_csv(clips, notes)
    ale = build_ale(clips, notes)
    if ale.converted and result is not None:
        result.warnings.append(_converted_warning(where, rate_text(ale.fps), ale.converted))
    return ale.render()


def write_editorial(db: Catalog, offload_id: int, options: HandoffOptions) -> HandoffResult:
    """The ALE and/or clip CSV (as `options` asks) of offload `offload_id` into each of its destination rolls.
    ValueError for an offload the catalog does not have; what was not written is said in the warnings."""
    summary = offload_summary(db, offload_id)
    if summary is None:
        raise ValueError(f"There is no offload {offload_id} in the catalog.")
    result = HandoffResult()
    if not (options.ale or options.clip_csv):
        return result
    if summary.state in NOT_WRITTEN:
        result.warnings.append(f"Offload {offload_id} is {summary.state}: no ALE or clip CSV was written. Resume it "
                               "first.")
        return result
    clips = offload_clips(db, offload_id, with_paths=True)
    if not clips:
        result.warnings.append(
            f"Offload {offload_id} has no clips in the catalog (they were not read, or the card holds no movie, "
            f"sound file or image sequence): no ALE or clip CSV was written. Read them with 'datawrangler clips "
            f"{offload_id} --read', then write the files with 'datawrangler ale {offload_id} -o FILE'.")
        return result
    verified, card_paths = _verified_members(db, offload_id, clips, summary, options)
    said_rate = False
    for dest in summary.destinations:
        roll = dest.path
        if not os.path.isdir(roll):
            result.warnings.append(f"{roll} is not there (drive disconnected?): no ALE or clip CSV written to it. "
                                   f"Write them with 'datawrangler ale {offload_id} -o FILE' once it is back.")
            continue
        here = verified.get(dest.id, set())
        notes: dict[int, list[str]] = {}
        for clip in clips:
            missing = [p for p in clip.file_paths if p not in here]
            if missing:
                notes[clip.id] = [f"NOT VERIFIED on this drive: {len(missing)} of "
                                  f"{plural(len(clip.file_paths), 'file')}"]
        if notes:
            result.warnings.append(f"{roll}: {plural(len(notes), 'clip')} in the editorial files "
                                   f"{agree(len(notes), 'has', 'have')} files not verified on this drive; their "
                                   "Comments say so.")
        for kind, name in editorial_names(roll, summary.started_at, options).items():
            if name in card_paths:
                result.warnings.append(f"{roll}: the card has a file named {name}; the {kind} file was not written.")
                continue
            path = os.path.join(roll, name)
            try:
                data = render(kind, clips, notes, None if said_rate else result, f"Offload {offload_id}")
                said_rate = said_rate or kind == "ale"
                write_atomic(path, data)
            except OSError as exc:
                result.warnings.append(f"Could not write {path} ({exc.strerror or exc}). The copies are not "
                                       f"affected; once the drive is writable, write it with 'datawrangler ale "
                                       f"{offload_id} -o {path}'" + (" --clip-csv." if kind == "clip_csv" else "."))
                continue
            result.written.append(path)
    return result


def _verified_members(db: Catalog, offload_id: int, clips: Sequence[ClipRow], summary: OffloadSummary,
                      options: HandoffOptions) -> tuple[dict[int, set[str]], set[str]]:
    """({destination id: the clips' files verified on it}, the editorial file names the card itself holds), in
    one pass over the offload's files as they stream from the catalog: only the clips' files and a few names are
    kept, so a card of a million small files costs no more memory than its clips."""
    members = {p for c in clips for p in c.file_paths}
    names = {n for d in summary.destinations for n in editorial_names(d.path, summary.started_at, options).values()}
    verified: dict[int, set[str]] = {}
    taken: set[str] = set()
    for f in offload_files(db, offload_id):
        if f.rel_path in names:
            taken.add(f.rel_path)
        if f.rel_path in members:
            for did, c in f.copies.items():
                if c.state == "verified":
                    verified.setdefault(did, set()).add(f.rel_path)
    return verified, taken


def _write_file(kind: Kind, clips: Sequence[ClipRow], target: Path, where: str) -> HandoffResult:
    target = Path(target)
    if target.is_dir():
        example = target / f"day.{_suffix(kind)}"
        raise EditorialError("bad_target", f"{target} is a folder: give the file to write, e.g. {example}.")
    if not target.parent.is_dir():
        raise EditorialError("bad_target", f"The folder {target.parent} does not exist: create it or choose another "
                             "place.")
    result = HandoffResult()
    write_atomic(os.fspath(target), render(kind, clips, None, result, where))
    result.written.append(os.fspath(target))
    return result


def _suffix(kind: Kind) -> str:
    return "csv" if kind == "clip_csv" else "ale"


def write_offload_ale(db: Catalog, offload_id: int, target: Path, *, kind: Kind = "ale") -> HandoffResult:
    """The ALE (or the clip CSV) of one offload's clips to `target`. EditorialError (said for a person) for an
    offload the catalog does not have, one without clips, or a target that cannot be a file; OSError when
    writing fails."""
    if offload_summary(db, offload_id) is None:
        raise EditorialError("unknown_offload", f"There is no offload {offload_id} in the catalog: 'datawrangler "
                             "history' lists them.")
    clips = offload_clips(db, offload_id, with_paths=True)
    if not clips:
        raise EditorialError("no_clips", f"Offload {offload_id} has no clips in the catalog: read them from a "
                             f"verified copy with 'datawrangler clips {offload_id} --read' first.")
    return _write_file(kind, clips, target, f"Offload {offload_id}")


def day_window(day: str, day_start: str = "00:00") -> tuple[float, float]:
    """The local-time span of a shooting day: DAY at day_start to the next day at day_start."""
    try:
        start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(day_start))
    except ValueError:
        raise EditorialError("bad_day", f"{day!r} at {day_start!r}: write the day as YYYY-MM-DD and its start as "
                             "HH:MM.") from None
    return start.timestamp(), (start + dt.timedelta(days=1)).timestamp()


def unique_clips(clips: Sequence[ClipRow]) -> list[ClipRow]:
    """A card offloaded twice in a day (to a shuttle drive later, say) has its clips once: the latest offload's
    reading of each clip wins, in the place of its first."""
    out: dict[tuple[object, ...], ClipRow] = {}
    for c in clips:
        card: object = c.card_id if c.card_id is not None else ("offload", c.offload_id)
        out[(card, c.name, first_media_file(c))] = c
    return list(out.values())


def write_day_ale(db: Catalog, day: str, target: Path, *, day_start: str = "00:00",
                  kind: Kind = "ale") -> HandoffResult:
    """The ALE (or the clip CSV) of every clip of the offloads that started in the shooting day `day`
    (YYYY-MM-DD, from `day_start` local time to the next day's) to `target`. EditorialError (said for a person) for
    a day that cannot be read or has no clips; OSError when writing fails."""
    start, end = day_window(day, day_start)
    clips = unique_clips(day_clips(db, start, end, with_paths=True))
    if not clips:
        raise EditorialError("no_clips", f"The catalog has no clips of an offload started on {day} (from "
                             f"{day_start}): 'datawrangler history' lists the offloads; 'datawrangler clips OFFLOAD "
                             "--read' reads an offload's clips.")
    return _write_file(kind, clips, target, day)
