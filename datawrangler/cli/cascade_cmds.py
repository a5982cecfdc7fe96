"""The cascading copy's stages on the command line: stage 2 asked for checked before a byte moves, what
`offload` and `resume` say once stage 1 ends (the card RELEASED, distinct from SAFE TO FORMAT), the stage-2
copies they then run in the same process (`offload CARD DEST... --stage2 ROOT`, unless --stage2-later), and
the card's verdict once they end. `datawrangler stage2 [run]` is cli.stage2_cmd; it runs each copy here.

Exit code of a command that ran several stages: the worst of them (cli.common.worst).
"""

from __future__ import annotations

import argparse
import os

from datawrangler.app.cascade import run_stage2
from datawrangler.app.outcome import OffloadOutcome, Refused
from datawrangler.app.request import OffloadRequest
from datawrangler.cli.common import EXIT_FOR_STATE, EXIT_REFUSED, catalog_path, open_db, worst
from datawrangler.cli.offload_view import OffloadView
from datawrangler.cli.output import Output
from datawrangler.core.errors import OffloadError
from datawrangler.core.events import OffloadControl, OffloadState
from datawrangler.core.words import plural
from datawrangler.handoff.writer import HandoffOptions
from datawrangler.store import cascade
from datawrangler.store.db import CatalogError


def check_stage2(out: Output, req: OffloadRequest, later: bool) -> bool:
    """Before stage 1 starts: the stage-2 drives asked for can be used. False (each problem said) refuses the
    offload. A stage-2 drive that is not there refuses it, unless stage 2 is left for later (then a warning:
    the drive may be connected once the card is back in the camera)."""
    roots = req.stage2
    if later and not roots:
        out.error("no_stage2", "--stage2-later leaves stage 2 queued, but no stage-2 destination was given: add "
                  "--stage2 ROOT (or use a preset with 'stage2' drives), or drop --stage2-later.")
        return False
    ok = True
    if roots and getattr(req.verify_mode, "value", req.verify_mode) == "size":
        out.error("stage2_needs_verify", "A cascading copy releases the card once stage 1 is verified, and verify "
                  "mode 'size' never verifies: use --verify destinations or full with --stage2 (or drop --stage2).")
        ok = False
    firsts = {os.path.abspath(d) for d in req.dest_roots}
    seen: set[str] = set()
    for root in roots:
        if os.path.abspath(root) in seen:
            out.error("stage2_twice", f"The stage-2 destination {root} is given twice: name each drive once.",
                      path=root)
            ok = False
        seen.add(os.path.abspath(root))
        if os.path.abspath(root) in firsts:
            out.error("stage2_is_destination", f"{root} is both a destination and a stage-2 destination: each drive is "
                      "written once, from the card (stage 1) or from a stage-1 copy (stage 2). Keep it in one list.",
                      path=root)
            ok = False
        elif not os.path.isdir(root) and later:
            out.warning(f"The stage-2 destination {root} is not there (is its drive connected?). Stage 2 is queued all "
                        "the same: connect the drive, then run 'datawrangler stage2 run'.", "stage2_missing", path=root)
        elif not os.path.isdir(root):
            out.error("stage2_missing", f"The stage-2 destination {root} does not exist (is its drive connected and "
                      "mounted?). Nothing was copied. Connect the drive (or create the folder), or add --stage2-later "
                      "to release the card after stage 1 and run stage 2 later with 'datawrangler stage2 run'.",
                      path=root)
            ok = False
    return ok


def after_stage1(args: argparse.Namespace, out: Output, outcome: OffloadOutcome, code: int, control: OffloadControl,
                 req: OffloadRequest, later: bool) -> int:
    """Once a stage-1 offload ended: when it asked for stage 2, say whether the card is released, run the
    stage-2 copies it queued (unless `later`), and say the card's verdict. Returns the command's exit code."""
    db, _ = open_db(args)
    try:
        asked = bool(cascade.stage2_targets(db, outcome.offload_id))
        jobs = [j for j in (cascade.job(db, oid) for oid in outcome.stage2) if j is not None]
    finally:
        db.close()
    if not asked:
        return code
    if not jobs:
        if outcome.result.state is not OffloadState.VERIFIED:
            out.event("not_released", f"NOT RELEASED: stage 1 ended {outcome.result.state.value}, not verified, so "
                      "stage 2 was not queued: keep the card. Fix what the summary lists, then run 'datawrangler "
                      f"resume {outcome.offload_id}': stage 2 is queued once stage 1 ends verified.",
                      offload_id=outcome.offload_id, state=outcome.result.state.value)
        say_verdict(out, outcome, code)
        return code
    _say_released(out, outcome, jobs, later or control.cancelled)
    if later or control.cancelled:
        say_verdict(out, outcome, code)
        return code
    codes, last = [code], outcome
    for job in jobs:
        if control.cancelled:
            break
        c, done = run_job(args, out, job.offload_id, control, required=req.copies_required, handoff=req.handoff,
                          report=req.report, keep_awake=req.keep_awake, rule=req.rule)
        codes.append(c)
        last = done or last
    final = worst(codes)
    say_verdict(out, last, final)
    return final


def _say_released(out: Output, outcome: OffloadOutcome, jobs: list[cascade.Stage2Job], later: bool) -> None:
    what = "; ".join(f"stage 2 to {', '.join(j.destinations)} (offload {j.offload_id}, {plural(j.files, 'file')} "
                     f"from {j.source})" for j in jobs)
    ids = " ".join(str(j.offload_id) for j in jobs)
    then = (f" Run it when its drives are connected: 'datawrangler stage2 run {ids}' ('datawrangler stage2' lists "
            "what waits)." if later else " Running it now.")
    head = "RELEASED: every file is verified on the stage-1 drive(s); the card may leave the reader."
    tail = (f"Safe to format already ({plural(outcome.copies, 'verified copy')} on distinct drives); {what} is "
            "queued for more copies." if outcome.safe else f"Not yet safe to format: {what} is queued.") + then
    out.emit("released", offload_id=outcome.offload_id, card_id=outcome.card_id, message=f"{head} {tail}",
             safe_to_format=outcome.safe, stage2_later=later,
             stage2=[{"offload_id": j.offload_id, "source": j.source, "destinations": list(j.destinations),
                      "files": j.files, "bytes": j.bytes} for j in jobs])
    out.line(head)
    out.line(f"  {tail}")


def say_verdict(out: Output, outcome: OffloadOutcome, code: int) -> None:
    """The card's verdict once every stage this command ran ended (the last one's: it counts them all)."""
    rule = outcome.verdict.rule
    if outcome.safe and rule and not rule.isdigit():
        text = f"SAFE TO FORMAT: every file of the card meets the rule {rule} ({outcome.verdict.sentence})."
    elif outcome.safe:
        text = (f"SAFE TO FORMAT: every file of the card is verified on {plural(outcome.copies, 'distinct drive')} "
                f"({outcome.copies_required} required).")
    else:
        text = "NOT SAFE TO FORMAT: " + (" ".join(outcome.reasons) or "the card lacks verified copies.")
    out.emit("verdict", offload_id=outcome.offload_id, card_id=outcome.card_id, safe_to_format=outcome.safe,
             copies=outcome.copies, copies_required=outcome.copies_required, reasons=list(outcome.reasons),
             rule=rule, judgement=outcome.verdict.sentence, message=text, exit_code=code)
    out.line(text)


def run_job(args: argparse.Namespace, out: Output, offload_id: int, control: OffloadControl, *,
            required: int | None, handoff: HandoffOptions | str | None, report: bool,
            keep_awake: bool, rule: str | None = None) -> tuple[int, OffloadOutcome | None]:
    """Run one stage-2 copy with an offload's progress and summary: its exit code and outcome (None when it
    could not start; it then stays queued, and the error says why)."""
    view = OffloadView(out)
    out.context["offload_id"] = offload_id
    try:
        outcome = run_stage2(offload_id, control, catalog=catalog_path(args), observer=view.observer(),
                             handoff=handoff, report=report, copies_required=required, keep_awake_=keep_awake,
                             rule=rule)
    except Refused as exc:
        view.refused(exc)
        out.warning(f"Stage-2 offload {offload_id} was not started and stays queued: fix what is said above, then "
                    f"run 'datawrangler stage2 run {offload_id}'. The card is not safe to format until it is "
                    "verified.", "stage2_not_started")
        return EXIT_REFUSED, None
    except (OffloadError, CatalogError) as exc:
        out.error(str(getattr(exc, "code", None) or "catalog"), str(exc))
        return EXIT_REFUSED, None
    finally:
        out.close()
    code = EXIT_FOR_STATE[outcome.result.state]
    view.done(outcome, code)
    return code, outcome
