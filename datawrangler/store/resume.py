"""What a resume (or an incremental offload) needs from the catalog: the plan as it was, and which
file/destination pairs are verified already, so the engine repeats only the rest."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import SourceFile
from datawrangler.store import liveness
from datawrangler.store.cards import lineage_offloads as lineage_offloads  # store.session asks it here
from datawrangler.store.catalog import Catalog, in_list
from datawrangler.store.db import CatalogError
from datawrangler.store.handoff_names import ASCMHL_CHAIN, ASCMHL_FOLDER, manifest_stamp
from datawrangler.store.offloads import plan_from_json

Key = tuple[str, int, int]  # rel_path, size, mtime_ns


@dataclass(frozen=True)
class Resumable:
    offload_id: int
    plan: OffloadPlan
    state: str
    card_id: int
    incremental: bool = False  # it copied only what its card's earlier offloads did not hold verified

    def pairs(self, db: Catalog) -> dict[Key, set[int]]:
        """The copies a resume does not repeat: this offload's verified ones, and for an incremental offload
        those of its card's whole lineage (which it skipped without a copy row of its own)."""
        ids = lineage_offloads(db, self.card_id) if self.incremental else [self.offload_id]
        return verified_pairs(db, self.plan.destinations, ids)


def plan_of(db: Catalog, offload_id: int) -> OffloadPlan | None:
    """The plan an offload recorded (its destinations, for the drives a resume will use), or None."""
    row = db.row("SELECT plan FROM offloads WHERE id = :id", {"id": offload_id})
    return plan_from_json(row[0]) if row else None


def load(db: Catalog, offload_id: int) -> Resumable:
    row = db.row("SELECT plan, state, card_id, host, pid, start_token, incremental_of FROM offloads "
                 "WHERE id = :id", {"id": offload_id})
    if row is None:
        raise CatalogError(f"There is no offload {offload_id} in the catalog. 'datawrangler history' lists them.")
    plan_json, state, card_id, host, pid, token, incremental_of = row
    if state == "running" and liveness.alive(host, pid, token):
        raise CatalogError(f"Offload {offload_id} is still running (process {pid} on {host}). Wait for it to "
                           "finish, or stop it, then resume.")
    if state == "verified" and not handoff_missing(db, offload_id):
        raise CatalogError(f"Offload {offload_id} is already verified: nothing to resume. "
                           f"'datawrangler verify' re-reads its copies.")
    return Resumable(offload_id, plan_from_json(plan_json), state, card_id, incremental_of is not None)


def handoff_missing(db: Catalog, offload_id: int) -> list[str]:
    """The roll folders of a verified offload that hold verified copies of it but no ASC MHL generation made
    at or after its end: the offload was recorded verified, then stopped (a power cut, a kill) before its
    handoff files were written. A resume of it copies nothing and writes them. A generation's creation time
    is in its name (second resolution), so the drive's own clock does not enter into it."""
    row = db.row("SELECT ended_at FROM offloads WHERE id = :id", {"id": offload_id})
    if row is None or row[0] is None:
        return []
    ended = dt.datetime.fromtimestamp(int(row[0]) - 1, dt.UTC).strftime("%Y-%m-%d_%H%M%S")
    missing = []
    for (roll,) in db.run(
            "SELECT DISTINCT d.path FROM destinations d JOIN copies c ON c.destination_id = d.id"
            " WHERE d.offload_id = :id AND c.state = 'verified' ORDER BY d.path", {"id": offload_id}):
        folder = os.path.join(roll, ASCMHL_FOLDER)
        try:
            names = os.listdir(folder) if os.path.isfile(os.path.join(folder, ASCMHL_CHAIN)) else []
        except OSError:
            names = []
        if not any(stamp >= ended for stamp in filter(None, map(manifest_stamp, names))):
            missing.append(roll)
    return missing


def verified_pairs(db: Catalog, dest_paths: Sequence[str], offload_ids: Iterable[int]) -> dict[Key, set[int]]:
    """{(rel_path, size, mtime_ns): plan indices} of the copies that these offloads verified at these roll
    folders (the same path, so the same place on the same drive)."""
    index = {os.path.normpath(p): i for i, p in enumerate(dest_paths)}
    ids = list(offload_ids)
    out: dict[Key, set[int]] = {}
    if not ids:
        return out
    marks, params = in_list("ids", ids)
    for path, rel, size, mtime in db.run(
            "SELECT d.path, f.rel_path, f.size, f.mtime_ns FROM copies c JOIN files f ON f.id = c.file_id"
            " JOIN destinations d ON d.id = c.destination_id"
            f" WHERE c.state = 'verified' AND f.offload_id IN {marks}", params):
        i = index.get(os.path.normpath(path))
        if i is not None:
            out.setdefault((rel, size, mtime), set()).add(i)
    return out


def already_verified(pairs: dict[Key, set[int]], n_dests: int,
                     on_carried: Callable[[SourceFile], None] | None = None) -> Callable[[SourceFile], Iterable[int]]:
    """The engine's `already_verified` hook; `on_carried` hears of each file verified everywhere already."""
    def lookup(f: SourceFile) -> Iterable[int]:
        done = pairs.get((f.rel_path, f.size, f.mtime_ns), set())
        if on_carried is not None and len(done) >= n_dests:
            on_carried(f)
        return done
    return lookup
