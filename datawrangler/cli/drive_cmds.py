"""`datawrangler drive kind PATH KIND` and `datawrangler drive list`: what each drive is, as a studio's rule
counts kinds of media (core.protection.MediaKind: a shuttle SSD, a RAID, LTO tape...).

A rule such as 3-2-1 asks for copies on at least two kinds of media; a drive nobody described never counts as
another kind, so the DIT says once what each drive is, and the catalog keeps it on the drive's volume rows
(store.volumes). Wired into the parser by `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from datawrangler.cli.common import CATALOG_HELP, EXIT_OK, EXIT_REFUSED, open_db
from datawrangler.cli.output import Output
from datawrangler.core.protection import MEDIA_WORDS, MediaKind
from datawrangler.core.words import when
from datawrangler.store import volumes

UNSET = "unset"
KINDS = [k.value for k in MediaKind]


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--catalog", metavar="LOCATION", default=argparse.SUPPRESS,
                        help=CATALOG_HELP)
    common.add_argument("--json", action="store_true", help="one JSON object on stdout, for scripts")
    d = subparsers.add_parser("drive", help="say what a drive is (shuttle, RAID, LTO...), list the drives",
                              description="The drives the catalog knows and the kind of media each is. A rule "
                              "such as 3-2-1 counts kinds of media: a drive of no recorded kind never counts as "
                              "another kind.")
    sub = d.add_subparsers(dest="drive_command", required=True)
    k = sub.add_parser("kind", parents=[common], help="record what the drive holding PATH is",
                       description=f"Record the media kind of the drive holding PATH: {', '.join(KINDS)} "
                       f"('{UNSET}' forgets it). Every volume of the same physical disk gets it.")
    k.add_argument("path", metavar="PATH", help="the drive's mount point or any folder on it")
    k.add_argument("kind", metavar="KIND", help=f"one of {', '.join(KINDS)}, or {UNSET}")
    k.set_defaults(func=cmd_kind)
    ls = sub.add_parser("list", parents=[common], help="the drives in the catalog, with their media kind")
    ls.set_defaults(func=cmd_list)


def cmd_kind(args: argparse.Namespace) -> int:
    out = Output.of(args)
    kind = args.kind.strip().lower()
    if kind not in (*KINDS, UNSET):
        out.error("bad_argument", f"Unknown media kind {args.kind!r}. Use one of {', '.join(KINDS)} "
                  f"({', '.join(MEDIA_WORDS[k] for k in MediaKind)}), or {UNSET} to forget it.")
        return EXIT_REFUSED
    if not os.path.exists(args.path):
        out.error("not_found", f"{args.path} does not exist. Give the drive's mount point or a folder on it, "
                  "with the drive connected.")
        return EXIT_REFUSED
    db, _ = open_db(args)
    try:
        vol, rows = volumes.set_media_kind(db, args.path, None if kind == UNSET else kind)
    finally:
        db.close()
    name = vol.label or vol.mount_point or vol.disk
    said = "no recorded kind" if kind == UNSET else MEDIA_WORDS[MediaKind(kind)]
    if out.json:
        out.emit("drive", disk=vol.disk, label=vol.label, mount_point=vol.mount_point,
                 media_kind=None if kind == UNSET else kind, volumes=rows)
    else:
        out.line(f"Drive {name} ({vol.disk}): {said}.")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    out = Output.of(args)
    db, _ = open_db(args)
    try:
        found = volumes.drives(db)
    finally:
        db.close()
    if out.json:
        out.emit("drives", drives=[{"disk": d.disk, "labels": list(d.labels), "mount_points": list(d.mount_points),
                                    "media_kind": d.media_kind, "role": d.kind, "last_seen": d.last_seen}
                                   for d in found])
        return EXIT_OK
    if not found:
        out.line("The catalog knows no drive yet: an offload records its card and destinations.")
    for d in found:
        kind = d.media_kind or f"(kind not said: datawrangler drive kind PATH {'|'.join(KINDS)})"
        seen = when(d.last_seen) if d.last_seen else "-"
        out.line(f"{', '.join(d.labels) or d.disk:<24} {kind:<10} {d.kind:<12} last seen {seen}  "
                 f"{', '.join(d.mount_points)}")
    return EXIT_OK
