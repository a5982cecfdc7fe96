"""`offload` and `resume`: arguments to an app request, app.offload.run_offload, and what it says printed
(cli.offload_view: a progress bar and a summary, or JSON lines for scripts). A cascading copy (--stage2)
goes on in cli.cascade_cmds once stage 1 ends: the release, then stage 2 in the same process."""

from __future__ import annotations

import argparse
import signal

from datawrangler.app import request as requests
from datawrangler.app.offload import Refused, run_offload
from datawrangler.cli import cascade_cmds
from datawrangler.cli.common import EXIT_FOR_STATE, EXIT_REFUSED, catalog_path, open_db
from datawrangler.cli.offload_view import OffloadView
from datawrangler.cli.output import Output
from datawrangler.config import find_preset, load_settings
from datawrangler.core.events import OffloadControl
from datawrangler.core.protection import Rule, RuleError


def cmd_offload(args: argparse.Namespace) -> int:
    settings = load_settings()
    preset = find_preset(args.preset) if args.preset else None
    out = Output.of(args)
    if not args.dest and (preset is None or not preset.destinations):
        out.error("no_destination", "no destination: name one or more after the card, or use --preset with a "
                  "preset that has destination drives.")
        return EXIT_REFUSED
    if args.rule is not None:
        try:
            Rule.parse(args.rule)
        except RuleError as exc:
            out.error("bad_argument", f"--rule: {exc}")
            return EXIT_REFUSED
    db, _path = open_db(args)
    try:
        req = requests.from_arguments(
            db, args.source, args.dest, settings, preset, roll=args.roll, algorithms=args.hash,
            verify_mode=args.verify, extra_ignore=tuple(args.ignore or ()),
            default_ignore=False if args.no_default_ignore else None, retries=args.retries, project=args.project,
            reel=args.reel, camera=args.camera, operator=args.operator, shooting_day=args.day,
            location=args.location, incremental=True if args.incremental else None,
            read_clips=False if args.no_clips else None, thumbnails=args.thumbnails,
            stage2=tuple(args.stage2) if args.stage2 else None, rule=args.rule)
    finally:
        db.close()
    if not cascade_cmds.check_stage2(out, req, args.stage2_later):
        return EXIT_REFUSED
    return _run(args, OffloadView(out), req)


def cmd_resume(args: argparse.Namespace) -> int:
    settings = load_settings()
    out = Output.of(args)
    out.context["offload_id"] = args.offload
    req = requests.with_clips(requests.resume_request(args.offload, "", settings),
                              False if args.no_clips else None, args.thumbnails)
    return _run(args, OffloadView(out), req)


def _run(args: argparse.Namespace, view: OffloadView, req: requests.OffloadRequest) -> int:
    """The offload (or resume) to its end; a stage-1 offload of a cascading copy then goes on to stage 2, a
    stage-2 one (a resume) ends with the card's verdict."""
    control = OffloadControl()
    previous = signal.signal(signal.SIGINT, lambda *_: control.cancel())
    try:
        try:
            outcome = run_offload(req, control, catalog=catalog_path(args), observer=view.observer())
        except Refused as exc:
            view.refused(exc)
            return EXIT_REFUSED
        finally:
            view.out.close()
        code = EXIT_FOR_STATE[outcome.result.state]
        view.done(outcome, code)
        if outcome.stage == 2:
            cascade_cmds.say_verdict(view.out, outcome, code)
            return code
        return cascade_cmds.after_stage1(args, view.out, outcome, code, control, req, args.stage2_later)
    finally:
        signal.signal(signal.SIGINT, previous)
