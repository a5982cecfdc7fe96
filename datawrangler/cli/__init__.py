"""The command line: `datawrangler offload SOURCE DEST [DEST...] [--stage2 ROOT]`, `resume`, `stage2 [run]`,
`verify`, `history`, `status`, `catalog backups|restore`.

Every command records into, or reads from, the catalog: `--catalog PATH` (before or after the command),
default the user data folder, moved by DATAWRANGLER_HOME.

Exit codes (stable, documented in the README):
  A command that runs several offloads (a cascading copy's stages, `stage2 run`) exits with the worst of
  theirs (cli.common.worst: 70, then 1, 2, 4, 5, 3).
  0  offload/resume: every file verified on every destination; status: safe to format; verify: all matched
  1  offload/resume: finished with errors (the summary lists them); status: NOT safe to format (reasons
     given); verify: missing, changed or unreadable files
  2  refused before a byte moved (bad arguments, preflight, a catalog that cannot be used, an unknown card
     or offload), or a known condition stopped it
  3  copied, sizes checked only (verify mode 'size'): not verified
  4  interrupted: the card disappeared; resumable (`datawrangler resume OFFLOAD`)
  5  cancelled (Ctrl-C); resumable
  70 internal error (a bug: please report it with the log)
"""

from __future__ import annotations

import argparse
import logging
import traceback
from collections.abc import Sequence

from datawrangler import __version__
from datawrangler.cli.common import (
    CATALOG_HELP,
    EXIT_BUG,
    EXIT_CANCELLED,
    EXIT_ERRORS,
    EXIT_FOR_STATE,
    EXIT_INTERRUPTED,
    EXIT_NOT_VERIFIED,
    EXIT_OK,
    EXIT_REFUSED,
)
from datawrangler.cli.output import Output
from datawrangler.config import SettingsError
from datawrangler.core.errors import OffloadError
from datawrangler.store.db import BACKEND_ERRORS, CatalogError

__all__ = ["EXIT_BUG", "EXIT_CANCELLED", "EXIT_ERRORS", "EXIT_FOR_STATE", "EXIT_INTERRUPTED", "EXIT_NOT_VERIFIED",
           "EXIT_OK", "EXIT_REFUSED", "build_parser", "main"]


NO_CLIPS_HELP = ("do not read the clips' metadata and thumbnails once the copies are verified (read them later "
                 "with 'datawrangler clips OFFLOAD --read')")


def _day(text: str) -> int:
    """A shooting day number: 0 or more, as the preset's 'day'."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the shooting day is a number, 0 or more (e.g. --day 15).")
    return n


def _common(json_help: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--catalog", metavar="PATH", default=argparse.SUPPRESS,
                   help="the catalog file (default: in the user data folder; DATAWRANGLER_HOME moves it)")
    p.add_argument("--json", action="store_true", help=json_help)
    return p


def build_parser() -> argparse.ArgumentParser:
    from datawrangler.cli import (
        cards_cmds,
        catalog,
        clips_cmd,
        drive_cmds,
        gui_cmds,
        handoff_cmds,
        offload,
        report_cmd,
        stage2_cmd,
        status_cmd,
    )

    p = argparse.ArgumentParser(prog="datawrangler", description="Verified camera-card offloads for the DIT.")
    p.add_argument("--version", action="version", version=f"datawrangler {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    p.add_argument("--catalog", metavar="LOCATION", help=CATALOG_HELP)
    sub = p.add_subparsers(dest="command")
    events = _common("JSON-lines events on stdout, for scripts (each names the offload's id)")

    o = sub.add_parser("offload", parents=[events],
                       help="copy a card to one or more destinations and verify every copy",
                       description="Copy SOURCE into DEST/<roll> on every destination, reading the card once, "
                       "read every copy back from the drive, and record it all in the catalog. Exit 0 only when "
                       "every file is verified on every destination.")
    o.add_argument("source", help="the card (mount point or folder)")
    o.add_argument("dest", nargs="*", help="destination folders (one per drive; default: the preset's drives)")
    o.add_argument("--preset", metavar="NAME", help="offload as the window would with this preset: its drives "
                   "(unless DESTs are given), naming template, hashes, verify mode, copies required and handoff "
                   "files; the options below still override it")
    o.add_argument("--hash", help="algorithms, comma-separated, first is primary: xxh64 (default), xxh3, "
                   "xxh128, md5, sha1, c4")
    o.add_argument("--verify", choices=["full", "destinations", "size"],
                   help="full (default): read back every copy and re-read the card; destinations: read back "
                   "the copies; size: sizes only, never verified")
    o.add_argument("--roll", help="folder name on each destination (default: the card's folder name, or the "
                   "preset's naming template)")
    o.add_argument("--ignore", action="append", metavar="PATTERN", help="also ignore names matching PATTERN")
    o.add_argument("--no-default-ignore", action="store_true", help="copy system files (.DS_Store, ...) too")
    o.add_argument("--retries", type=int, help="re-copies of a file whose read-back does not match (default 2)")
    o.add_argument("--project", help="the production's name, recorded in the catalog")
    o.add_argument("--reel", help="the card's reel (default: from its clip names, else its folder name, e.g. A001 "
                   "from A001R2EC)")
    o.add_argument("--camera", help="the camera (e.g. A; default: the clips' camera letter)")
    o.add_argument("--operator", help="who ran the offload")
    o.add_argument("--day", type=_day, metavar="N", help="the shooting day number, recorded in the catalog for the "
                   "reports ('Day N')")
    o.add_argument("--location", metavar="TEXT", help="where the offload was made (e.g. 'Stage 4'), for the reports")
    o.add_argument("--incremental", action="store_true",
                   help="a card offloaded before: copy only files the catalog does not hold verified there")
    o.add_argument("--no-clips", action="store_true", help=NO_CLIPS_HELP)
    o.add_argument("--thumbnails", type=int, choices=[0, 1, 3], help="thumbnails per clip (default 1, or the preset's)")
    o.add_argument("--rule", help="the rule the card must meet before it is safe to format: '3-2-1' (three "
                   "copies, two kinds of media, one in another place) or a number of copies on distinct drives "
                   "(default: the preset's, else the settings' copies_required)")
    o.add_argument("--stage2", action="append", metavar="ROOT", help="cascading copy: once every file is verified "
                   "on the DESTs (stage 1) the card is released, and the verified stage-1 copy is copied to "
                   "ROOT/<roll> (stage 2, checked against the card's hashes). Repeat for more drives; replaces "
                   "the preset's 'stage2'")
    o.add_argument("--stage2-later", action="store_true", help="leave the stage-2 copies queued once the card is "
                   "released ('datawrangler stage2 run' runs them) instead of running them now")
    o.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    o.set_defaults(func=offload.cmd_offload)

    r = sub.add_parser("resume", parents=[events], help="finish an interrupted offload",
                       description="Redo only what offload OFFLOAD did not verify (same source, destinations, "
                       "hashes and verify mode), after removing the temp files it left.")
    r.add_argument("offload", type=int, help="the offload's id (datawrangler history)")
    r.add_argument("--stage2-later", action="store_true", help="a cascading copy's stage 1: leave the stage-2 "
                   "copies queued once it ends verified, instead of running them now")
    r.add_argument("--no-clips", action="store_true", help=NO_CLIPS_HELP)
    r.add_argument("--thumbnails", type=int, choices=[0, 1, 3], help="thumbnails per clip (default 1)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=offload.cmd_resume)

    v = sub.add_parser("verify", parents=[events], help="re-read a drive against the catalog",
                       description="Re-read (bypassing the OS cache) every file the catalog places at or under "
                       "PATH_OR_VOLUME, record each result, and report missing, changed and extra files.")
    v.add_argument("target", metavar="PATH_OR_VOLUME", help="a drive's mount point, a folder on it, or its label/UUID")
    v.set_defaults(func=catalog.cmd_verify)

    h = sub.add_parser("history", parents=[_common("one JSON object on stdout")], help="search past offloads")
    h.add_argument("--since", metavar="DATE", help="from this day (YYYY-MM-DD)")
    h.add_argument("--until", metavar="DATE", help="up to and including this day")
    h.add_argument("--project")
    h.add_argument("--reel")
    h.add_argument("--volume", help="a destination drive's label or UUID, or a path prefix")
    h.add_argument("--state", help="verified, completed with errors, interrupted, cancelled, running, ...")
    h.add_argument("--limit", type=int, default=200)
    h.set_defaults(func=catalog.cmd_history)

    s = sub.add_parser("status", parents=[_common("one JSON object on stdout")],
                       help="is this card safe to format?",
                       description="Per card: verified copies on distinct drives, and whether it is safe to "
                       "format (exit 0) or not (exit 1, with the reasons).")
    s.add_argument("card", metavar="CARD", help="the card's mount point, its reel (A001) or its id")
    s.add_argument("--copies", type=int, help="verified copies required on distinct drives (default: settings, 2)")
    s.add_argument("--rule", help="the rule the card must meet: '3-2-1' (three copies, two kinds of media, one in "
                   "another place) or a number of copies on distinct drives (default: --copies)")
    s.add_argument("--reel", help="the reel of a mounted card, when its folder name does not say")
    s.set_defaults(func=status_cmd.cmd_status)

    stage2_cmd.register(sub)
    catalog.register(sub)
    handoff_cmds.register(sub)
    clips_cmd.register(sub)
    report_cmd.register(sub)
    cards_cmds.register(sub)
    drive_cmds.register(sub)
    gui_cmds.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command is None:  # a bare `datawrangler` opens the window
        from datawrangler.cli import gui_cmds

        return gui_cmds.run_default(args)
    try:
        return int(args.func(args))
    except (OffloadError, SettingsError, CatalogError) as exc:
        code = getattr(exc, "code", None) or ("catalog" if isinstance(exc, CatalogError) else "settings")
        Output.of(args).error(str(code), str(exc))
        return EXIT_REFUSED
    except BACKEND_ERRORS as exc:  # e.g. the catalog's disk filled up before the offload was recorded
        Output.of(args).error("catalog", f"The catalog could not be written ({exc}). Free space on the catalog's "
                              "disk (or move it with --catalog or DATAWRANGLER_HOME), then run the command again. "
                              "What was verified before stays verified on the destinations.")
        return EXIT_REFUSED
    except Exception as exc:  # a bug: the traceback for the report, a sentence and exit 70 for the script
        traceback.print_exc()  # on stderr in both modes: stdout stays JSON lines only with --json
        Output.of(args).error("internal", f"DataWrangler hit a bug ({type(exc).__name__}: {exc}). What was verified "
                              "before stays verified; 'datawrangler resume' finishes an offload it stopped. Please "
                              "report it with the traceback above (run again with -v for more).")
        return EXIT_BUG
