"""Running one offload, the one way every front end runs it (`datawrangler offload`/`resume`, the window,
auto-offload):

1. open the catalog; offloads whose process died are marked interrupted;
2. a new offload: its plan from the request, the card's own ASC MHL history (each file checked against it
   before the catalog records it: one that differs is failed, never verified; its chain continued),
   preflight (refused before a byte moves), recognition, its catalog row (a known card continues its
   lineage; incremental copies only what is new). A resume: the plan and the verified pairs from the catalog,
   the same history check and preflight;
3. the recorded run (app.recorded): the engine, every result streamed into the catalog;
4. the handoff files into each roll (ASC MHL, lists, manifests), from the catalog;
5. the clips, read from a verified copy (app.clips), then the editorial files (ALE, clip CSV) the preset asks for;
6. the offload report into the reports folder, from the catalog;
7. the verdict, safe to format or why not, asked of the catalog once.

What happens is told through an `Observer` (progress, file results, notices). Raises `Refused` (an
OffloadError) when preflight refuses, OffloadError/CatalogError when the offload cannot begin.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from datawrangler.app import spooled
from datawrangler.app.cascade import queue_after_stage1, run_stage2, stage2_targets
from datawrangler.app.catalog import catalog_file, catalog_location, open_db
from datawrangler.app.clips import ClipsRead, read_offload_clips
from datawrangler.app.outcome import Notice, Observer, OffloadOutcome, Refused, Started, Verdict
from datawrangler.app.recorded import run_recorded
from datawrangler.app.report_step import handoff_step, offload_report
from datawrangler.app.request import OffloadRequest, make_plan
from datawrangler.core.cards import CardInfo, default_reel, recognise
from datawrangler.core.errors import OffloadError
from datawrangler.core.events import OffloadControl, OffloadResult, OffloadState
from datawrangler.core.plan import OffloadPlan, Problem, preflight
from datawrangler.core.scan import ScanResult, scan_source
from datawrangler.core.words import agree, plural, when
from datawrangler.handoff.source import SourceHistory, prepare_source
from datawrangler.platform import keep_awake
from datawrangler.store import card_hold, cards, cascade, holders, offloads, redundancy, resume, session, spool
from datawrangler.store.db import Catalog, is_server
from datawrangler.store.liveness import mark_interrupted
from datawrangler.store.offloads import OffloadMeta, OffloadRecord

log = logging.getLogger(__name__)

# the clips are read once the copies ended this way (not for an interrupted or cancelled offload: a resume
# reads them when it ends)
READ_CLIPS_AFTER = (OffloadState.VERIFIED, OffloadState.COMPLETED_WITH_ERRORS)


def run_offload(req: OffloadRequest, control: OffloadControl | None = None, *,
                catalog: str | os.PathLike[str] | None = None, observer: Observer | None = None) -> OffloadOutcome:
    """Run the offload the request names, start to verdict (see the module docstring). With
    req.keep_awake the machine is kept from sleeping until it returns."""
    observer = observer or Observer()
    awake = keep_awake(f"Offloading {req.name}") if req.keep_awake else contextlib.nullcontext()
    with awake:
        where = catalog_location(catalog)
        if is_server(where):  # results this station kept while the server was away go first
            spooled.deliver(where, observer, on_error=lambda text: observer.warn(text, "catalog_offline"))
        path = catalog_file(where)  # where this station keeps its own things (the card holds, the thumbnails)
        db = open_db(where)
        try:
            mark_interrupted(db)
            if req.resume_id is not None and cascade.parent_of(db, req.resume_id) is not None:
                # judged and written as its stage 1 asked (store.cascade.stage2_asked), whoever resumes it
                return run_stage2(req.resume_id, control, catalog=where, observer=observer, report=req.report,
                                  keep_awake_=req.keep_awake)
            with contextlib.ExitStack() as held:  # the card's hold (store.card_hold), let go when it ends
                return _run(db, where, path, req, control or OffloadControl(), observer, held)
        finally:
            db.close()


@dataclass
class _Begun:
    plan: OffloadPlan
    scan: ScanResult
    record: OffloadRecord
    pairs: dict
    source: SourceHistory | None
    warnings: list[Problem]  # preflight's, said once the offload has its id
    known: cards.KnownCard | None = None  # what the catalog knew of this card before (a new offload)


def _preflight(plan: OffloadPlan, scan: ScanResult) -> list[Problem]:
    """Raises Refused; returns the warnings, said once the offload has its id."""
    pf = preflight(plan, scan)
    if not pf.ok:
        raise Refused(tuple(pf.errors))
    return list(pf.warnings)


def _hold(db: Catalog, path: Path, held: contextlib.ExitStack, plan: OffloadPlan, card: CardInfo
          ) -> card_hold.CardHold:
    """Hold the card before its catalog row exists: another instance offloading it now refuses this one
    (OffloadError naming who), which then has recorded nothing."""
    return held.enter_context(card_hold.hold_card(path, card.fingerprint, source=plan.source,
                                                  rolls=plan.destinations, db=db))


def _begin_new(db: Catalog, path: Path, req: OffloadRequest, held: contextlib.ExitStack) -> _Begun:
    plan, source = prepare_source(make_plan(req))
    scan = scan_source(plan.source, plan.ignore)
    warnings = _preflight(plan, scan)
    card = recognise(plan.source, scan=scan)
    hold = _hold(db, path, held, plan, card)
    reel = req.reel or card.reel or default_reel(plan.source)
    meta = OffloadMeta(project=req.project or req.settings.production or None, reel=reel,
                       camera=req.camera or (card.camera_letter if reel == card.reel else None),
                       operator=req.operator or req.settings.operator or None,
                       vendor=req.vendor or _vendor(card), shooting_day=req.shooting_day, location=req.location,
                       station=req.settings.station_name, site=req.settings.site_name)
    begun = session.begin(db, plan, scan, card.fingerprint, meta, incremental=req.incremental)
    hold.record(begun.record.offload_id)
    if req.stage2:  # a cascading copy: the stage-2 drives, recorded now so a resume of stage 1 queues them too
        cascade.set_stage2(db, begun.record.offload_id,
                           stage2_targets(plan.destinations[0], req.dest_roots[0], req.stage2),
                           copies_required=req.copies_required, rule=req.rule,
                           handoff=None if req.handoff is None else dataclasses.asdict(req.handoff))
    return _Begun(plan, scan, begun.record, begun.pairs, source, warnings, begun.known)


def _begin_resume(db: Catalog, path: Path, req: OffloadRequest, held: contextlib.ExitStack) -> _Begun:
    assert req.resume_id is not None
    info = resume.load(db, req.resume_id)
    plan, source = prepare_source(info.plan)
    scan = scan_source(plan.source, plan.ignore)
    warnings = _preflight(plan, scan)
    card = recognise(plan.source, scan=scan)
    _hold(db, path, held, plan, card).record(info.offload_id)
    pairs = info.pairs(db)
    record = offloads.reopen_offload(db, info.offload_id, plan, scan)
    cards.record_vendor(db, info.card_id, _vendor(card))  # an offload begun before its card was recognised has none
    return _Begun(plan, scan, record, pairs, source, warnings)


def _vendor(card: CardInfo) -> str | None:
    return None if card.generic else card.vendor


def _say_known(db: Catalog, known: cards.KnownCard, req: OffloadRequest, observer: Observer) -> None:
    red = redundancy.card_redundancy(db, known.card_id, req.protection)
    reel = known.reel or "an unnamed card"
    if known.exact:
        text = (f"This card was already offloaded as {reel} on {when(known.last_offload_at)} (offload "
                f"{known.last_offload_id}): {plural(red.min_disks, 'verified copy')} on distinct drives"
                f"{' (safe to format)' if red.safe else ''}.")
    else:
        text = (f"This card was offloaded before as {reel} on {when(known.last_offload_at)} (offload "
                f"{known.last_offload_id}); {plural(known.new_or_changed, 'file')} "
                f"{agree(known.new_or_changed, 'is', 'are')} new or changed since.")
    text += (" Copying only new or changed files (incremental)." if req.incremental
             else " Copying every file again (incremental would copy only new or changed files).")
    observer.say("known_card", text, card_id=known.card_id, exact=known.exact,
                 previous_offload=known.last_offload_id, verified_copies=red.min_disks,
                 new_or_changed=known.new_or_changed)


def _run(db: Catalog, where: str, path: Path, req: OffloadRequest, control: OffloadControl, observer: Observer,
         held: contextlib.ExitStack) -> OffloadOutcome:
    begun = _begin_resume(db, path, req, held) if req.resume_id is not None else _begin_new(db, path, req, held)
    plan, scan, record, source = begun.plan, begun.scan, begun.record, begun.source
    if observer.started is not None:
        observer.started(Started(record.offload_id, plan.source, tuple(plan.destinations), len(scan.files),
                                 scan.total_bytes, tuple(plan.algorithms), plan.verify_mode.value))
    for code, text in req.notes:
        observer.warn(text, code)
    for w in begun.warnings:
        observer.warn(w.message, w.code.value, path=w.path)
    if begun.known is not None:
        _say_known(db, begun.known, req, observer)
    elif req.incremental and req.resume_id is None:
        observer.warn("This card is not in the catalog: copying every file (incremental needs an earlier "
                      "offload of it).", "incremental")

    written: list[str] = []

    def after_finish(offload_id: int, result: OffloadResult) -> None:
        written.extend(_handoff(db, offload_id, req, source, scan, observer))

    try:
        result = run_recorded(db, where, plan, scan, record, pairs=begun.pairs, control=control,
                              on_progress=observer.progress, on_file=observer.result, after_finish=after_finish,
                              check=source.check if source is not None else None)
    except spooled.CatalogOffline as offline:
        return _offline(record.offload_id, offline, req, observer)
    except OffloadError as exc:  # a roll folder another offload holds (the engine's lock): say whose
        named = holders.name_roll_holder(db, exc)
        if named is exc:
            raise
        raise named from None
    for said in result.warnings:  # what the engine found on the way (a drive that cannot sync a folder)
        observer.warn(said.message, said.code, path=said.path)
    clips = None
    if req.clips is not None and result.state in READ_CLIPS_AFTER:
        clips = _clips(db, path, record.offload_id, req, control, observer)
        if clips is not None and req.handoff is not None:
            written.extend(_editorial(db, record.offload_id, req, observer))
    queued = _queue_stage2(db, record.offload_id, result, observer)  # before the report, which names it
    reports = offload_report(db, record.offload_id, req.copies_required, observer, req.settings.report_paper) \
        if req.report else []
    card_id = session.card_of(db, record.offload_id)
    red = redundancy.card_redundancy(db, card_id, req.protection)
    return OffloadOutcome(record.offload_id, result, Verdict(red.safe, red.min_disks, tuple(red.reasons),
                                                             red.rule.name, red.sentence), card_id,
                          req.copies_required, tuple(written), tuple(reports), clips,
                          released=cascade.released_at(db, record.offload_id) is not None, stage2=queued)


def _offline(offload_id: int, offline: spooled.CatalogOffline, req: OffloadRequest, observer: Observer
             ) -> OffloadOutcome:
    """The server went away during the offload: the copies are what the engine says, the results wait in the
    spool, and the card is not called safe until they are delivered (app.spooled), when the handoff files and
    the report asked for here are written."""
    try:
        spool.set_after(offline.spool, spooled.After(req.handoff, req.report, req.copies_required,
                                                     req.settings.report_paper))
    except Exception:  # the results are kept; only the handoff and report at delivery would be missed: said
        log.exception("could not keep the after-delivery steps of offload %s", offload_id)
        observer.warn("The handoff files and the report could not be planned for the delivery: write them once "
                      f"the results are delivered ('datawrangler mhl write', 'datawrangler report offload "
                      f"{offload_id}').", "catalog_offline")
    observer.warn(str(offline), "catalog_offline")
    rule = req.protection
    return OffloadOutcome(offload_id, offline.result, Verdict(False, 0, (str(offline),), rule.name), None,
                          req.copies_required)


def _queue_stage2(db: Catalog, offload_id: int, result: OffloadResult, observer: Observer) -> tuple[int, ...]:
    """A stage-1 offload of a cascading copy that ended verified: the card is released, stage 2 queued."""
    queued = queue_after_stage1(db, offload_id, result)
    for job in filter(None, (cascade.job(db, oid) for oid in queued)):
        to = ", ".join(job.destinations)
        observer.say("released", f"RELEASED: every file is verified on the stage-1 drive; the card may leave the "
                     f"reader. It is not safe to format until stage 2 ({plural(job.files, 'file')} from "
                     f"{job.source} to {to}) is verified: stage-2 offload {job.offload_id} is queued.",
                     offload_id=offload_id, stage2=job.offload_id, source=job.source,
                     destinations=list(job.destinations))
    return queued


def _clips(db: Catalog, path: Path, offload_id: int, req: OffloadRequest, control: OffloadControl,
           observer: Observer) -> ClipsRead | None:
    """The offload's clips, read from a verified copy (app.clips). A failure here is said and never changes
    how the offload ended: the copies are verified whatever the clips' metadata says."""
    assert req.clips is not None
    observer.say("clips", "Reading the clips' metadata and thumbnails from a verified copy...")
    try:
        found = read_offload_clips(db, path, offload_id, req.clips, cancelled=lambda: control.cancelled)
    except Exception as exc:  # a reader bug must not cost the report or the verdict: said, logged
        log.exception("reading the clips of offload %s failed", offload_id)
        observer.warn(f"The clips could not be read ({type(exc).__name__}: {exc}). The copies are not affected; "
                      f"read them again with 'datawrangler clips {offload_id} --read'.", "clips")
        return None
    observer.say("clips", found.summary + ".", "warning" if found.warnings else "info", clips=found.clips,
                 damaged=found.damaged, with_gaps=found.with_gaps, not_read=found.not_read,
                 unavailable=found.unavailable, running_time=found.running_time)
    for text in found.warnings:
        observer.warn(text, "clip_flagged" if text.startswith("Clip ") else "thumbnails")
    return found


def _editorial(db: Catalog, offload_id: int, req: OffloadRequest, observer: Observer) -> list[str]:
    """The editorial handoff (ALE, clip CSV) into each roll, when the preset asks, once the clips are read."""
    assert req.handoff is not None
    if not (req.handoff.ale or req.handoff.clip_csv):
        return []
    from datawrangler.handoff.editorial import write_editorial

    try:
        out = write_editorial(db, offload_id, req.handoff)
    except (OSError, ValueError) as exc:
        observer.warn(f"The editorial files (ALE, clip CSV) could not be written ({exc}). The copies are not "
                      f"affected: write them with 'datawrangler ale {offload_id} -o FILE'.", "handoff")
        return []
    for w in out.warnings:
        observer.warn(w, "handoff")
    if out.written:
        observer.say("handoff", f"editorial files written: {len(out.written)}", paths=out.written)
    return list(out.written)


def _handoff(db: Catalog, offload_id: int, req: OffloadRequest, source: SourceHistory | None, scan: ScanResult,
             observer: Observer) -> list[str]:
    """The handoff files into each roll (none for an interrupted or cancelled offload: the writer says so),
    then what the card's own ASC MHL history check found."""
    written = [] if req.handoff is None else \
        handoff_step(db, offload_id, req.handoff, observer, source.history if source else None)
    if source is not None:
        source.finish(f.rel_path for f in scan.files)
        rep = source.report()
        observer.say("source_history", f"source ASC MHL history ({plural(rep.generations, 'generation')}): "
                     f"{rep.matched} of {plural(rep.checked, 'file')} {agree(rep.matched, 'matches', 'match')}"
                     + ("" if rep.ok else f", {plural(len(rep.mismatches), 'MISMATCH')}, {len(rep.missing)} missing"),
                     "info" if rep.ok else "warning", ok=rep.ok, matched=rep.matched, checked=rep.checked,
                     mismatches=rep.mismatches, failed=sorted(rep.failed), missing=rep.missing, new=rep.new,
                     problems=rep.problems)
        for p, what in rep.mismatches:  # a file failed for it (rep.failed) also says why with the failures
            observer.warn(f"{p} differs from the source's ASC MHL history: {what}", "source_mismatch", path=p)
        for p in rep.missing:
            observer.warn(f"{p} is in the source's ASC MHL history but not on the source", "source_missing", path=p)
        for problem in rep.problems:
            observer.warn(problem, "source_history")
    return written


__all__ = ["Notice", "Observer", "OffloadOutcome", "OffloadState", "Refused", "Started", "Verdict", "open_db",
           "run_offload"]
