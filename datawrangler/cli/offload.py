"""`offload` and `resume`: run the engine, record every result in the catalog, say what is safe."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from sqlite_utils import Database

from datawrangler.cli import handoff_cmds, report_cmd
from datawrangler.cli.common import (
    EXIT_FOR_STATE,
    EXIT_REFUSED,
    ProgressBar,
    emit,
    human_bytes,
    open_db,
    when,
)
from datawrangler.config import load_settings
from datawrangler.core.cards import CardInfo, recognise
from datawrangler.core.events import FileResult, FileStatus, OffloadControl, OffloadResult, ProgressEvent
from datawrangler.core.plan import OffloadPlan, preflight
from datawrangler.core.scan import ScanResult, scan_source
from datawrangler.core.words import agree, plural
from datawrangler.store import cards, offloads, redundancy, resume, session
from datawrangler.store.offloads import OffloadMeta, OffloadRecord


def _print_summary(out: TextIO, result: OffloadResult) -> None:
    out.write(f"\n{result.state.value.upper()}: {result.message}\n")
    out.write(f"  files: {result.files_verified} verified, {result.files_copied} copied (not verified), "
              f"{result.files_failed} failed, {result.files_skipped} skipped; {human_bytes(result.bytes_total)} "
              f"in {result.duration:.1f} s ({human_bytes(result.bytes_total / max(result.duration, 1e-6))}/s)\n")
    out.write(f"  hashes: {', '.join(result.algorithms)}; verify mode: {result.verify_mode.value}\n")
    for d in result.destinations:
        out.write(f"  {d.state:>22}  {d.path}  ({d.files_ok} ok, {d.files_failed} failed)"
                  + (f": {d.message}" if d.message else "") + "\n")
    for f in result.failures[:50]:
        out.write(f"  FAILED {f.rel_path}: {f.code.value if f.code else ''}: {f.message}\n")
    if len(result.failures) > 50:
        out.write(f"  … and {plural(len(result.failures) - 50, 'more failed file')}\n")
    for s in result.skipped[:20]:
        out.write(f"  skipped {s.rel_path}: {s.message}\n")


def _preflight(plan: OffloadPlan, scan: ScanResult, say: Callable[..., None]) -> list[Callable[[], None]]:
    """Errors are said at once; warnings come back, to be said once the offload has its id. [] and errors
    said: refused (the caller checks `ok` through the returned None)."""
    pf = preflight(plan, scan)
    for e in pf.errors:
        say("error", e.message, code=e.code.value, path=e.path)
    if not pf.ok:
        raise _Refused
    return [partial(say, "warning", w.message, code=w.code.value, path=w.path) for w in pf.warnings]


class _Refused(Exception):
    pass


def _sayer(args: argparse.Namespace, ids: dict[str, Any]) -> Callable[..., None]:
    def say(event: str, message: str, **data: Any) -> None:
        if args.json:
            emit(sys.stdout, event, **ids, message=message, **data)
        else:
            sys.stderr.write(f"{event}: {message}\n" if event in ("warning", "error") else message + "\n")
    return say


def cmd_offload(args: argparse.Namespace) -> int:
    settings = load_settings()
    ignore = () if args.no_default_ignore else settings.ignore
    plan = OffloadPlan.create(
        args.source, args.dest, roll_name=args.roll,
        algorithms=args.hash or settings.algorithms,
        verify_mode=args.verify or settings.verify_mode,
        ignore=tuple(ignore) + tuple(args.ignore or ()),
        retries=settings.retries if args.retries is None else args.retries,
        read_retries=settings.read_retries,
        chunk_size=settings.chunk_mib << 20,
        queue_depth=settings.queue_depth,
        overlap_verify=settings.overlap_verify,
    )
    plan, source_mhl = handoff_cmds.before_offload(plan)  # a source with an ASC MHL history is checked
    db, path = open_db(args)
    try:
        ids: dict[str, Any] = {}
        say = _sayer(args, ids)
        scan = scan_source(plan.source, plan.ignore)
        try:
            warnings = _preflight(plan, scan, say)
        except _Refused:
            return EXIT_REFUSED
        card = recognise(plan.source, scan=scan)
        fp = card.fingerprint
        reel = args.reel or card.reel
        meta = OffloadMeta(project=args.project or settings.production or None, reel=reel,
                           camera=args.camera or (card.camera_letter if reel == card.reel else None),
                           operator=args.operator or settings.operator or None, vendor=_vendor(card),
                           shooting_day=args.day, location=args.location or None)
        begun = session.begin(db, plan, scan, fp, meta, incremental=args.incremental)
        record, known, pairs = begun.record, begun.known, begun.pairs
        ids["offload_id"] = record.offload_id
        for warn in warnings:
            warn()
        if known is not None:
            _say_known(db, known, settings.copies_required, say, args.incremental)
        elif args.incremental:
            say("warning", "--incremental: this card is not in the catalog; copying every file.")
        return _run(args, db, path, plan, scan, record, pairs, settings.copies_required, ids, source_mhl)
    finally:
        db.close()


def _vendor(card: CardInfo) -> str | None:
    """The vendor to record, as the window and auto-offload record it: none for a card not recognised."""
    return None if card.generic else card.vendor


def _say_known(db: Database, known: cards.KnownCard, required: int, say: Callable[..., None],
               incremental: bool) -> None:
    red = redundancy.card_redundancy(db, known.card_id, required)
    reel = known.reel or "an unnamed card"
    if known.exact:
        text = (f"This card was already offloaded as {reel} on {when(known.last_offload_at)} (offload "
                f"{known.last_offload_id}): {plural(red.min_disks, 'verified copy')} on distinct drives"
                f"{' (safe to format)' if red.safe else ''}.")
    else:
        text = (f"This card was offloaded before as {reel} on {when(known.last_offload_at)} (offload "
                f"{known.last_offload_id}); {plural(known.new_or_changed, 'file')} "
                f"{agree(known.new_or_changed, 'is', 'are')} new or changed since.")
    text += (" Copying only new or changed files (--incremental)." if incremental
             else " Use --incremental to copy only new or changed files.")
    say("known_card", text, card_id=known.card_id, exact=known.exact, previous_offload=known.last_offload_id,
        verified_copies=red.min_disks, new_or_changed=known.new_or_changed)


def cmd_resume(args: argparse.Namespace) -> int:
    db, path = open_db(args)
    try:
        ids: dict[str, Any] = {"offload_id": args.offload}
        say = _sayer(args, ids)
        info = resume.load(db, args.offload)
        plan, source_mhl = handoff_cmds.before_offload(info.plan)
        scan = scan_source(plan.source, plan.ignore)
        try:
            for warn in _preflight(plan, scan, say):
                warn()
        except _Refused:
            return EXIT_REFUSED
        pairs = resume.verified_pairs(db, plan.destinations, [info.offload_id])
        record = offloads.reopen_offload(db, info.offload_id, plan, scan)
        with db.atomic():  # an offload begun before the CLI recognised cards has no vendor yet
            cards.fill_vendor(db, info.card_id, _vendor(recognise(plan.source, scan=scan)))
        return _run(args, db, path, plan, scan, record, pairs, load_settings().copies_required, ids, source_mhl)
    finally:
        db.close()


def _run(args: argparse.Namespace, db: Database, catalog: Path, plan: OffloadPlan, scan: ScanResult,
         record: OffloadRecord, pairs: dict, required: int, ids: dict[str, Any],
         source_mhl: handoff_cmds.SourceHistory | None = None) -> int:
    out, err = sys.stdout, sys.stderr
    ids["offload_id"] = record.offload_id
    js: Callable[..., None] | None = None
    if args.json:
        def js(event: str, **data: Any) -> None:
            emit(out, event, **ids, **data)
    if js:
        js("start", source=plan.source, destinations=list(plan.destinations), files=len(scan.files),
           bytes=scan.total_bytes, algorithms=list(plan.algorithms), verify_mode=plan.verify_mode.value)
    else:
        err.write(f"Offload {record.offload_id}: {plural(len(scan.files), 'file')} ({human_bytes(scan.total_bytes)}) "
                  f"from {plan.source}\n")
        for d in plan.destinations:
            err.write(f"  -> {d}\n")
    control = OffloadControl()
    previous = signal.signal(signal.SIGINT, lambda *_: control.cancel())
    bar = None if args.json or args.quiet else ProgressBar(err)

    def on_progress(e: ProgressEvent) -> None:
        if js:
            js("progress", phase=e.phase, files_done=e.files_done, files_total=e.files_total,
               bytes_read=e.bytes_read, bytes_total=e.bytes_total, fraction=round(e.fraction, 4),
               speed=round(e.speed), eta_seconds=None if e.eta_seconds is None else round(e.eta_seconds, 1),
               current_file=e.current_file, paused=e.paused,
               destinations=[{"path": d.path, "state": d.state, "bytes_written": d.bytes_written,
                              "bytes_verified": d.bytes_verified} for d in e.destinations])
        elif bar is not None:
            bar.update(e)

    def on_file(f: FileResult) -> None:
        if js:
            js("file", path=f.rel_path, size=f.size, status=f.status.value,
               code=f.code.value if f.code else None, message=f.message, digests=dict(f.digests),
               source_reverified=f.source_reverified,
               copies=[{"destination": plan.destinations[c.destination], "state": c.state.value,
                        "code": c.code.value if c.code else None, "already_present": c.already_present,
                        "cache_bypassed": c.cache_bypassed, "attempts": c.attempts} for c in f.copies])
        elif f.status is FileStatus.FAILED and bar is not None and bar.tty:
            err.write(f"\r\x1b[2KFAILED {f.rel_path}: {f.message}\n")

    def after_finish(offload_id: int, _result: OffloadResult) -> None:
        handoff_cmds.after_offload(db, offload_id, load_settings().extra.get("handoff"), source=source_mhl,
                                   scanned=[f.rel_path for f in scan.files], say=_sayer(args, ids))
        report_cmd.after_offload(db, offload_id, required=required, say=_sayer(args, ids))

    try:
        done = session.run_recorded(db, catalog, plan, scan, record, pairs=pairs, copies_required=required,
                                    control=control, on_progress=on_progress, after_finish=after_finish,
                                    on_file=source_mhl.wrap(on_file) if source_mhl else on_file)
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
    result = done.result
    code = EXIT_FOR_STATE[result.state]
    if js:
        js("done", state=result.state.value, message=result.message, files_total=result.files_total,
           files_verified=result.files_verified, files_failed=result.files_failed,
           files_skipped=result.files_skipped, bytes_total=result.bytes_total,
           duration=round(result.duration, 3), destinations=result.destinations, exit_code=code,
           safe_to_format=done.safe_to_format, copies_required=required, reasons=done.reasons)
    else:
        _print_summary(out, result)
        out.write(f"  offload {record.offload_id}; safe to format: "
                  + ("YES\n" if done.safe_to_format else "NO: " + " ".join(done.reasons) + "\n"))
    return code
