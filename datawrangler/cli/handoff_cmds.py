"""Handoff on the command line: `import DRIVE`, `mhl-verify PATH`, `mhl-write OFFLOAD`, and the hooks the
`mhl-write` and verify commands call (`after_offload`, `after_reverify`, `verify_if_unknown`). An offload
writes its handoff files through app.offload."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from sqlite_utils import Database

from datawrangler.cli.common import EXIT_ERRORS, EXIT_OK, EXIT_REFUSED, emit, open_db
from datawrangler.core.words import agree, plural
from datawrangler.handoff.history import find_histories
from datawrangler.handoff.source import SourceHistory
from datawrangler.handoff.verify import import_drive, verify_drive
from datawrangler.handoff.writer import HandoffOptions, write_handoff, write_reverify_generations
from datawrangler.store.db import open_catalog
from datawrangler.store.handoff import destinations_at, destinations_under

Say = Callable[..., None]


def _stderr_say(event: str, message: str, **_data: Any) -> None:
    sys.stderr.write(f"{event}: {message}\n" if event in ("warning", "error") else message + "\n")


def _options(options: HandoffOptions | Mapping[str, Any] | None) -> HandoffOptions:
    return options if isinstance(options, HandoffOptions) else HandoffOptions.from_mapping(options)


def _with_db(catalog: Database | str | os.PathLike[str], fn: Callable[[Database], Any]) -> Any:
    if isinstance(catalog, Database):
        return fn(catalog)
    db = open_catalog(catalog)
    try:
        return fn(db)
    finally:
        db.close()


def after_offload(catalog: Database | str | os.PathLike[str], offload_id: int,
                  options: HandoffOptions | Mapping[str, Any] | None = None, *, source: SourceHistory | None = None,
                  scanned: list[str] | None = None, say: Say | None = None) -> list[str]:
    """After `recorder.finish(result)`: write the handoff files (nothing for an interrupted or cancelled
    offload) and report the source history check. Returns the paths written."""
    say = say or _stderr_say
    try:
        opts = _options(options)
    except ValueError as exc:  # a bad preset must not hide the offload's result: ASC MHL only, and say why
        say("warning", f"handoff settings: {exc} Writing the ASC MHL only.", code="handoff")
        opts = HandoffOptions()
    result = _with_db(catalog, lambda db: write_handoff(db, offload_id, opts,
                                                        source_history=source.history if source else None))
    for w in result.warnings:
        say("warning", w, code="handoff")
    if result.written:
        say("handoff", f"handoff files written: {len(result.written)}", paths=result.written)
    if source is not None:
        if scanned is not None:
            source.finish(scanned)
        rep = source.report()
        say("source_history", f"source ASC MHL history ({plural(rep.generations, 'generation')}): {rep.matched} "
            f"of {plural(rep.checked, 'file')} {agree(rep.matched, 'matches', 'match')}"
            + ("" if rep.ok else f", {plural(len(rep.mismatches), 'MISMATCH')}, {len(rep.missing)} missing"),
            ok=rep.ok, matched=rep.matched, checked=rep.checked, mismatches=rep.mismatches, missing=rep.missing,
            new=rep.new, problems=rep.problems)
        for path, what in rep.mismatches:
            say("warning", f"{path} differs from the source's ASC MHL history: {what}", code="source_mismatch",
                path=path)
        for path in rep.missing:
            say("warning", f"{path} is in the source's ASC MHL history but not on the source",
                code="source_missing", path=path)
        for problem in rep.problems:
            say("warning", problem, code="source_history")
    return result.written


def after_reverify(catalog: Database | str | os.PathLike[str], rolls: list[str], say: Say | None = None
                   ) -> list[str]:
    """After a re-verify: a generation (`in-place`, verified/failed) in each roll that has an ASC MHL history."""
    say = say or _stderr_say

    def run(db: Database) -> list[str]:
        result = write_reverify_generations(db, rolls, {r: destinations_at(db, r) for r in rolls})
        for w in result.warnings:
            say("warning", w, code="handoff")
        return result.written
    return _with_db(catalog, run)


def verify_if_unknown(db: Database, args: argparse.Namespace) -> int | None:
    """For `verify`: a target the catalog knows nothing of, that carries ASC MHL histories, is checked
    against them (exit 0 / 1). None: not such a target; verify against the catalog as usual."""
    target = args.target
    if not os.path.isdir(target) or destinations_under(db, target) or not find_histories(target):
        return None
    return _print_checks(args, target)


def _print_checks(args: argparse.Namespace, target: str) -> int:
    js = getattr(args, "json", False)

    def on_file(path: str, result: str) -> None:
        if js:
            emit(sys.stdout, "file", path=path, result=result)
        elif result != "verified":
            sys.stderr.write(f"{result.upper()} {path}\n")

    checks = verify_drive(target, on_file)
    if not checks:
        msg = f"{target} holds no ASC MHL history."
        emit(sys.stdout, "error", code="no_history", message=msg) if js else sys.stderr.write(f"error: {msg}\n")
        return EXIT_REFUSED
    ok = all(c.ok for c in checks)
    if js:
        emit(sys.stdout, "done", target=target, source="ascmhl", ok=ok, rolls=[c.__dict__ for c in checks])
    else:
        for c in checks:
            sys.stdout.write(f"{'VERIFIED' if c.ok else 'PROBLEMS'}: {c.verified} of {plural(c.checked, 'file')} "
                             f"{agree(c.verified, 'matches', 'match')} the ASC MHL history "
                             f"({plural(c.generations, 'generation')}) of {c.root}\n")
            for label, items in (("mismatch", c.mismatches), ("missing", c.missing), ("new", c.new),
                                 ("unreadable", c.unreadable), ("history problem", c.problems)):
                if items:
                    sys.stdout.write(f"  {len(items)} {label}: " + ", ".join(items[:10])
                                     + (" …" if len(items) > 10 else "") + "\n")
    return EXIT_OK if ok else EXIT_ERRORS


def cmd_mhl_verify(args: argparse.Namespace) -> int:
    return _print_checks(args, args.target)


def cmd_import(args: argparse.Namespace) -> int:
    db, _ = open_db(args)
    try:
        results = import_drive(db, args.drive)
    finally:
        db.close()
    if args.json:
        emit(sys.stdout, "done", drive=args.drive, rolls=[{"roll": r, "offload_id": o, "message": m}
                                                          for r, o, m in results])
    else:
        if not results:
            sys.stderr.write(f"error: {args.drive} holds no ASC MHL history to import.\n")
        for roll, oid, message in results:
            sys.stdout.write(f"{roll}: {message}" + (f" (offload {oid})" if oid else "") + "\n")
    if not any(oid for _, oid, _ in results):
        return EXIT_REFUSED if not results else EXIT_ERRORS
    return EXIT_OK


def cmd_mhl_write(args: argparse.Namespace) -> int:
    opts = HandoffOptions(ascmhl=not args.no_ascmhl, legacy_mhl=args.legacy,
                          checksum_lists=HandoffOptions.from_mapping({"checksum_lists": args.lists}).checksum_lists,
                          csv=args.csv, json=args.manifest_json)
    db, _ = open_db(args)
    try:
        written = after_offload(db, args.offload, opts)
    finally:
        db.close()
    for p in written:
        sys.stdout.write(p + "\n")
    return EXIT_OK if written else EXIT_ERRORS


def register(sub: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--catalog", metavar="PATH", default=argparse.SUPPRESS, help="the catalog file")
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


__all__ = ["after_offload", "after_reverify", "register", "verify_if_unknown"]
