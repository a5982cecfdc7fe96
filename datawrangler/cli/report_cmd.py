"""`report offload|day|redundancy|contact-sheet`: the printable reports, from the catalog (the offload report
written after each offload is app.offload's).

    datawrangler report offload 7 --pdf A001.pdf --csv A001.csv [--files] [--paper letter]
    datawrangler report day 2023-10-14 --pdf day.pdf [--day-start 06:00]
    datawrangler report redundancy [--card A001 --card A002 | --day 2023-10-14] --pdf copies.pdf
    datawrangler report contact-sheet --card A001 | --day 2023-10-14 [--day-start 06:00] --pdf sheet.pdf

Without --pdf, --csv or --html the report goes, as PDF and CSV, into the app's reports folder.
Exit 0: written; 2: nothing to report (unknown offload or card, no offload that day, no clip read), a bad
argument, or a file that cannot be written.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from datawrangler.cli.common import CATALOG_HELP, EXIT_OK, EXIT_REFUSED, open_db
from datawrangler.cli.output import Output
from datawrangler.config import load_settings
from datawrangler.core.presets import protection_rule
from datawrangler.core.protection import RuleError
from datawrangler.reports import contact, day, offload, output, redundancy
from datawrangler.reports.model import Report
from datawrangler.store import history
from datawrangler.store import reads_reports as query
from datawrangler.store.db import Catalog

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add `report` and its kinds to the CLI's subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--catalog", metavar="LOCATION", default=argparse.SUPPRESS,
                        help=CATALOG_HELP)
    common.add_argument("--pdf", metavar="FILE", help="write the report as PDF")
    common.add_argument("--csv", metavar="FILE", help="write its main table as CSV; the other tables go beside it "
                        "as FILE-stem.<table>.csv")
    common.add_argument("--html", metavar="FILE", help="write the report as HTML")
    common.add_argument("--paper", choices=["a4", "letter"], default="a4", help="page size of the PDF (default a4)")
    common.add_argument("--copies", type=int, help="verified copies on distinct drives that make a card safe to "
                        "format (default: settings, 2)")
    common.add_argument("--json", action="store_true", help="one JSON object on stdout naming the files written")
    header = argparse.ArgumentParser(add_help=False)
    header.add_argument("--shooting-day", metavar="TEXT", help="printed in the header, e.g. 'Day 12'")
    header.add_argument("--location", metavar="TEXT", help="printed in the header")

    r = subparsers.add_parser("report", help="offload, day, redundancy reports and contact sheets (PDF, CSV, HTML)",
                              description="Printable reports, rendered from the catalog.")
    kinds = r.add_subparsers(dest="report_kind", required=True, metavar="offload|day|redundancy|contact-sheet")

    o = kinds.add_parser("offload", parents=[common, header], help="one card's offload report",
                         description="The report of one offload: card, destinations, verdict, failures.")
    o.add_argument("offload", type=int, metavar="OFFLOAD_ID", help="the offload's id (datawrangler history)")
    o.add_argument("--files", action="store_true", help="add the per-file table to the PDF and HTML (the CSV "
                   "always has it)")
    o.set_defaults(func=cmd_report)

    d = kinds.add_parser("day", parents=[common, header], help="every card of a shooting day",
                         description="One row per card offloaded that day; totals per camera and per drive.")
    d.add_argument("day", metavar="DATE", help="the day, YYYY-MM-DD (local time)")
    d.add_argument("--day-start", metavar="HH:MM", default="00:00",
                   help="when the shooting day starts (a night shoot's 2 a.m. offloads: --day-start 06:00)")
    d.set_defaults(func=cmd_report)

    red = kinds.add_parser("redundancy", parents=[common], help="how many verified copies of each card, per drive",
                           description="Per card and per destination drive, what is on how many verified copies "
                           "on distinct drives; anything short of the rule first. Default: every card.")
    red.add_argument("--card", action="append", metavar="CARD", help="a card's reel (A001), id or fingerprint "
                     "prefix; repeat for several")
    red.add_argument("--day", metavar="DATE", help="the cards offloaded that day")
    red.add_argument("--rule", help="the rule each card must meet: '3-2-1' (three copies, two kinds of media, one "
                     "in another place) or a number of copies on distinct drives (default: --copies)")
    red.set_defaults(func=cmd_report)

    cs = kinds.add_parser("contact-sheet", parents=[common, header], help="thumbnails of a card's or a day's clips",
                          description="A thumbnail of every clip with its name, TC in, duration and format; missing "
                          "frames and possibly damaged clips in words. The clips are those read from a verified copy "
                          "('datawrangler clips OFFLOAD --read' reads them for an older offload).")
    which = cs.add_mutually_exclusive_group(required=True)
    which.add_argument("--card", metavar="CARD", help="a card's reel (A001), id or fingerprint prefix: every clip of "
                       "the card, each once")
    which.add_argument("--day", metavar="DATE", help="every card offloaded that day, YYYY-MM-DD (local time)")
    cs.add_argument("--day-start", metavar="HH:MM", default="00:00", help="when the shooting day starts (with --day)")
    cs.set_defaults(func=cmd_report)


class _Nothing(Exception):
    pass


def _build(db: Catalog, args: argparse.Namespace, required: int, with_files: bool) -> Report:
    if args.report_kind == "offload":
        try:
            return offload.build(db, args.offload, required=required, with_files=with_files,
                                 shooting_day=args.shooting_day, location=args.location, paper=args.paper)
        except offload.UnknownOffload as exc:
            raise _Nothing(str(exc)) from None
    if args.report_kind == "contact-sheet":
        try:
            if args.card:
                return contact.for_card(db, args.card, required=required, shooting_day=args.shooting_day,
                                        location=args.location, paper=args.paper)
            return contact.for_day(db, args.day, day_start=args.day_start, required=required,
                                   shooting_day=args.shooting_day, location=args.location, paper=args.paper)
        except contact.NothingToShow as exc:
            raise _Nothing(str(exc)) from None
    if args.report_kind == "day":
        rep = day.build(db, args.day, day_start=args.day_start, required=required, shooting_day=args.shooting_day,
                        location=args.location, paper=args.paper)
        if not rep.cards:
            raise _Nothing(f"No card was offloaded on {args.day} (from {args.day_start}). 'datawrangler history "
                           f"--since {args.day} --until {args.day}' lists that day's offloads.")
        return rep
    ids: list[int] | None = None
    scope = ""
    if args.card:
        ids = []
        for text in args.card:
            cid = history.find_card(db, text)
            if cid is None:
                raise _Nothing(f"No card {text!r} in the catalog. Give its reel (A001), its id or a fingerprint "
                               "prefix ('datawrangler history' lists them).")
            ids.append(cid)
        scope = "cards " + ", ".join(args.card)
    elif args.day:
        start, end = day.window(args.day)
        ids = list(dict.fromkeys(o["card_id"] for o in query.offloads_between(db, start, end) if o["card_id"]))
        if not ids:
            raise _Nothing(f"No card was offloaded on {args.day}.")
        scope = f"cards offloaded on {args.day}"
    return redundancy.build(db, ids, scope=scope, required=protection_rule(required, getattr(args, "rule", None)),
                            paper=args.paper)


def cmd_report(args: argparse.Namespace) -> int:
    out = Output.of(args)
    required = args.copies or load_settings().copies_required
    try:
        protection_rule(required, getattr(args, "rule", None))
    except RuleError as exc:
        out.error("bad_argument", f"--rule: {exc}")
        return EXIT_REFUSED
    files_in_pdf = bool(getattr(args, "files", False))
    pdf, csv, html = args.pdf, args.csv, args.html
    default = not (pdf or csv or html)
    db, _ = open_db(args)
    try:
        try:
            report = _build(db, args, required, with_files=files_in_pdf or bool(csv) or default)
        except (_Nothing, ValueError) as exc:
            out.error("nothing_to_report", str(exc))
            return EXIT_REFUSED
    finally:
        db.close()
    if default:
        folder = output.reports_folder(report)
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / output.file_stem(report)
        pdf, csv = f"{stem}.pdf", f"{stem}.csv"
    try:
        written = output.write(report, pdf=pdf, html_path=html, csv=csv, files_in_pdf=files_in_pdf)
    except OSError as exc:
        out.error("report_not_written", f"Cannot write the report: {exc}. Check that the folder exists and is "
                  "writable.")
        return EXIT_REFUSED
    out.emit("report", kind=report.meta.kind, files=[str(p) for p in written])
    for p in written:
        out.line(str(p))
    return EXIT_OK
