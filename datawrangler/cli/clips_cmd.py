"""`datawrangler clips OFFLOAD`: the clips the catalog holds for an offload (name, TC in/out, duration, format,
warnings); `--read` reads them again from a verified copy (an offload made before clips were read, a drive that
was away, more thumbnails)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from datawrangler.app.catalog import catalog_file
from datawrangler.app.clips import ClipOptions, read_offload_clips
from datawrangler.cli.common import CATALOG_HELP, EXIT_ERRORS, EXIT_OK, EXIT_REFUSED, open_db
from datawrangler.cli.output import Output
from datawrangler.core.clips import ClipState
from datawrangler.reports import clipview
from datawrangler.reports.clipmodel import ClipLine
from datawrangler.store import clips as store_clips
from datawrangler.store.clips import ClipRow
from datawrangler.store.handoff import offload_summary


def register(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--catalog", metavar="LOCATION", default=argparse.SUPPRESS,
                        help=CATALOG_HELP)
    common.add_argument("--json", action="store_true", help="one JSON object on stdout")
    c = sub.add_parser("clips", parents=[common], help="an offload's clips: timecode, duration, format, warnings",
                       description="List the clips of offload OFFLOAD as the catalog holds them. With --read, read "
                       "them again from a verified copy on a destination first (the card is not needed).")
    c.add_argument("offload", type=int, help="the offload's id (datawrangler history)")
    c.add_argument("--read", action="store_true", help="read the clips again from a verified copy")
    c.add_argument("--thumbnails", type=int, choices=[0, 1, 3], default=1, help="thumbnails per clip with --read")
    c.set_defaults(func=cmd_clips)


def _format(c: ClipRow, ln: ClipLine) -> str:
    """'ProRes 422 HQ 320x180 23.976 2 ch · 48 kHz': the report's words for the clip (reports.clipview)."""
    if c.meta.state is ClipState.NOT_READ:
        return "metadata not read"
    size = f"{ln.width}x{ln.height}" if ln.width and ln.height else ""
    return " ".join(p for p in (ln.codec, size, ln.rate, ln.audio) if p) or "-"


def cmd_clips(args: argparse.Namespace) -> int:
    """Exit 0: the clips are listed and none is flagged; 1: a clip is possibly damaged or has missing frames;
    2: no such offload."""
    out = Output.of(args)
    db, path = open_db(args)
    try:
        if args.read:
            try:
                found = read_offload_clips(db, catalog_file(path), args.offload, ClipOptions(args.thumbnails))
            except ValueError as exc:
                out.error("unknown_offload", str(exc))
                return EXIT_REFUSED
            out.info(found.summary + ".")
        rows = store_clips.offload_clips(db, args.offload)
        known = bool(rows) or offload_summary(db, args.offload) is not None
    finally:
        db.close()
    if not known:
        out.error("unknown_offload", f"There is no offload {args.offload} in the catalog: see 'datawrangler history'.")
        return EXIT_REFUSED
    flagged = [c for c in rows if c.flagged]
    if out.json:
        out.emit("clips", offload=args.offload, clips=[_json(c) for c in rows])
        return EXIT_ERRORS if flagged else EXIT_OK
    if not rows:
        out.line(f"Offload {args.offload} has no clips in the catalog: read them with 'datawrangler clips "
                 f"{args.offload} --read'.")
        return EXIT_OK
    for c in rows:
        ln = clipview.line(c, None)
        out.line(f"{c.name:<28} {c.meta.tc_in or '-':<12} {c.meta.tc_out or '-':<12} {ln.duration or '-':<12} "
                 f"{_format(c, ln)}")
        for w in c.warnings:
            out.line(f"{'':<4}! {w}")
    out.line(f"{len(rows)} clips; {len(flagged)} flagged")
    return EXIT_ERRORS if flagged else EXIT_OK


def _json(c: ClipRow) -> dict[str, Any]:
    meta = dataclasses.asdict(c.meta)
    meta["state"] = c.meta.state.value
    return {"name": c.name, "kind": c.kind.value, "files": c.files, "bytes": c.bytes, "first_frame": c.first_frame,
            "last_frame": c.last_frame, "gaps": [list(g) for g in c.gaps], "warnings": list(c.warnings),
            "thumbnails": list(c.thumbnails), **meta}
