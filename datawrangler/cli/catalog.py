"""`history` and `verify`: what the catalog knows, and re-reading a drive against it (`status` is
cli.status_cmd); `catalog backups` and `catalog restore`: the catalog's own backups, and putting one in place
of a damaged catalog (`catalog merge|export|check`: cli.catalog_merge).

`catalog backups` and `restore` never open the catalog as the others do (a damaged one would be refused): they
read it and its backups read-only, and `restore` only moves files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from datawrangler.cli import catalog_merge, handoff_cmds
from datawrangler.cli.common import CATALOG_HELP, EXIT_ERRORS, EXIT_OK, EXIT_REFUSED, catalog_file_only, open_db
from datawrangler.cli.made_from import made_from, made_from_text, stage_note
from datawrangler.cli.output import Output
from datawrangler.core.words import human_bytes, plural, when
from datawrangler.store import backups, damage, history, reverify


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
        for r in rows:
            r["made_from"] = made_from(db, r["id"])
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
                 f"{human_bytes(r['bytes_total'] or 0):>9}  {r['source']}{stage_note(r['made_from'])}")
        _copies(out, r, "{:>7}".format(""))
    return EXIT_OK


def _copies(out: Output, offload: dict, indent: str) -> None:
    """An offload's copies, each with what it was made from; a stage-2 offload not started yet has no copy
    rows: the roll folders it will write."""
    source = made_from_text(offload["made_from"])
    for d in offload["destinations"]:
        out.line(f"{indent}-> {d['path']}  ({d['state']}, {d['volume']}), made from {source}")
    if not offload["destinations"]:
        for path in offload["made_from"].get("destinations", []):
            out.line(f"{indent}-> {path}  ({offload['state']}, not written yet), to be made from {source}")


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


def register(sub: argparse._SubParsersAction) -> None:
    """`datawrangler catalog backups`, `catalog restore [BACKUP]`, `catalog merge OTHER`, `catalog export FILE`."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--catalog", metavar="LOCATION", default=argparse.SUPPRESS,
                        help=CATALOG_HELP)
    common.add_argument("--json", action="store_true", help="one JSON object on stdout")
    c = sub.add_parser("catalog", help="the catalog's backups, restoring one, merging another station's, exporting",
                       description="The catalog is backed up beside itself each day it is used and before each "
                       f"migration (the last {backups.KEEP_DAILY} daily and {backups.KEEP_BEFORE_MIGRATION} "
                       "pre-migration backups are kept); backups and restore work on a damaged catalog too. merge "
                       "brings another station's catalog into this one; export writes it as one file for post.")
    kinds = c.add_subparsers(dest="catalog_command", required=True, metavar="backups|restore|merge|export|check")
    b = kinds.add_parser("backups", parents=[common], help="the catalog's state and its backups, newest first",
                         description="Check the catalog (SQLite's quick check, read-only) and list its backups, "
                         "newest first, with their age; the last good one is checked and marked.")
    b.add_argument("--check", action="store_true", help="check every backup, not only up to the last good one")
    b.set_defaults(func=cmd_backups)
    r = kinds.add_parser("restore", parents=[common], help="put a backup in place of a damaged catalog",
                         description="Put a copy of BACKUP (default: the last good backup) in place of the "
                         "catalog. The catalog there is moved aside under a dated name (kept, never deleted), with "
                         "its -wal and -shm files. Quit the window and let offloads finish first.")
    r.add_argument("backup", nargs="?", metavar="BACKUP", help="a backup's file name ('datawrangler catalog "
                   "backups' lists them) or the path of a copy elsewhere")
    r.add_argument("--force", action="store_true", help="restore even though the catalog is not damaged: what was "
                   "recorded after the backup leaves the catalog (the current file is moved aside, not deleted)")
    r.set_defaults(func=cmd_restore)
    catalog_merge.register(kinds, common)


def cmd_backups(args: argparse.Namespace) -> int:
    out = Output.of(args)
    path = catalog_file_only(args, "keeping its backups")
    state = damage.inspect(path) if path.exists() else None
    now = time.time()
    found: list[tuple[backups.Backup, bool, str | None]] = []
    good = None
    for b in backups.list_backups(path):
        checked = args.check or good is None
        why = backups.problem(b.path) if checked else None
        if checked and why is None and good is None:
            good = b
        found.append((b, checked, why))
    if out.json:
        rows = [{"name": b.path.name, "path": str(b.path), "kind": b.kind, "taken_at": b.taken_at,
                 "age": backups.age(b.taken_at, now), "size": b.size, "version": b.version, "checked": checked,
                 "problem": why, "last_good": b is good} for b, checked, why in found]
        out.emit("backups", catalog=str(path), exists=path.exists(), damaged=state is not None, problem=state,
                 backups=rows, last_good=str(good.path) if good else None)
        return EXIT_OK
    said = "not there yet" if not path.exists() else f"DAMAGED: {state}" if state else "ok (SQLite's quick check)"
    out.line(f"Catalog {path}: {said}")
    if not found:
        out.line("No backups of it yet: one is taken each day it is used (once it holds an offload) and before "
                 "each migration.")
        return EXIT_OK
    out.line(f"{plural(len(found), 'backup')}, newest first (kept: the last {backups.KEEP_DAILY} daily, the last "
             f"{backups.KEEP_BEFORE_MIGRATION} before a migration):")
    for b, checked, why in found:
        mark = "last good" if b is good else f"DAMAGED: {why}" if why else "good" if checked else ""
        version = f"schema {b.version}" if b.version is not None else "schema ?"
        out.line(f"  {b.path.name:<40} {b.kind:<16} {when(b.taken_at)}  {backups.age(b.taken_at, now):<20} "
                 f"{human_bytes(b.size):>9}  {version}  {mark}".rstrip())
    if state and good is not None:
        out.line(f"To restore the last good one: datawrangler catalog restore{damage.catalog_option(path)}")
    return EXIT_OK


def _chosen(path: Path, given: str) -> Path | None:
    """BACKUP as given: a path, or the name of a file beside the catalog."""
    for candidate in (Path(given).expanduser(), path.parent / given):
        if candidate.is_file():
            return candidate
    return None


def cmd_restore(args: argparse.Namespace) -> int:
    out = Output.of(args)
    path = catalog_file_only(args, "restoring a backup")
    opt = damage.catalog_option(path)
    if args.backup:
        backup = _chosen(path, args.backup)
        if backup is None:
            out.error("no_backup", f"There is no backup {args.backup!r}: give a file name that 'datawrangler catalog "
                      f"backups{opt}' lists, or the path of a copy of the catalog.")
            return EXIT_REFUSED
    else:
        last = backups.last_good(path)
        if last is None:
            out.error("no_backup", f"No good backup of the catalog {path} was found beside it ({path.name}.bak-*). "
                      f"If you have a copy of it elsewhere, give its path: datawrangler catalog restore{opt} PATH.")
            return EXIT_REFUSED
        backup = last.path
    why = backups.problem(backup)
    if why is not None:
        out.error("bad_backup", f"{backup} cannot be restored: {why}. Nothing was changed. Choose another: "
                  f"'datawrangler catalog backups{opt} --check' says which are good.")
        return EXIT_REFUSED
    taken = when(backup.stat().st_mtime)
    state = damage.inspect(path) if path.exists() else None
    if path.exists() and path.stat().st_size > 0 and state is None and not args.force:  # it holds something
        out.error("catalog_not_damaged", f"The catalog {path} is not damaged (SQLite's quick check passed). "
                  f"Restoring {backup.name} (taken {taken}) would replace it, and what was recorded since then "
                  "would leave the catalog. Nothing was changed. To do it anyway, add --force: the current catalog "
                  "is moved aside (kept, not deleted).")
        return EXIT_REFUSED
    try:
        aside = backups.restore(path, backup, reason="damaged" if state else "replaced")
    except backups.BackupFailed as exc:
        out.error("bad_backup", f"{exc} Nothing was changed.")
        return EXIT_REFUSED
    except OSError as exc:
        free = human_bytes(shutil.disk_usage(path.parent).free) if path.parent.is_dir() else "?"
        out.error("restore_failed", f"The backup {backup} could not be copied into place ({exc.strerror or exc}). "
                  f"The catalog was left where it was. Free space on its disk ({free} free; the backup needs "
                  f"{human_bytes(backup.stat().st_size)}), then run the command again.")
        return EXIT_REFUSED
    moved = (f" The catalog that was there was moved aside to {aside.name} (kept, not deleted)."
             if aside is not None else "")
    out.event("restored", f"Restored {backup.name} (taken {taken}) as the catalog {path}.{moved} Offloads "
              f"recorded after {taken} are not in it; their copies on the drives are not affected: 'datawrangler "
              "import DRIVE' adds each drive's ASC MHL histories back, and 'datawrangler verify DRIVE' re-reads them.",
              catalog=str(path), backup=str(backup), set_aside=str(aside) if aside else None, was_damaged=state)
    return EXIT_OK
