"""Write the handoff files of a finished offload into every destination roll, from the catalog (the source
of truth: a file is listed as verified only if its copy there is verified in the catalog; a copy failed
because the card's file no longer matches the card's own history is listed in the ASC MHL as `failed`).

Per roll, in this order: the optional sidecars (checksum lists, legacy MHL 1.1, CSV and JSON manifests),
then the ASC MHL generation (process `transfer`) whose ignore patterns name those sidecars, then the chain.
The editorial files (ALE, clip CSV: handoff.editorial) come later, once the clips are read from a verified
copy; the generation names them among its ignore patterns already, so that `ascmhl verify` never calls them new.
Nothing is written for an offload that was interrupted, cancelled or is still running.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from datawrangler.core.hashing import ALGORITHMS, LIST_ALGORITHMS, REGISTRY, parse_algorithms
from datawrangler.handoff import ascmhl, legacy, lists, manifests
from datawrangler.handoff.common import CreatorInfo, make_folder, utc_now, write_atomic, xml_ok
from datawrangler.handoff.history import History, HistoryError, load
from datawrangler.store.handoff import FileRow, OffloadSummary, latest_reverify, offload_files, offload_summary
from datawrangler.store.handoff_names import (
    ALE_SUFFIX,
    ASCMHL_CHAIN,
    ASCMHL_FOLDER,
    CLIP_CSV_SUFFIX,
    CSV_SUFFIX,
    JSON_SUFFIX,
    LEGACY_MHL_SUFFIX,
    sidecar_name,
)

NOT_WRITTEN = ("running", "interrupted", "cancelled")
EDITORIAL_KINDS = ("ale", "clip_csv")  # written by handoff.editorial after the clips are read


@dataclass(frozen=True)
class HandoffOptions:
    ascmhl: bool = True
    legacy_mhl: bool = False
    checksum_lists: tuple[str, ...] = ()  # algorithms with a checksum list (core.hashing.LIST_ALGORITHMS)
    csv: bool = False
    json: bool = False
    ale: bool = False  # editorial: an Avid ALE of the roll's clips (written once the clips are read)
    clip_csv: bool = False  # editorial: a CSV of the roll's clips

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> HandoffOptions:
        """From a preset / settings object, e.g. {"legacy_mhl": true, "checksum_lists": "xxh64,md5"}."""
        data = dict(data or {})
        raw = data.get("checksum_lists") or ()
        algs = parse_algorithms(raw) if raw else ()
        bad = [a for a in algs if a not in LIST_ALGORITHMS]
        if bad:
            raise ValueError(f"No checksum list format for {', '.join(bad)}: choose from "
                             f"{', '.join(LIST_ALGORITHMS)}.")
        return cls(bool(data.get("ascmhl", True)), bool(data.get("legacy_mhl", False)), algs,
                   bool(data.get("csv", False)), bool(data.get("json", False)), bool(data.get("ale", False)),
                   bool(data.get("clip_csv", False)))


@dataclass
class HandoffResult:
    written: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def sidecar_names(roll: str, started_at: float, options: HandoffOptions, algorithms: Sequence[str]) -> dict[str, str]:
    """{kind: file name in the roll folder}; named by store.handoff_names, which `verify` also uses to tell
    these files from files that are not in the offload."""
    out: dict[str, str] = {}
    for alg in options.checksum_lists:
        if alg in algorithms:
            out[f"list:{alg}"] = sidecar_name(roll, started_at, REGISTRY[alg].list_suffix)
    if options.legacy_mhl:
        out["legacy"] = sidecar_name(roll, started_at, LEGACY_MHL_SUFFIX)
    if options.csv:
        out["csv"] = sidecar_name(roll, started_at, CSV_SUFFIX)
    if options.json:
        out["json"] = sidecar_name(roll, started_at, JSON_SUFFIX)
    if options.ale:
        out["ale"] = sidecar_name(roll, started_at, ALE_SUFFIX)
    if options.clip_csv:
        out["clip_csv"] = sidecar_name(roll, started_at, CLIP_CSV_SUFFIX)
    return out


def _digests(f: FileRow, dest_id: int) -> dict[str, str]:
    c = f.copies[dest_id]
    return {**f.digests, **c.digests}


def _faithful_failure(f: FileRow, dest_id: int) -> bool:
    """A copy recorded failed although it was read back equal to the card's file (the card's file itself no
    longer matches the card's own history: handoff.source). Its generation entry says `failed`: the reference
    and any post house then see what the catalog says."""
    c = f.copies.get(dest_id)
    if c is None or c.state != "failed" or not c.digests or not f.digests:
        return False
    common = [a for a in f.digests if a in c.digests]
    return bool(common) and all(c.digests[a] == f.digests[a] for a in common)


def transplant(source: History, roll: str) -> History | None:
    """Continue a source's history at a destination: its manifests, byte for byte, and its chain."""
    folder = os.path.join(roll, ASCMHL_FOLDER)
    make_folder(folder)
    names = [link.path for link in source.chain] or [g.filename for g in source.generations]
    for name in names:
        if os.path.basename(name) != name:  # a second guard: load() refuses such names already
            continue
        src = os.path.join(source.folder, name)
        dst = os.path.join(folder, name)
        if os.path.isfile(src) and not os.path.exists(dst):
            with open(src, "rb") as fh:
                write_atomic(dst, fh.read())
    chain = os.path.join(source.folder, ASCMHL_CHAIN)
    if os.path.isfile(chain):
        with open(chain, "rb") as fh:
            write_atomic(os.path.join(folder, ASCMHL_CHAIN), fh.read())
    return load(roll)


def write_handoff(db: Database, offload_id: int, options: HandoffOptions | None = None, *,
                  now: dt.datetime | None = None, creator: CreatorInfo | None = None,
                  source_history: History | None = None) -> HandoffResult:
    """Write the handoff files of a finished offload into each of its destination rolls."""
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
    files = list(offload_files(db, offload_id))
    card_paths = {f.rel_path for f in files}
    size_only = summary.verify_mode == "size"
    for dest in summary.destinations:
        roll = dest.path
        if not os.path.isdir(roll):
            result.warnings.append(f"{roll} is not there (drive disconnected?): no handoff files written to it.")
            continue
        try:
            _write_roll(db, summary, dest.id, roll, files, card_paths, options, now, creator, source_history,
                        size_only, result)
        except OSError as exc:
            result.warnings.append(f"Could not write the handoff files into {roll} ({exc.strerror or exc}). The "
                                   "copies are not affected; write them again with 'datawrangler mhl-write "
                                   f"{offload_id}' once the drive is writable.")
    return result


def _write_roll(db: Database, summary: OffloadSummary, dest_id: int, roll: str, files: list[FileRow],
                card_paths: set[str], options: HandoffOptions, now: dt.datetime, creator: CreatorInfo,
                source_history: History | None, size_only: bool, result: HandoffResult) -> None:
    del db
    verified = [f for f in files if (c := f.copies.get(dest_id)) is not None and c.state == "verified"]
    names = sidecar_names(roll, summary.started_at, options, summary.algorithms)
    written_names: list[str] = []
    for kind, name in names.items():
        if name in card_paths:
            if kind not in EDITORIAL_KINDS:  # handoff.editorial says it when it comes to write the file
                result.warnings.append(f"{roll}: the card has a file named {name}; the {kind} file was not "
                                       "written.")
            continue
        if kind in EDITORIAL_KINDS:
            written_names.append(name)  # not yet written (handoff.editorial), but ignored by this generation
            continue
        if size_only and kind != "csv" and kind != "json":
            result.warnings.append(f"{roll}: verify mode 'size': no copy was read back, so no {kind} list "
                                   "was written.")
            continue
        data: bytes
        if kind.startswith("list:"):
            alg = kind[5:]
            data, left_out = lists.render_list(alg, ((f.rel_path, _digests(f, dest_id)) for f in verified))
            result.warnings += [f"{roll}: {p!r} cannot be written in a checksum list; check it by other means."
                                for p in left_out]
        elif kind == "legacy":
            data = legacy.render(((f.rel_path, f.size, f.mtime_ns, _digests(f, dest_id),
                                   f.copies[dest_id].verified_at) for f in verified if xml_ok(f.rel_path)),
                                 creator, summary.started_at, summary.ended_at or now)
        elif kind == "csv":
            data = manifests.render_csv(summary, files)
        else:
            data = manifests.render_json(summary, files)
        path = os.path.join(roll, name)
        write_atomic(path, data)
        result.written.append(path)
        written_names.append(name)
    if not options.ascmhl:
        return
    if size_only:
        result.warnings.append(f"{roll}: verify mode 'size': no copy was read back, so no ASC MHL generation "
                               "was written.")
        return
    try:
        history = load(roll)
        if history is None and source_history is not None:
            history = transplant(source_history, roll)
    except HistoryError as exc:
        result.warnings.append(f"{roll}: {exc} No ASC MHL generation was added to it.")
        return
    entries = []
    listed = [f for f in files if (c := f.copies.get(dest_id)) is not None
              and (c.state == "verified" or _faithful_failure(f, dest_id))]
    for f in listed:
        if not xml_ok(f.rel_path):
            result.warnings.append(f"{roll}: {f.rel_path!r} cannot be written in XML; it is not in the ASC MHL.")
            continue
        c = f.copies[dest_id]
        acts = ascmhl.actions(history, f.rel_path, _digests(f, dest_id))
        if c.state != "verified" and not any(act == "failed" for _, _, act in acts):
            continue  # a failed copy is only listed to say that it differs from the history
        if not acts:
            result.warnings.append(f"{roll}: {f.rel_path!r}: the ASC MHL history records it with other hash "
                                   "algorithms only; it is not in the new generation.")
            continue
        entries.append(ascmhl.Entry(f.rel_path, f.size, f.mtime_ns, tuple(
            ascmhl.Hash(a, v, act, c.verified_at) for a, v, act in acts)))
    if not entries:
        result.warnings.append(f"{roll}: no file is verified there: no ASC MHL generation was written.")
        return
    ignore = [*(history.latest_ignore() if history else ()), *summary.ignore,
              *(ascmhl.ignore_pattern(n) for n in written_names)]
    result.written.append(ascmhl.write_generation(roll, entries, creator=creator, process="transfer",
                                                  ignore=ignore, now=now, history=history))


def write_reverify_generations(db: Database, rolls: Sequence[str], destination_ids: Mapping[str, Sequence[int]], *,
                               now: dt.datetime | None = None, creator: CreatorInfo | None = None) -> HandoffResult:
    """After a re-verify: in each roll that has an ASC MHL history, a generation (process `in-place`) with
    the files read back: `verified` where they matched, `failed` where they changed. Missing or unreadable
    files are not listed (nothing was hashed)."""
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
        entries = []
        for r in latest_reverify(db, destination_ids.get(roll, ())):
            if r.result not in ("verified", "changed") or not r.digests or not xml_ok(r.rel_path):
                continue
            acts = ascmhl.actions(history, r.rel_path, {a: v for a, v in r.digests.items() if a in ALGORITHMS})
            if r.result == "changed" and any(act == "original" for _, _, act in acts):
                continue  # changed against the catalog, but the history never knew it: nothing to vouch for
            if acts:
                entries.append(ascmhl.Entry(r.rel_path, r.size, r.mtime_ns,
                                            tuple(ascmhl.Hash(a, v, act, r.at) for a, v, act in acts)))
        if not entries:
            continue
        try:
            result.written.append(ascmhl.write_generation(roll, entries, creator=creator, process="in-place",
                                                          ignore=history.latest_ignore(), now=now, history=history))
        except OSError as exc:
            result.warnings.append(f"Could not add a generation to {roll} ({exc.strerror or exc}).")
    return result
