"""`datawrangler stage2 [list]` (the stage-2 copies of cascading offloads queued or interrupted: id, card,
what each reads and writes, state) and `datawrangler stage2 run [ID ...]` (run them, every one waiting by
default, each with an offload's progress and result and the card's verdict; exit code: the worst of them)."""

from __future__ import annotations

import argparse
import signal

from datawrangler.app import request as requests
from datawrangler.app.cascade import AS_ASKED, pending_stage2
from datawrangler.cli.cascade_cmds import run_job, say_verdict
from datawrangler.cli.common import CATALOG_HELP, EXIT_OK, EXIT_REFUSED, catalog_path, open_db, worst
from datawrangler.cli.output import Output
from datawrangler.config import find_preset, load_settings
from datawrangler.core.events import OffloadControl
from datawrangler.core.words import human_bytes, plural
from datawrangler.store import cascade, history


def cmd_list(args: argparse.Namespace) -> int:
    out = Output.of(args)
    jobs = pending_stage2(catalog_path(args))
    if out.json:
        out.emit("stage2", jobs=[{"offload_id": j.offload_id, "cascade_of": j.cascade_of, "card_id": j.card_id,
                                  "reel": j.reel, "state": j.state, "source": j.source, "made_from": j.made_from,
                                  "made_from_drive": j.made_from_label, "destinations": list(j.destinations),
                                  "files": j.files, "bytes": j.bytes} for j in jobs])
        return EXIT_OK
    if not jobs:
        out.line("No stage-2 copy is waiting (none queued or interrupted). 'datawrangler history' shows the ones "
                 "that ended.")
        return EXIT_OK
    out.line(f"{plural(len(jobs), 'stage-2 copy', 'stage-2 copies')} waiting, oldest first:")
    for j in jobs:
        drive = f" (on {j.made_from_label})" if j.made_from_label else ""
        out.line(f"  {j.offload_id:>5}  reel {j.reel or '-':<6}  {j.state:<12} {plural(j.files, 'file')} "
                 f"({human_bytes(j.bytes)})")
        out.line(f"         from offload {j.cascade_of}'s stage-1 copy {j.source}{drive}")
        for d in j.destinations:
            out.line(f"         to   {d}")
    out.line("Run them: datawrangler stage2 run   (one of them: datawrangler stage2 run ID)")
    return EXIT_OK


def _not_stage2(args: argparse.Namespace, ids: list[int]) -> list[str]:
    """Why each id that is not a stage-2 copy cannot be run by `stage2 run`."""
    db, _ = open_db(args)
    try:
        why = []
        for oid in ids:
            if cascade.job(db, oid) is not None:
                continue
            row = history.offload(db, oid)
            why.append(f"There is no offload {oid} in the catalog. 'datawrangler stage2' lists the stage-2 copies "
                       "waiting to run." if row is None else
                       f"Offload {oid} is not a stage-2 copy: it copied from {row['source']}. 'datawrangler resume "
                       f"{oid}' finishes it if it stopped; 'datawrangler stage2' lists the stage-2 copies.")
        return why
    finally:
        db.close()


def cmd_run(args: argparse.Namespace) -> int:
    out = Output.of(args)
    settings = load_settings()
    preset = find_preset(args.preset) if args.preset else None
    ids = list(dict.fromkeys(args.ids)) or [j.offload_id for j in pending_stage2(catalog_path(args))]
    if args.ids and (why := _not_stage2(args, ids)):
        for w in why:
            out.error("not_stage2", w + " Nothing was run.")
        return EXIT_REFUSED
    if not ids:
        out.event("stage2_none", "No stage-2 copy is waiting: nothing to run. 'datawrangler history' shows the ones "
                  "that ended.")
        return EXIT_OK
    control = OffloadControl()
    previous = signal.signal(signal.SIGINT, lambda *_: control.cancel())
    codes = []
    try:
        for n, oid in enumerate(ids):
            if control.cancelled:
                left = " ".join(map(str, ids[n:]))
                out.warning(f"Cancelled: stage-2 offload(s) {left} were not started and stay queued; 'datawrangler "
                            "stage2 run' runs them.", "cancelled")
                break
            req = requests.resume_request(oid, "", settings, preset)
            # without --copies or --preset: what its stage 1 asked (app.cascade.run_stage2's defaults)
            code, outcome = run_job(args, out, oid, control,
                                    required=args.copies or (req.copies_required if preset else None),
                                    handoff=req.handoff if preset else AS_ASKED, report=req.report,
                                    keep_awake=req.keep_awake, rule=req.rule if preset else None)
            codes.append(code)
            if outcome is not None:
                say_verdict(out, outcome, code)
    finally:
        signal.signal(signal.SIGINT, previous)
    return worst(codes)


def _offload_id(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a stage-2 copy is named by its offload id, a number "
                                         "('datawrangler stage2' lists them).")
    return int(text)


def register(sub: argparse._SubParsersAction) -> None:
    """`datawrangler stage2 [list]` and `datawrangler stage2 run [ID ...]`."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--catalog", metavar="LOCATION", default=argparse.SUPPRESS,
                        help=CATALOG_HELP)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="JSON lines on stdout, for scripts")
    s = sub.add_parser("stage2", parents=[common], help="the stage-2 copies of cascading offloads: list and run them",
                       description="A cascading copy (offload --stage2 ROOT) releases the card once stage 1 is "
                       "verified and queues a stage-2 copy of the verified stage-1 copy. Without a command: the "
                       "stage-2 copies queued or interrupted, with what each reads and writes.")
    s.set_defaults(func=cmd_list)
    kinds = s.add_subparsers(dest="stage2_command", metavar="list|run")
    kinds.add_parser("list", parents=[common], help="the stage-2 copies queued or interrupted (the default)"
                     ).set_defaults(func=cmd_list)
    r = kinds.add_parser("run", parents=[common], help="run stage-2 copies (all waiting, or the ids given)",
                         description="Run each stage-2 copy (every one queued or interrupted, oldest first, or the "
                         "ids given) as an offload: the stage-1 copy read from its drive and checked against the "
                         "card's hashes, every copy read back. Says each one's result and the card's verdict.")
    r.add_argument("ids", nargs="*", type=_offload_id, metavar="ID", help="stage-2 offload ids ('datawrangler stage2')")
    r.add_argument("--copies", type=int, help="verified copies required on distinct drives for safe to format "
                   "(default: the preset's, else the settings', 2)")
    r.add_argument("--preset", metavar="NAME", help="the preset whose copies required and handoff files to use")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)
