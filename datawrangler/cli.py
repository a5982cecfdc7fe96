"""The command line: `datawrangler offload SOURCE DEST [DEST...]` and friends.

Exit codes (stable, documented in the README):
  0  every file verified on every destination
  1  finished with errors: some files failed (the summary lists them)
  2  refused before a byte moved (bad arguments, preflight), or a known condition stopped it
  3  copied, sizes checked only (verify mode 'size'): not verified
  4  interrupted: the card disappeared; resumable
  5  cancelled (Ctrl-C)
  70 internal error (a bug: please report it with the log)
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, TextIO

from datawrangler import __version__
from datawrangler.config import SettingsError, load_settings
from datawrangler.core.errors import OffloadError
from datawrangler.core.events import (
    FileResult,
    FileStatus,
    OffloadControl,
    OffloadResult,
    OffloadState,
    ProgressEvent,
)
from datawrangler.core.plan import OffloadPlan, preflight
from datawrangler.core.scan import scan_source

EXIT_OK, EXIT_ERRORS, EXIT_REFUSED, EXIT_NOT_VERIFIED, EXIT_INTERRUPTED, EXIT_CANCELLED, EXIT_BUG = 0, 1, 2, 3, 4, 5, 70

EXIT_FOR_STATE = {
    OffloadState.VERIFIED: EXIT_OK,
    OffloadState.COMPLETED_WITH_ERRORS: EXIT_ERRORS,
    OffloadState.COPIED: EXIT_NOT_VERIFIED,
    OffloadState.INTERRUPTED: EXIT_INTERRUPTED,
    OffloadState.CANCELLED: EXIT_CANCELLED,
}


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return {k: _jsonable(v) for k, v in asdict(obj).items()}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj


def _emit(out: TextIO, event: str, **data: Any) -> None:
    out.write(json.dumps({"event": event, **_jsonable(data)}, ensure_ascii=False) + "\n")
    out.flush()


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


class ProgressBar:
    """One line on a terminal, redrawn a few times a second."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self._last = 0.0

    def update(self, e: ProgressEvent) -> None:
        if not self.tty:
            now = time.monotonic()
            if now - self._last < 5 and e.phase != "done":
                return
            self._last = now
        width = 28
        filled = int(e.fraction * width)
        bar = "#" * filled + "-" * (width - filled)
        line = (f"[{bar}] {e.fraction * 100:5.1f}%  {e.files_done}/{e.files_total} files  "
                f"{human_bytes(e.speed)}/s  ETA {_eta(e.eta_seconds)}"
                + ("  PAUSED" if e.paused else "") + f"  {e.current_file[-40:]}")
        if self.tty:
            self.out.write("\r\x1b[2K" + line)
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()


def _print_summary(out: TextIO, result: OffloadResult) -> None:
    out.write(f"\n{result.state.value.upper()}: {result.message}\n")
    out.write(f"  files: {result.files_verified} verified, {result.files_copied} copied (not verified), "
              f"{result.files_failed} failed, {result.files_skipped} skipped; {human_bytes(result.bytes_total)} "
              f"in {result.duration:.1f} s ({human_bytes(result.bytes_total / max(result.duration, 1e-6))}/s)\n")
    out.write(f"  hashes: {', '.join(result.algorithms)}; verify mode: {result.verify_mode.value}\n")
    for d in result.destinations:
        out.write(f"  {d.state:>22}  {d.path}  ({d.files_ok} ok, {d.files_failed} failed)"
                  + (f": {d.message}" if d.message else "") + "\n")
    for f in result.failures[:50]:
        out.write(f"  FAILED {f.rel_path}: {f.code.value if f.code else ''}: {f.message}\n")
    if len(result.failures) > 50:
        out.write(f"  … and {len(result.failures) - 50} more failed files\n")
    for s in result.skipped[:20]:
        out.write(f"  skipped {s.rel_path}: {s.message}\n")


def cmd_offload(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    settings = load_settings()
    ignore = () if args.no_default_ignore else settings.ignore
    plan = OffloadPlan.create(
        args.source, args.dest, roll_name=args.roll,
        algorithms=args.hash or settings.algorithms,
        verify_mode=args.verify or settings.verify_mode,
        ignore=tuple(ignore) + tuple(args.ignore or ()),
        retries=settings.retries if args.retries is None else args.retries,
        read_retries=settings.read_retries,
        chunk_size=settings.chunk_mib << 20,
        queue_depth=settings.queue_depth,
        overlap_verify=settings.overlap_verify,
    )
    scan = scan_source(plan.source, plan.ignore)
    pf = preflight(plan, scan)
    for w in pf.warnings:
        if args.json:
            _emit(out, "warning", code=w.code.value, message=w.message, path=w.path)
        else:
            err.write(f"warning: {w.message}\n")
    if not pf.ok:
        for e in pf.errors:
            if args.json:
                _emit(out, "error", code=e.code.value, message=e.message, path=e.path)
            else:
                err.write(f"error: {e.message}\n")
        return EXIT_REFUSED
    if args.json:
        _emit(out, "start", source=plan.source, destinations=list(plan.destinations), files=len(scan.files),
              bytes=scan.total_bytes, algorithms=list(plan.algorithms), verify_mode=plan.verify_mode.value)
    else:
        err.write(f"Offloading {len(scan.files)} files ({human_bytes(scan.total_bytes)}) from {plan.source}\n")
        for d in plan.destinations:
            err.write(f"  -> {d}\n")

    control = OffloadControl()
    previous = signal.signal(signal.SIGINT, lambda *_: control.cancel())
    bar = None if args.json or args.quiet else ProgressBar(err)

    def on_progress(e: ProgressEvent) -> None:
        if args.json:
            _emit(out, "progress", phase=e.phase, files_done=e.files_done, files_total=e.files_total,
                  bytes_read=e.bytes_read, bytes_total=e.bytes_total, fraction=round(e.fraction, 4),
                  speed=round(e.speed), eta_seconds=None if e.eta_seconds is None else round(e.eta_seconds, 1),
                  current_file=e.current_file, paused=e.paused,
                  destinations=[{"path": d.path, "state": d.state, "bytes_written": d.bytes_written,
                                 "bytes_verified": d.bytes_verified} for d in e.destinations])
        elif bar is not None:
            bar.update(e)

    def on_file(f: FileResult) -> None:
        if args.json:
            _emit(out, "file", path=f.rel_path, size=f.size, status=f.status.value,
                  code=f.code.value if f.code else None, message=f.message, digests=dict(f.digests),
                  source_reverified=f.source_reverified,
                  copies=[{"destination": plan.destinations[c.destination], "state": c.state.value,
                           "code": c.code.value if c.code else None, "already_present": c.already_present,
                           "cache_bypassed": c.cache_bypassed, "attempts": c.attempts} for c in f.copies])
        elif f.status is FileStatus.FAILED and bar is not None and bar.tty:
            err.write(f"\r\x1b[2KFAILED {f.rel_path}: {f.message}\n")

    from datawrangler.core.transfer import offload

    try:
        result = offload(plan, control=control, on_progress=on_progress, on_file=on_file, scan=scan, check=False)
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
    if args.json:
        _emit(out, "done", state=result.state.value, message=result.message, files_total=result.files_total,
              files_verified=result.files_verified, files_failed=result.files_failed,
              files_skipped=result.files_skipped, bytes_total=result.bytes_total,
              duration=round(result.duration, 3), destinations=result.destinations,
              exit_code=EXIT_FOR_STATE[result.state])
    else:
        _print_summary(out, result)
    return EXIT_FOR_STATE[result.state]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="datawrangler", description="Verified camera-card offloads for the DIT.")
    p.add_argument("--version", action="version", version=f"datawrangler {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = p.add_subparsers(dest="command")

    o = sub.add_parser("offload", help="copy a card to one or more destinations and verify every copy",
                       description="Copy SOURCE into DEST/<roll> on every destination, reading the card once, "
                       "and read every copy back from the drive. Exit 0 only when every file is verified on "
                       "every destination.")
    o.add_argument("source", help="the card (mount point or folder)")
    o.add_argument("dest", nargs="+", help="destination folders (one per drive)")
    o.add_argument("--hash", help="algorithms, comma-separated, first is primary: xxh64 (default), xxh3, "
                   "xxh128, md5, sha1, c4")
    o.add_argument("--verify", choices=["full", "destinations", "size"],
                   help="full (default): read back every copy and re-read the card; destinations: read back "
                   "the copies; size: sizes only, never verified")
    o.add_argument("--roll", help="folder name on each destination (default: the card's folder name)")
    o.add_argument("--ignore", action="append", metavar="PATTERN", help="also ignore names matching PATTERN")
    o.add_argument("--no-default-ignore", action="store_true", help="copy system files (.DS_Store, ...) too")
    o.add_argument("--retries", type=int, help="re-copies of a file whose read-back does not match (default 2)")
    o.add_argument("--json", action="store_true", help="JSON-lines events on stdout, for scripts")
    o.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    o.set_defaults(func=cmd_offload)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    try:
        return int(args.func(args))
    except (OffloadError, SettingsError) as exc:
        if getattr(args, "json", False):
            _emit(sys.stdout, "error", code=getattr(exc, "code", "settings"), message=str(exc))
        else:
            sys.stderr.write(f"error: {exc}\n")
        return EXIT_REFUSED
