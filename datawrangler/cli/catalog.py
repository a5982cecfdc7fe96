"""`history`, `status` and `verify`: what the catalog knows, and re-reading a drive against it."""

from __future__ import annotations

import argparse
import os

from datawrangler.cli import handoff_cmds
from datawrangler.cli.common import EXIT_ERRORS, EXIT_OK, EXIT_REFUSED, open_db
from datawrangler.cli.output import Output
from datawrangler.config import load_settings
from datawrangler.core.cards import default_reel, fingerprint
from datawrangler.core.scan import scan_source
from datawrangler.core.words import human_bytes, plural, when
from datawrangler.store import cards, history, redundancy, reverify


def cmd_history(args: argparse.Namespace) -> int:
    out = Output.of(args)
    db, _ = open_db(args)
    try:
        try:
            rows = history.offloads(db, history.Filters(since=args.since, until=args.until, project=args.project,
                                                        reel=args.reel, volume=args.volume, state=args.state,
                                                        limit=args.limit))
        except ValueError as exc:
            out.error("bad_argument", str(exc))
            return EXIT_REFUSED
    finally:
        db.close()
    if out.json:
        out.emit("history", offloads=rows)
        return EXIT_OK
    if not rows:
        out.line("No offload matches.")
    for r in rows:
        out.line(f"{r['id']:>5}  {when(r['started_at'])}  {r['state']:<22} {r['reel'] or '-':<6} "
                 f"{r['project'] or '-':<12} {r['files_verified'] or 0}/{plural(r['files_total'], 'file')}  "
                 f"{human_bytes(r['bytes_total'] or 0):>9}  {r['source']}")
        for d in r["destinations"]:
            out.line(f"{'':>7}-> {d['path']}  ({d['state']}, {d['volume']})")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """Exit 0: safe to format; 1: not safe (the reasons say why); 2: the card is not in the catalog."""
    out = Output.of(args)
    required = args.copies or load_settings().copies_required
    db, _ = open_db(args)
    try:
        listing = None
        card_id: int | None
        if os.path.isdir(args.card):
            scan = scan_source(args.card, load_settings().ignore)
            listing = [(f.rel_path, f.size, f.mtime_ns) for f in scan.files]
            known = cards.find_known(db, fingerprint(scan), args.reel or default_reel(args.card), scan.files)
            card_id = known.card_id if known else None
        else:
            card_id = history.find_card(db, args.card)
            if card_id is None:
                out.error("unknown_card", f"No card {args.card!r} in the catalog. Give a card's mount point, its "
                          "reel (A001) or its id ('datawrangler history' lists them).")
                return EXIT_REFUSED
        red = redundancy.card_redundancy(db, card_id, required, listing)
        info = history.card(db, card_id) if card_id is not None else None
    finally:
        db.close()
    if out.json:
        out.emit("status", card=info, safe_to_format=red.safe, copies_required=required,
                 files_total=red.files_total, files_ok=red.files_ok, min_copies=red.min_disks, reasons=red.reasons,
                 short=[f.__dict__ for f in red.short], disks=red.disks)
    else:
        name = (info or {}).get("reel") or args.card
        out.line(f"Card {name}: {plural(red.files_total, 'file')}, {red.files_ok} with >= "
                 f"{plural(required, 'verified copy')} on distinct drives (fewest: {red.min_disks}).")
        for o in (info or {}).get("offloads", []):
            out.line(f"  offload {o['id']}  {when(o['started_at'])}  {o['state']}")
        for d in red.disks:
            own = ": the card's own drive, which formatting the card erases (not counted)" if d["card_disk"] else ""
            out.line(f"  drive {d['labels'] or d['disk']}: {d['files_verified']} files verified "
                     f"({', '.join(d['paths'])}){own}")
        out.line("SAFE TO FORMAT" if red.safe else "NOT SAFE TO FORMAT: " + " ".join(red.reasons))
    if card_id is None:
        return EXIT_REFUSED
    return EXIT_OK if red.safe else EXIT_ERRORS


def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0: every file the catalog places there read back and matched; 1: missing, changed or unreadable
    files (extra files are reported, not counted as failures; DataWrangler's own handoff files are not extra);
    2: nothing in the catalog there."""
    out = Output.of(args)
    db, _ = open_db(args)
    try:
        if (code := handoff_cmds.verify_if_unknown(db, args)) is not None:  # a drive from another unit
            return code
        report = reverify.reverify(db, args.target, handoff_cmds.file_printer(out))
        handoff_cmds.after_reverify(db, report.rolls, out)  # a new ASC MHL generation: verified / failed
    finally:
        db.close()
    if out.json:
        out.emit("done", target=report.target, rolls=report.rolls, checked=report.checked,
             verified=report.verified, missing=report.missing, changed=report.changed, unreadable=report.unreadable,
                 extra=report.extra, handoff=report.handoff, cache_not_bypassed=report.not_bypassed,
                 bytes_read=report.bytes_read, ok=report.ok)
    else:
        out.line(f"{'VERIFIED' if report.ok else 'PROBLEMS'}: {report.verified} of {plural(report.checked, 'file')} "
                 f"read back and matched ({human_bytes(report.bytes_read)}) under {report.target}")
        for label, items in (("missing", report.missing), ("changed", report.changed),
                             ("unreadable", report.unreadable), ("extra (not in the catalog)", report.extra)):
            if items:
                more = " …" if len(items) > 10 else ""
                out.line(f"  {len(items)} {label}: " + ", ".join(items[:10]) + more)
        if report.handoff:  # not extra: DataWrangler wrote them (the ASC MHL folder ends in a slash)
            names = [os.path.basename(os.path.normpath(h)) + ("/" if h.endswith(os.sep) else "")
                     for h in report.handoff]
            out.line(f"  {plural(len(names), 'handoff file')} (DataWrangler's own, not extra): "
                     + ", ".join(names[:10]) + (" …" if len(names) > 10 else ""))
        if report.not_bypassed:
            out.line(f"  note: {report.not_bypassed} read-backs may have come from the OS cache (this system or "
                     "filesystem cannot bypass it).")
    return EXIT_OK if report.ok else EXIT_ERRORS
