"""Write the handoff files of a finished offload into every destination roll, from the catalog (the source
of truth: a file is listed as verified only if its copy there is verified in the catalog; a copy failed
because the card's file no longer matches the card's own history is listed in the ASC MHL as `failed`).

Per roll, in this order: the optional sidecars (checksum lists, legacy MHL 1.1, CSV and JSON manifests),
then the ASC MHL generation (process `transfer`) whose ignore patterns name those sidecars, then the chain.
The editorial files (ALE, clip CSV: handoff.editorial) come later, once the clips are read from a verified
copy; the generation names them among its ignore patterns already, so that `ascmhl verify` never calls them new.
Nothing is written for an offload that was interrupted, cancelled or is still running.

Each roll is written in one pass over the offload's rows in the catalog (handoff.roll), every file produced as
the rows arrive: the memory it takes does not grow with the number of files on the card.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Mapping, Sequence

from datawrangler.core.hashing import ALGORITHMS
from datawrangler.handoff import ascmhl
from datawrangler.handoff.common import CreatorInfo, utc_now, xml_ok
from datawrangler.handoff.history import History, HistoryError, load
from datawrangler.handoff.options import (
    EDITORIAL_KINDS,
    NOT_WRITTEN,
    HandoffOptions,
    HandoffResult,
    sidecar_names,
)
from datawrangler.handoff.roll import RollWriter, transplant
from datawrangler.store.db import Catalog
from datawrangler.store.handoff import files_named, latest_reverify, offload_files, offload_summary

__all__ = ["EDITORIAL_KINDS", "NOT_WRITTEN", "HandoffOptions", "HandoffResult", "sidecar_names", "transplant",
           "write_handoff", "write_reverify_generations"]


def write_handoff(db: Catalog, offload_id: int, options: HandoffOptions | None = None, *,
                  now: dt.datetime | None = None, creator: CreatorInfo | None = None,
                  source_history: History | None = None) -> HandoffResult:
    """Write the handoff files of a finished offload into each of its destination rolls: one pass over the
    offload's rows in the catalog feeds every roll (handoff.roll), whatever the number of files."""
    options = options or HandoffOptions()
    summary = offload_summary(db, offload_id)
    if summary is None:
        raise ValueError(f"There is no offload {offload_id} in the catalog.")
    result = HandoffResult()
    if summary.state in NOT_WRITTEN:
        result.warnings.append(f"Offload {offload_id} is {summary.state}: no handoff files were written. Resume it "
                               "first.")
        return result
    now = now or utc_now()
    creator = creator or CreatorInfo.here(author=summary.operator, comment=f"DataWrangler offload {summary.uuid}")
    writers: list[RollWriter] = []
    said: dict[str, list[str]] = {}  # by roll, said in the order of the rolls at the end
    with contextlib.ExitStack() as open_rolls:
        for dest in summary.destinations:
            roll = dest.path
            if not os.path.isdir(roll):
                said[roll] = [f"{roll} is not there (drive disconnected?): no handoff files written to it."]
                continue
            taken = files_named(db, offload_id, sidecar_names(roll, summary.started_at, options,
                                                              summary.algorithms).values())
            try:
                writers.append(open_rolls.enter_context(
                    RollWriter(summary, dest.id, roll, taken, options, now, creator, source_history)))
            except OSError as exc:
                said[roll] = [_not_written(roll, exc, offload_id)]
        # one pass over the offload's rows feeds every roll: a roll that fails on the way is left as it was and
        # the others go on
        for f in offload_files(db, offload_id) if writers else ():
            failed = False
            for writer in writers:
                try:
                    writer.add(f)
                except OSError as exc:
                    said[writer.roll] = [_not_written(writer.roll, exc, offload_id)]
                    writer.discard()
                    failed = True
            if failed:
                writers = [w for w in writers if w.roll not in said]
        for writer in writers:
            part = HandoffResult()
            try:
                writer.finish(part)
            except OSError as exc:
                writer.discard()
                said[writer.roll] = [_not_written(writer.roll, exc, offload_id)]
                continue
            result.written += part.written
            said[writer.roll] = part.warnings
    for dest in summary.destinations:
        result.warnings += said.pop(dest.path, [])
    return result


def _not_written(roll: str, exc: OSError, offload_id: int) -> str:
    return (f"Could not write the handoff files into {roll} ({exc.strerror or exc}). The copies are not affected; "
            f"write them again with 'datawrangler mhl-write {offload_id}' once the drive is writable.")


def write_reverify_generations(db: Catalog, rolls: Sequence[str], destination_ids: Mapping[str, Sequence[int]], *,
                               now: dt.datetime | None = None, creator: CreatorInfo | None = None) -> HandoffResult:
    """After a re-verify: in each roll that has an ASC MHL history, a generation (process `in-place`) with
    the files read back: `verified` where they matched, `failed` where they changed. Missing or unreadable
    files are not listed (nothing was hashed). Streamed like the offload's: one pass over the roll's rows."""
    result = HandoffResult()
    now = now or utc_now()
    creator = creator or CreatorInfo.here()
    for roll in rolls:
        try:
            history = load(roll)
        except HistoryError as exc:
            result.warnings.append(f"{roll}: {exc} No generation was added.")
            continue
        if history is None:
            continue
        try:
            with ascmhl.NewGeneration(roll, creator=creator, process="in-place", ignore=history.latest_ignore(),
                                      now=now, history=history) as generation:
                for r in latest_reverify(db, destination_ids.get(roll, ())):
                    if r.result not in ("verified", "changed") or not r.digests or not xml_ok(r.rel_path):
                        continue
                    acts = ascmhl.actions(history, r.rel_path,
                                          {a: v for a, v in r.digests.items() if a in ALGORITHMS})
                    if r.result == "changed" and any(act == "original" for _, _, act in acts):
                        continue  # changed against the catalog, but the history never knew it: nothing to vouch for
                    if acts:
                        generation.add(ascmhl.Entry(r.rel_path, r.size, r.mtime_ns,
                                                    tuple(ascmhl.Hash(a, v, act, r.at) for a, v, act in acts)))
                if generation.count:  # nothing read back: no generation
                    result.written.append(generation.commit())
        except OSError as exc:
            result.warnings.append(f"Could not add a generation to {roll} ({exc.strerror or exc}). The re-verification "
                                   "itself is in the catalog; free space on the drive or make it writable, then "
                                   "re-verify it again to add the generation.")
    return result
