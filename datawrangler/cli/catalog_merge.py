"""`datawrangler catalog merge OTHER` and `datawrangler catalog export FILE`: catalogs that were apart.

On set there is often no network: each station records into its own catalog. `merge` brings another station's
catalog (an SQLite file, or a server's URL) into this one, by global identities, in one transaction
(store.merge); `export` writes the whole catalog as one self-contained SQLite file for post (store.export).
Exit 0 when the merge had nothing to report, 1 when records disagree (listed: this catalog's were kept), 2 when
it could not run (nothing was changed).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from datawrangler.cli.common import EXIT_ERRORS, EXIT_OK, EXIT_REFUSED, catalog_path
from datawrangler.cli.output import Output
from datawrangler.core.words import plural
from datawrangler.store import holders
from datawrangler.store.db import CatalogError, is_server
from datawrangler.store.location import open_location

if TYPE_CHECKING:  # store.merge, export and server load SQLAlchemy: only these commands pay for it
    from datawrangler.store.merge import MergeResult


def _this(args: argparse.Namespace, busy_check: bool = False) -> str:
    """This station's catalog: a server's URL as given (the merge checks its schema), or the file, created or
    migrated first (as every command opens it) so a merge writes into a catalog of the current schema, with its
    backup taken before any migration."""
    where = catalog_path(args)
    if is_server(where):
        return where
    db = open_location(where)
    try:
        running = holders.running_offloads(db, every=True) if busy_check else []
    finally:
        db.close()
    if running:  # a merge holds the file's write lock for its whole run: the offload's records would wait
        raise CatalogError(f"An offload is running on this catalog now: {running[0].describe()}. A merge holds the "
                           "catalog for its whole run (up to a minute for a million files), which would hold up that "
                           "offload's records. Merge once it has ended.")
    return where


def _steps(out: Output) -> Callable[[str], None] | None:
    # steps of a long merge on stderr, so stdout stays the result (and JSON lines only with --json)
    if out.json or not sys.stderr.isatty():
        return None
    def say(step: str) -> None:
        print(f"  … {step}", file=sys.stderr, flush=True)
    return say


def _emit(out: Output, event: str, result: MergeResult) -> None:
    if out.json:
        out.emit(event, this=result.this, other=result.other, added=result.added, downgraded=result.downgraded,
                 stations=list(result.stations), running=result.running,
                 conflicts=[dataclasses.asdict(c) | {"sentence": c.sentence()} for c in result.conflicts])
        return
    for line in result.lines():
        out.line(line)


def cmd_merge(args: argparse.Namespace) -> int:
    from datawrangler.store.merge import merge

    out = Output.of(args)
    try:
        this = _this(args, busy_check=True)
        result = merge(this, args.other, on_step=_steps(out))
    except CatalogError as exc:
        out.error("merge_failed", f"{exc} This catalog was not changed.")
        return EXIT_REFUSED
    _emit(out, "merged", result)
    return EXIT_ERRORS if result.conflicts else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from datawrangler.store.export import export

    out = Output.of(args)
    try:
        result = export(_this(args), args.file, on_step=_steps(out))
    except CatalogError as exc:
        out.error("export_failed", str(exc))
        return EXIT_REFUSED
    if out.json:
        out.emit("exported", file=str(args.file), catalog=result.other, added=result.added)
    else:
        n = result.added.get("offloads", 0)
        files = result.added.get("files", 0)
        out.line(f"Exported {result.other} to {args.file}: {n:,} offloads, {files:,} files, one SQLite file that "
                 "any DataWrangler opens (datawrangler --catalog FILE history) and merges (datawrangler catalog "
                 "merge FILE).")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """The window's "test connection", for a script or a terminal: exit 0 when a station can use the catalog."""
    from datawrangler.store import server

    out = Output.of(args)
    where = args.location or catalog_path(args)
    check = server.create_schema(where) if args.create else server.check_connection(where)
    if out.json:
        out.emit("catalog_check", location=str(where), status=check.status.value, ok=check.ok, message=check.message,
                 server_version=check.server_version, revision=check.revision, can_create=check.can_create)
    else:
        out.line(check.message)
    return EXIT_OK if check.ok else EXIT_REFUSED


def _create(args: argparse.Namespace) -> int:
    try:
        return cmd_check(args)
    except CatalogError as exc:
        Output.of(args).error("catalog", str(exc))
        return EXIT_REFUSED


def cmd_deliver(args: argparse.Namespace) -> int:
    from datawrangler.app import spooled

    out = Output.of(args)
    problems: list[str] = []
    done = spooled.deliver(catalog_path(args), on_error=problems.append)
    for d in done:
        out.emit("delivered", offload_id=d.offload_id, results=d.results, written=list(d.written))
        out.line(f"Offload {d.offload_id}: {plural(d.results, 'result')} delivered to the catalog.")
    for text in problems:
        out.error("not_delivered", text)
    left = spooled.waiting()
    if not left and not done:
        out.line("Nothing waits: every result of this station is in the catalog.")
    for w in left:
        out.line(f"Still waiting: offload {w.record.offload_id}, {plural(w.results, 'result')} for {w.catalog}.")
    return EXIT_OK if not left else EXIT_ERRORS


def register(kinds: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    c = kinds.add_parser("check", parents=[common], help="can this station use the catalog there? (test connection)",
                         description="Check a catalog location (a file, or postgresql://USER@HOST:PORT/DB) and say "
                         "exactly what is wrong: host unreachable, authentication failed, database missing, server "
                         "too old, schema missing, schema too new. Only reads, unless --create. Exit 0: usable.")
    c.add_argument("location", nargs="?", metavar="LOCATION", help="default: this station's catalog (--catalog)")
    c.add_argument("--create", action="store_true", help="create the catalog's tables in an empty database, or "
                   "upgrade an older catalog (another station doing it at the same time waits)")
    c.set_defaults(func=_create)
    m = kinds.add_parser("merge", parents=[common], help="bring another station's catalog into this one",
                         description="Add what another station's catalog (an SQLite file, or a server's URL "
                         "postgresql://USER@HOST/DB) holds and this one lacks, matched by global identities (drives, "
                         "cards, offload ids), in one transaction: merging twice adds nothing. Records both hold "
                         "that disagree are listed and this catalog's are kept; a merge never makes a copy "
                         "verified. Exit 0: merged; 1: merged, with records that disagree; 2: nothing changed.")
    m.add_argument("other", metavar="OTHER", help="the other catalog: a file (another station's catalog.sqlite, "
                   "an export) or postgresql://... ; only read")
    m.set_defaults(func=cmd_merge)
    e = kinds.add_parser("export", parents=[common], help="write the catalog as one SQLite file for post",
                         description="Write everything this catalog holds into the new file FILE: one "
                         "self-contained SQLite catalog to travel with the drives. Never replaces a file.")
    e.add_argument("file", metavar="FILE", help="the new catalog file (must not exist)")
    e.set_defaults(func=cmd_export)
    d = kinds.add_parser("deliver", parents=[common], help="send the results this station kept while the server "
                         "was away", description="Deliver to the catalog's server the offload results this station "
                         "kept in its spool while the server was not answering, then write those offloads' handoff "
                         "files and reports. Every offload and status on a server catalog delivers first too. Exit "
                         "0: nothing waits any more; 1: some results still wait (the message says why).")
    d.set_defaults(func=cmd_deliver)
