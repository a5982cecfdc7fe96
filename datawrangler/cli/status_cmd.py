"""`datawrangler status CARD`: is this card safe to format, by which rule, and which station made each copy.

The rule is `--rule` ('3-2-1', or a number of copies on distinct drives), else `--copies`, else the settings'
copies_required. The answer names the rule, says for the weakest file what is met and what is missing ("2
copies, 1 media kind, 1 site: needs a copy on another media kind at another site"), and lists each drive
holding verified copies with its media kind and the stations (and their sites) that made the copies there.
"""

from __future__ import annotations

import argparse
import os

from datawrangler.app.inspection import source_ignore
from datawrangler.cli.common import EXIT_ERRORS, EXIT_OK, EXIT_REFUSED, open_db
from datawrangler.cli.made_from import made_from, made_from_text, stage_note
from datawrangler.cli.output import Output
from datawrangler.config import load_settings
from datawrangler.core.cards import default_reel, fingerprint
from datawrangler.core.presets import protection_rule
from datawrangler.core.protection import MEDIA_WORDS, MediaKind, Rule, RuleError
from datawrangler.core.scan import scan_source
from datawrangler.core.words import plural, when
from datawrangler.store import cards, history, offloads, redundancy


def rule_of(args: argparse.Namespace, default_copies: int) -> Rule:
    """--rule, else --copies, else `default_copies`; RuleError names the choices."""
    return protection_rule(getattr(args, "copies", None) or default_copies, getattr(args, "rule", None))


def drive_line(d: dict) -> str:
    """'drive SHUTTLE-01 (shuttle drive), copies made by cart-a at Studio 4: 4 files verified (/media/...)'."""
    kind = MEDIA_WORDS.get(MediaKind(d["media_kind"]), d["media_kind"]) if d.get("media_kind") in \
        {k.value for k in MediaKind} else "kind not said"
    stations = ", ".join(d.get("stations") or []) or "an unrecorded station"
    sites = f" at {', '.join(d['sites'])}" if d.get("sites") else ""
    own = ": the card's own drive, which formatting the card erases (not counted)" if d["card_disk"] else ""
    return (f"drive {d['labels'] or d['disk']} ({kind}), copies made by {stations}{sites}: "
            f"{plural(d['files_verified'], 'file')} verified ({', '.join(d['paths'])}){own}")


def cmd_status(args: argparse.Namespace) -> int:
    """Exit 0: safe to format; 1: not safe (the reasons say why); 2: the card is not in the catalog."""
    out = Output.of(args)
    settings = load_settings()
    try:
        rule = rule_of(args, settings.copies_required)
    except RuleError as exc:
        out.error("bad_argument", f"--rule: {exc}")
        return EXIT_REFUSED
    db, _ = open_db(args)
    try:
        listing = None
        card_id: int | None
        if os.path.isdir(args.card):
            scan = scan_source(args.card, source_ignore(args.card, settings.ignore))
            listing = [(f.rel_path, f.size, f.mtime_ns) for f in scan.files]
            known = cards.find_known(db, fingerprint(scan), args.reel or default_reel(args.card), scan.files)
            card_id = known.card_id if known else None
        else:
            card_id = history.find_card(db, args.card)
            if card_id is None:
                out.error("unknown_card", f"No card {args.card!r} in the catalog. Give a card's mount point, its "
                          "reel (A001) or its id ('datawrangler history' lists them).")
                return EXIT_REFUSED
        red = redundancy.card_redundancy(db, card_id, rule, listing)
        info = history.card(db, card_id) if card_id is not None else None
        made = offloads.stations(db, [o["id"] for o in (info or {}).get("offloads", [])])
        for o in (info or {}).get("offloads", []):
            o["made_from"] = made_from(db, o["id"])
            o["station"], o["site"] = made.get(o["id"], (None, None))
    finally:
        db.close()
    if out.json:
        out.emit("status", card=info, safe_to_format=red.safe, copies_required=rule.copies, rule=rule.name,
                 rule_text=rule.describe(), judgement=red.sentence, files_total=red.files_total,
                 files_ok=red.files_ok, min_copies=red.min_disks, reasons=red.reasons,
                 short=[f.__dict__ for f in red.short], disks=red.disks)
    else:
        name = (info or {}).get("reel") or args.card
        out.line(f"Card {name}: {plural(red.files_total, 'file')}, {red.files_ok} meeting the rule {rule.name} "
                 f"({rule.describe()}).")
        if red.sentence:
            out.line(f"  {'Weakest file' if not red.safe else 'Every file'}: {red.sentence}")
        for o in (info or {}).get("offloads", []):
            station = f" by {o['station']}" if o.get("station") else ""
            site = f" at {o['site']}" if o.get("site") else ""
            out.line(f"  offload {o['id']}  {when(o['started_at'])}  {o['state']}{station}{site}"
                     f"{stage_note(o['made_from'])}")
            source = made_from_text(o["made_from"])
            for d in o["destinations"]:
                out.line(f"    -> {d['path']}  ({d['state']}, {d['volume']}), made from {source}")
        for d in red.disks:
            out.line(f"  {drive_line(d)}")
        out.line("SAFE TO FORMAT" if red.safe else "NOT SAFE TO FORMAT: " + " ".join(red.reasons))
    if card_id is None:
        return EXIT_REFUSED
    return EXIT_OK if red.safe else EXIT_ERRORS
