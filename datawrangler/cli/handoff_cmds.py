"""Handoff on the command line: `import DRIVE`, `mhl-verify PATH`, `mhl-write OFFLOAD`, `ale OFFLOAD|--day DAY
-o FILE`, and what `verify` calls (`verify_if_unknown`, `after_reverify`, `file_printer`). An offload writes its
handoff files (the editorial ones too) through app.offload."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datawrangler.cli.common import CATALOG_HELP, EXIT_ERRORS, EXIT_OK, EXIT_REFUSED, open_db
from datawrangler.cli.output import Output
from datawrangler.core.words import agree, plural
from datawrangler.handoff.editorial import EditorialError, Kind, write_day_ale, write_offload_ale
from datawrangler.handoff.history import find_histories
from datawrangler.handoff.verify import import_drive, verify_drive
from datawrangler.handoff.writer import HandoffOptions, write_handoff, write_reverify_generations
from datawrangler.store.db import Catalog
from datawrangler.store.handoff import destinations_at, destinations_under
from datawrangler.store.location import open_location


def _with_db(catalog: Catalog | str | os.PathLike[str], fn: Callable[[Catalog], Any]) -> Any:
    if isinstance(catalog, Catalog):
        return fn(catalog)
    db = open_location(catalog)
    try:
        return fn(db)
    finally:
        db.close()


def file_printer(out: Output) -> Callable[[str, str], None]:
    """A re-read's per-file callback: every file as a `file` event, or the ones not verified on stderr."""

    def on_file(path: str, result: str) -> None:
        out.emit("file", path=path, result=result)
        if result != "verified":
            out.info(f"{result.upper()} {path}")
    return on_file


def after_reverify(catalog: Catalog | str | os.PathLike[str], rolls: list[str], out: Output | None = None
                   ) -> list[str]:
    """After a re-verify: a generation (`in-place`, verified/failed) in each roll that has an ASC MHL history."""
    out = out or Output()

    def run(db: Catalog) -> list[str]:
        result = write_reverify_generations(db, rolls, {r: destinations_at(db, r) for r in rolls})
        for w in result.warnings:
            out.warning(w, "handoff")
        return result.written
    return _with_db(catalog, run)


def verify_if_unknown(db: Catalog, args: argparse.Namespace) -> int | None:
    """For `verify`: a target the catalog knows nothing of, that carries ASC MHL histories, is checked
    against them (exit 0 / 1). None: not such a target; verify against the catalog as usual."""
    target = args.target
    if not os.path.isdir(target) or destinations_under(db, target) or not find_histories(target):
        return None
    return _print_checks(args, target)


def _print_checks(args: argparse.Namespace, target: str) -> int:
    out = Output.of(args)
    checks = verify_drive(target, file_printer(out))
    if not checks:
        out.error("no_history", f"{target} holds no ASC MHL history.")
        return EXIT_REFUSED
    ok = all(c.ok for c in checks)
    out.emit("done", target=target, source="ascmhl", ok=ok, rolls=[c.__dict__ for c in checks])
    for c in checks:
        out.line(f"{'VERIFIED' if c.ok else 'PROBLEMS'}: {c.verified} of {plural(c.checked, 'file')} "
                 f"{agree(c.verified, 'matches', 'match')} the ASC MHL history "
                 f"({plural(c.generations, 'generation')}) of {c.root}")
        for label, items in (("mismatch", c.mismatches), ("missing", c.missing), ("new", c.new),
                             ("unreadable", c.unreadable), ("history problem", c.problems)):
            if items:
                out.line(f"  {len(items)} {label}: " + ", ".join(items[:10]) + (" …" if len(items) > 10 else ""))
    return EXIT_OK if ok else EXIT_ERRORS


def cmd_mhl_verify(args: argparse.Namespace) -> int:
    return _print_checks(args, args.target)


def cmd_import(args: argparse.Namespace) -> int:
    out = Output.of(args)
    db, _ = open_db(args)
    try:
        results = import_drive(db, args.drive)
    finally:
        db.close()
    if not results:
        out.error("no_history", f"{args.drive} holds no ASC MHL history to import.")
    out.emit("done", drive=args.drive, rolls=[{"roll": r, "offload_id": o, "message": m} for r, o, m in results])
    for roll, oid, message in results:
        out.line(f"{roll}: {message}" + (f" (offload {oid})" if oid else ""))
    if not any(oid for _, oid, _ in results):
        return EXIT_REFUSED if not results else EXIT_ERRORS
    if any(oid is None and m.startswith("not imported") for _, oid, m in results):
        return EXIT_ERRORS  # a roll was refused beside good ones: a script must learn of it
    return EXIT_OK


def cmd_mhl_write(args: argparse.Namespace) -> int:
    out = Output.of(args)
    try:
        lists = HandoffOptions.from_mapping({"checksum_lists": args.lists}).checksum_lists
    except ValueError as exc:
        out.error("bad_argument", str(exc))
        return EXIT_REFUSED
    opts = HandoffOptions(ascmhl=not args.no_ascmhl, legacy_mhl=args.legacy, checksum_lists=lists, csv=args.csv,
                          json=args.manifest_json)
    db, _ = open_db(args)
    try:
        result = write_handoff(db, args.offload, opts)
    finally:
        db.close()
    for w in result.warnings:
        out.warning(w, "handoff")
    if result.written:
        out.say("handoff", f"handoff files written: {len(result.written)}", paths=result.written)
    for p in result.written:
        out.line(p)
    return EXIT_OK if result.written else EXIT_ERRORS


def cmd_ale(args: argparse.Namespace) -> int:
    """Exit 0: written; 1: writing failed; 2: nothing to write (no such offload, no clips, a bad day or path)."""
    out = Output.of(args)
    if (args.offload is None) == (args.day is None):
        out.error("bad_argument", "Give an offload or a day, not both and not neither: e.g. 'datawrangler ale 12 -o "
                  "A001.ale' or 'datawrangler ale --day 2023-10-14 -o day.ale'.")
        return EXIT_REFUSED
    kind: Kind = "clip_csv" if args.clip_csv else "ale"
    target = Path(args.output).expanduser()
    db, _ = open_db(args)
    try:
        if args.day is not None:
            result = write_day_ale(db, args.day, target, day_start=args.day_start, kind=kind)
        else:
            result = write_offload_ale(db, args.offload, target, kind=kind)
    except EditorialError as exc:
        out.error(exc.code, str(exc))
        return EXIT_REFUSED
    except OSError as exc:
        out.error("write_failed", f"Could not write {target} ({exc.strerror or exc}): choose a place you can write "
                  "to, or free some space.")
        return EXIT_ERRORS
    finally:
        db.close()
    for w in result.warnings:
        out.warning(w, "handoff")
    out.say("handoff", f"{'clip CSV' if args.clip_csv else 'ALE'} written: {target}", paths=result.written)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--catalog", metavar="LOCATION", default=argparse.SUPPRESS, help=CATALOG_HELP)
    common.add_argument("--json", action="store_true", help="JSON-lines events on stdout")

    i = sub.add_parser("import", parents=[common], help="add a drive's ASC MHL histories to the catalog",
                       description="Find every ASC MHL history on DRIVE (a drive from another unit) and record its "
                       "files in the catalog, as copied but not yet verified here; 'datawrangler verify DRIVE' then "
                       "re-reads them.")
    i.add_argument("drive", help="the drive's mount point or a folder on it")
    i.set_defaults(func=cmd_import)

    v = sub.add_parser("mhl-verify", parents=[common], help="check a drive against its ASC MHL histories",
                       description="Re-read every file that the ASC MHL histories at or under PATH record, "
                       "without the catalog. Exit 0: all match; 1: mismatch, missing or new files.")
    v.add_argument("target", metavar="PATH")
    v.set_defaults(func=cmd_mhl_verify)

    w = sub.add_parser("mhl-write", parents=[common], help="write an offload's handoff files again",
                       description="Write the ASC MHL generation (and optional lists) of a finished offload into its "
                       "destination rolls, from the catalog.")
    w.add_argument("offload", type=int)
    w.add_argument("--legacy", action="store_true", help="also a legacy MHL 1.1 per roll")
    w.add_argument("--lists", default="", help="checksum lists, e.g. xxh64,md5")
    w.add_argument("--csv", action="store_true")
    w.add_argument("--manifest-json", action="store_true")
    w.add_argument("--no-ascmhl", action="store_true")
    w.set_defaults(func=cmd_mhl_write)

    a = sub.add_parser("ale", parents=[common], help="an Avid ALE (or clip CSV) of an offload's or a day's clips",
                       description="Write an Avid ALE of the clips the catalog holds for OFFLOAD, or for every offload "
                       "started on a shooting day (--day), to FILE; --clip-csv writes the clip CSV instead. The "
                       "offloads' rolls get theirs when the preset asks for them.")
    a.add_argument("offload", type=int, nargs="?", help="the offload's id (datawrangler history)")
    a.add_argument("--day", metavar="YYYY-MM-DD", help="every offload started that day (local time)")
    a.add_argument("--day-start", metavar="HH:MM", default="00:00",
                   help="when the shooting day starts (a night shoot offloading at 2 a.m.: 06:00)")
    a.add_argument("-o", "--output", metavar="FILE", required=True, help="the file to write")
    a.add_argument("--clip-csv", action="store_true", help="the clip CSV (every field of every clip) instead")
    a.set_defaults(func=cmd_ale)


__all__ = ["after_reverify", "file_printer", "register", "verify_if_unknown"]
