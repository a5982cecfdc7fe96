"""Cascading copy: the card goes to fast stage-1 drives, is released as soon as they hold it verified, and a
stage-2 offload then copies a verified stage-1 copy to the slower drives (store.cascade holds the model).

Stage 2 never trusts the copy it reads: its pages are dropped before each file is read (the plan's
`source_uncached`: the bytes come from the drive), and each file's digests are compared with the digests taken
from the card before its copy is given the card's name; a file that differs fails (`stage_source_mismatch`:
copy it again from the card), and no copy of it is left on the stage-2 drives. Its own writes are read back
from the medium like any other copy. The stage-1 roll's ASC MHL history is checked too, and continued into
each stage-2 roll. The card counts as safe to format once enough verified copies exist on distinct drives,
stage 1 and stage 2 alike.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Mapping

from datawrangler import platform
from datawrangler.app.catalog import catalog_file, catalog_location, open_db
from datawrangler.app.outcome import Observer, OffloadOutcome, Refused, Started, Verdict
from datawrangler.app.recorded import run_recorded
from datawrangler.app.report_step import handoff_step, offload_report
from datawrangler.config import load_settings_leniently
from datawrangler.core.errors import Code, OffloadError
from datawrangler.core.events import (
    CopyState,
    FileResult,
    FileStatus,
    OffloadControl,
    OffloadResult,
    OffloadState,
    VerifyMode,
)
from datawrangler.core.plan import OffloadPlan, preflight
from datawrangler.core.presets import protection_rule
from datawrangler.core.protection import Rule
from datawrangler.core.words import agree, plural
from datawrangler.handoff.source import prepare_source
from datawrangler.handoff.writer import HandoffOptions
from datawrangler.platform import keep_awake
from datawrangler.store import card_hold, cascade, liveness, redundancy, resume, session
from datawrangler.store.db import Catalog, CatalogError
from datawrangler.store.offloads import reopen_offload
from datawrangler.store.resume import verified_pairs

Stage2Job = cascade.Stage2Job
_ASCMHL = HandoffOptions()  # the handoff of a stage-2 copy whose stage 1 recorded none: the ASC MHL
AS_ASKED = "as asked"  # run_stage2: the handoff files its stage 1 asked for


def stage2_targets(roll_folder: str, stage1_root: str, stage2_roots: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(root, roll folder) per stage-2 drive: the stage-1 roll's path under its root, under each stage-2 root."""
    rel = os.path.relpath(roll_folder, os.path.abspath(stage1_root))
    return tuple((os.path.abspath(r), os.path.join(os.path.abspath(r), rel)) for r in stage2_roots)


def stage2_plan(parent: OffloadPlan, source_roll: str, rolls: tuple[str, ...]) -> OffloadPlan:
    """Stage 2 reads `source_roll` once (verify mode destinations: the bytes hashed are the drive's and are
    compared with the card's) and writes each roll folder; every other engine setting as stage 1 had it."""
    return dataclasses.replace(parent, source=source_roll, destinations=rolls, verify_mode=VerifyMode.DESTINATIONS,
                               ignore=(), source_uncached=True)


def queue_after_stage1(db: Catalog, offload_id: int, result: OffloadResult) -> tuple[int, ...]:
    """Once a stage-1 offload ended: when it asked for stage 2 and ended VERIFIED, the card is released and
    the stage-2 offload is queued (once: an offload that queued it already queues nothing). Returns the
    stage-2 offload ids queued now."""
    rolls = cascade.stage2_rolls(db, offload_id)
    if not rolls or result.state is not OffloadState.VERIFIED or cascade.children(db, offload_id):
        return ()
    plan = resume.plan_of(db, offload_id)
    copies = [c for c in cascade.stage1_copies(db, offload_id) if c.verified]
    if plan is None or not copies:
        return ()
    best = copies[0]
    return (cascade.queue(db, offload_id, best, stage2_plan(plan, best.path, rolls), released=result.ended_at),)


def pending_stage2(catalog: str | os.PathLike[str] | None = None) -> list[Stage2Job]:
    """The stage-2 copies still to run (queued, interrupted by a crash, cancelled by a quit), oldest first."""
    db = open_db(catalog)
    try:
        liveness.mark_interrupted(db)
        return cascade.pending(db)
    finally:
        db.close()


def card_check(expected: Mapping[str, Mapping[str, str]], source: str, rolls: tuple[str, ...],
               found: list[cascade.Stage1Finding] | None = None) -> Callable[[FileResult], FileResult]:
    """The check of each stage-2 file against the card's digests: a file read from the stage-1 copy whose
    digests differ (or cannot be compared) comes back failed, each copy too, so it is never recorded verified,
    and said of the stage-1 copy. The engine already refused to give such a copy its name (run_recorded's
    `expected`: it compares before the commit); a copy of it found under the card's name in `rolls` anyway is
    removed, so no drive holds a copy of a copy that differs from the card under the card's name. A file the
    stage-1 drive could not give (gone, unreadable, the drive itself still there) is said of the stage-1 copy,
    not of a card reader. Each such file goes into `found`: its stage-1 copy no longer counts
    (store.cascade.mark_stage1)."""
    def check(f: FileResult) -> FileResult:
        if f.status is FileStatus.FAILED and f.code is Code.SOURCE_READ_ERROR:
            return _unreadable(f, source, found)
        if not f.digests:
            return f
        card = expected.get(f.rel_path, {})
        common = [a for a in card if a in f.digests]
        differ = [f"{a}: card {card[a]}, stage-1 copy {f.digests[a]}" for a in common if card[a] != f.digests[a]]
        if common and not differ:
            return f
        why = "; ".join(differ) if differ else "no hash taken from the card to compare with"
        left = [p for p in (_remove(rolls[c.destination], f.rel_path) for c in f.copies
                            if c.state is not CopyState.FAILED and not c.already_present) if p]
        message = (f"{f.rel_path} on the stage-1 copy {source} does not match the card ({why}). {_AGAIN}"
                   + (f" Remove {', '.join(left)} by hand: it could not be removed." if left else ""))
        if differ and found is not None:
            found.append(cascade.Stage1Finding(f.rel_path, "changed", Code.STAGE_SOURCE_MISMATCH.value, message,
                                               dict(f.digests)))
        return _failed(f, Code.STAGE_SOURCE_MISMATCH, message)
    return check


_AGAIN = "It was not copied on. Copy it again from the card (do not format the card), and check the stage-1 drive."


def _failed(f: FileResult, code: Code, message: str) -> FileResult:
    """The file failed with `code` and `message`, and each of its copies (one that failed of its own, e.g. a
    shuttle write error, keeps its own failure; one failed for the file's own cause takes the new words)."""
    copies = tuple(c if c.state is CopyState.FAILED and c.code not in (None, f.code) else
                   dataclasses.replace(c, state=CopyState.FAILED, code=code, message=message) for c in f.copies)
    return dataclasses.replace(f, status=FileStatus.FAILED, code=code, message=message, copies=copies)


def _unreadable(f: FileResult, source: str, found: list[cascade.Stage1Finding] | None) -> FileResult:
    """A stage-1 file the engine could not read: said of the stage-1 copy; missing or unreadable there. When
    the stage-1 folder itself is gone (the drive unplugged) nothing is judged: the copy is resumed later."""
    if not os.path.isdir(source):
        return f
    path = os.path.join(source, *f.rel_path.split("/"))
    gone = not os.path.lexists(path)
    detail = "it is not there any more" if gone else (f.message.rsplit("(", 1)[-1].rstrip(")") or "read error")
    message = f"{f.rel_path} could not be read on the stage-1 copy {source} ({detail}). {_AGAIN}"
    if found is not None:
        found.append(cascade.Stage1Finding(f.rel_path, "missing" if gone else "unreadable",
                                           Code.VERIFY_READ_ERROR.value, message))
    return _failed(f, Code.SOURCE_READ_ERROR, message)


def _remove(roll: str, rel_path: str) -> str | None:
    """Remove a copy stage 2 just wrote of a file that does not match the card; its path when that failed."""
    path = os.path.join(roll, *rel_path.split("/"))
    try:
        os.unlink(path)
    except FileNotFoundError:
        return None
    except OSError:
        return path
    with contextlib.suppress(OSError):
        platform.sync_dir(os.path.dirname(path))
    return None


def _both(first: Callable[[FileResult], FileResult],
          then: Callable[[FileResult], FileResult] | None) -> Callable[[FileResult], FileResult]:
    return first if then is None else (lambda f: then(first(f)))


def run_stage2(offload_id: int, control: OffloadControl | None = None, *,
               catalog: str | os.PathLike[str] | None = None, observer: Observer | None = None,
               handoff: HandoffOptions | str | None = AS_ASKED, report: bool = True,
               copies_required: int | None = None, keep_awake_: bool = False,
               paper: str | None = None, rule: str | None = None) -> OffloadOutcome:
    """Run (or resume) the stage-2 offload `offload_id` to its verdict. The copies required and the handoff
    files are those its stage 1 asked for (store.cascade.stage2_asked; else 2 and the ASC MHL) unless given;
    the protection rule (`rule`: '3-2-1', or '' for the copies on distinct drives) too; the reports' paper is the
    settings' (`report_paper`) unless given.
    OffloadError when it cannot start (the stage-1 copy is not there, preflight refuses), CatalogError when it
    is not a stage-2 offload or is running elsewhere."""
    observer = observer or Observer()
    awake = keep_awake(f"Stage 2 of offload {offload_id}") if keep_awake_ else contextlib.nullcontext()
    with awake:
        where = catalog_location(catalog)
        db = open_db(where)
        try:
            liveness.mark_interrupted(db)
            asked = cascade.stage2_asked(db, offload_id)
            if copies_required is None:
                copies_required = asked.copies_required if asked else 2
            if rule is None:
                rule = asked.rule if asked else ""
            protection = protection_rule(copies_required, rule)
            if isinstance(handoff, str):  # AS_ASKED
                handoff = _ASCMHL if asked is None else (
                    None if asked.handoff is None else HandoffOptions.from_mapping(asked.handoff))
            if paper is None:  # a settings file that cannot be read does not stop stage 2: its defaults
                paper = load_settings_leniently()[0].report_paper
            with contextlib.ExitStack() as held:  # the stage-2 copy's hold: one process runs it at a time
                return _run(db, where, offload_id, control or OffloadControl(), observer, handoff,
                            paper if report else None, copies_required, held, protection)
        finally:
            db.close()


def _make_parents(folder: str) -> list[str]:
    """Make `folder` and its missing parents; the folders made, deepest last. Preflight measures the drive at
    the roll's parent; a folder that cannot be made is left for preflight to report."""
    missing: list[str] = []
    at = os.path.abspath(folder)
    while at and not os.path.exists(at):
        missing.append(at)
        parent = os.path.dirname(at)
        if parent == at:
            break
        at = parent
    made: list[str] = []
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except OSError:
            break
        made.append(path)
    return made


def _remove_empty(folders: list[str]) -> None:
    """Remove the folders this run made (deepest first) while they are still empty."""
    for path in reversed(folders):
        with contextlib.suppress(OSError):
            os.rmdir(path)


def _check_startable(db: Catalog, job: Stage2Job | None, offload_id: int) -> Stage2Job:
    if job is None:
        raise CatalogError(f"Offload {offload_id} is not a stage-2 copy. 'datawrangler stage2' lists them.")
    if job.state == "running":
        resume.load(db, offload_id)  # raises when its process still runs
    if job.state == "verified" and not resume.handoff_missing(db, offload_id):
        raise CatalogError(f"Stage-2 offload {offload_id} is already verified: nothing to run. 'datawrangler "
                           "verify' re-reads its copies.")
    if not os.path.isdir(job.source):
        drive = job.made_from_label or "its drive"
        raise OffloadError(Code.SOURCE_MISSING, f"The stage-1 copy {job.source} (on {drive}) is not there: connect "
                           f"that drive, then run 'datawrangler stage2 run {offload_id}'. The card is not safe to "
                           "format until stage 2 is verified.", path=job.source)
    return job


def _run(db: Catalog, catalog: str, offload_id: int, control: OffloadControl, observer: Observer,
         handoff: HandoffOptions | None, paper: str | None, required: int,
         held: contextlib.ExitStack, protection: Rule | None = None) -> OffloadOutcome:
    """`paper` None: no report."""
    job = _check_startable(db, cascade.job(db, offload_id), offload_id)
    recorded = resume.plan_of(db, offload_id)
    assert recorded is not None  # job() found its row
    plan, history = prepare_source(recorded)
    made: list[str] = []  # the roll's parents made here, on a drive that is there
    for root, roll in cascade.stage2_targets(db, job.cascade_of):
        if roll in plan.destinations and os.path.isdir(root):  # a missing drive stays missing: preflight says so
            made += _make_parents(os.path.dirname(roll))
    scan = cascade.scan_of(db, offload_id)
    pf = preflight(plan, scan)
    if not pf.ok:  # the drives of a queued copy are not chosen again: say what it means and how to go on
        _remove_empty(made)  # a refused stage 2 leaves the drives as it found them
        *rest, last = pf.errors
        raise Refused((*rest, dataclasses.replace(last, message=last.message + (
            f" Stage 2 of offload {job.cascade_of} did not start: the card is not safe to format until it is "
            f"verified. Once this is fixed, run 'datawrangler stage2 run {offload_id}'."))))
    # another instance running this stage-2 copy now refuses this one (card_busy, naming it) before it records
    hold = held.enter_context(card_hold.hold_card(catalog_file(catalog), "stage2-" + job.uuid.replace("-", ""),
                                                  source=plan.source, rolls=plan.destinations, db=db))
    job = _check_startable(db, cascade.job(db, offload_id), offload_id)  # as it is now that it is held
    hold.record(offload_id)
    record = reopen_offload(db, offload_id, plan, scan)
    if observer.started is not None:
        observer.started(Started(offload_id, plan.source, tuple(plan.destinations), len(scan.files), scan.total_bytes,
                                 tuple(plan.algorithms), plan.verify_mode.value))
    for w in pf.warnings:
        observer.warn(w.message, w.code.value, path=w.path)
    observer.say("stage2", f"Stage 2 of offload {job.cascade_of}: {plural(len(scan.files), 'file')} from the verified "
                 f"stage-1 copy {plan.source}, each checked against the card's hashes.", cascade_of=job.cascade_of)
    written: list[str] = []

    def after_finish(oid: int, result: OffloadResult) -> None:
        if handoff is not None:
            written.extend(handoff_step(db, oid, handoff, observer, history.history if history else None))

    found: list[cascade.Stage1Finding] = []  # stage-1 copies that no longer hold the card's file
    card = cascade.card_digests(db, offload_id)
    check = _both(card_check(card, plan.source, plan.destinations, found),
                  history.check if history is not None else None)
    result = run_recorded(db, catalog, plan, scan, record,
                          pairs=verified_pairs(db, plan.destinations, [offload_id]), control=control,
                          on_progress=observer.progress, on_file=observer.result, after_finish=after_finish,
                          check=check, expected=card.get)
    for said in result.warnings:
        observer.warn(said.message, said.code, path=said.path)
    if cascade.mark_stage1(db, offload_id, found):
        n = len(found)
        observer.warn(f"{plural(n, 'file')} on the stage-1 copy {plan.source} {agree(n, 'does', 'do')} not hold the "
                      f"card's file any more (changed, missing or unreadable): {agree(n, 'that copy', 'those copies')} "
                      f"no longer {agree(n, 'counts', 'count')} toward safe to format. Copy "
                      f"{agree(n, 'it', 'them')} again from the card, and check the stage-1 drive.",
                      found[0].code, path=plan.source)
    reports = offload_report(db, offload_id, required, observer, paper) if paper else []
    if paper:  # the stage-1 report filed at the release said NOT YET SAFE: filed again with stage 2 in it
        reports += offload_report(db, job.cascade_of, required, observer, paper)
    card_id = session.card_of(db, offload_id)
    red = redundancy.card_redundancy(db, card_id, protection or required)
    return OffloadOutcome(offload_id, result, Verdict(red.safe, red.min_disks, tuple(red.reasons), red.rule.name,
                                                      red.sentence), card_id,
                          required, tuple(written), tuple(reports), None, stage=2, cascade_of=job.cascade_of)
