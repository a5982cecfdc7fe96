"""`offload` and `resume`: arguments to an app request, app.offload.run_offload, and what it says printed
(a progress bar and a summary, or JSON lines for scripts)."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any, TextIO

from datawrangler.app import request as requests
from datawrangler.app.offload import Notice, Observer, OffloadOutcome, Refused, Started, run_offload
from datawrangler.cli.common import EXIT_FOR_STATE, EXIT_REFUSED, ProgressBar, catalog_path, emit, human_bytes, open_db
from datawrangler.config import find_preset, load_settings
from datawrangler.core.events import FileResult, FileStatus, OffloadControl, OffloadResult, ProgressEvent
from datawrangler.core.words import plural


class _Printer:
    """The one output path of an offload on the command line: JSON lines on stdout (--json), or words on
    stderr (progress, notices) and the summary on stdout."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.json = bool(args.json)
        self.out, self.err = sys.stdout, sys.stderr
        self.ids: dict[str, Any] = {}
        self.bar = None if self.json or args.quiet else ProgressBar(self.err)
        self.destinations: tuple[str, ...] = ()

    def event(self, event: str, **data: Any) -> None:
        emit(self.out, event, **self.ids, **data)

    def notice(self, n: Notice) -> None:
        if self.json:
            self.event(n.event, message=n.message, **({"code": n.code} if n.code else {}), **n.data)
        else:
            self.err.write(f"{n.level}: {n.message}\n" if n.level != "info" else n.message + "\n")

    def refused(self, exc: Refused) -> None:
        for p in exc.problems:
            self.notice(Notice("error", p.message, "error", p.code.value, {"path": p.path}))

    def started(self, s: Started) -> None:
        self.ids["offload_id"] = s.offload_id
        self.destinations = s.destinations
        if self.json:
            self.event("start", source=s.source, destinations=list(s.destinations), files=s.files, bytes=s.bytes,
                       algorithms=list(s.algorithms), verify_mode=s.verify_mode)
            return
        self.err.write(f"Offload {s.offload_id}: {plural(s.files, 'file')} ({human_bytes(s.bytes)}) from {s.source}\n")
        for d in s.destinations:
            self.err.write(f"  -> {d}\n")

    def progress(self, e: ProgressEvent) -> None:
        if self.json:
            self.event("progress", phase=e.phase, files_done=e.files_done, files_total=e.files_total,
                       bytes_read=e.bytes_read, bytes_total=e.bytes_total, fraction=round(e.fraction, 4),
                       speed=round(e.speed), eta_seconds=None if e.eta_seconds is None else round(e.eta_seconds, 1),
                       current_file=e.current_file, paused=e.paused,
                       destinations=[{"path": d.path, "state": d.state, "bytes_written": d.bytes_written,
                                      "bytes_verified": d.bytes_verified} for d in e.destinations])
        elif self.bar is not None:
            self.bar.update(e)

    def file(self, f: FileResult) -> None:
        if self.json:
            self.event("file", path=f.rel_path, size=f.size, status=f.status.value,
                       code=f.code.value if f.code else None, message=f.message, digests=dict(f.digests),
                       source_reverified=f.source_reverified,
                       copies=[{"destination": self.destinations[c.destination], "state": c.state.value,
                                "code": c.code.value if c.code else None, "already_present": c.already_present,
                                "cache_bypassed": c.cache_bypassed, "attempts": c.attempts} for c in f.copies])
        elif f.status is FileStatus.FAILED and self.bar is not None and self.bar.tty:
            self.err.write(f"\r\x1b[2KFAILED {f.rel_path}: {f.message}\n")

    def observer(self) -> Observer:
        return Observer(started=self.started, progress=self.progress, file=self.file, notice=self.notice)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def done(self, out: OffloadOutcome, code: int) -> None:
        r = out.result
        if self.json:
            self.event("done", state=r.state.value, message=r.message, files_total=r.files_total,
                       files_verified=r.files_verified, files_failed=r.files_failed, files_skipped=r.files_skipped,
                       bytes_total=r.bytes_total, duration=round(r.duration, 3), destinations=r.destinations,
                       exit_code=code, safe_to_format=out.safe, copies_required=out.copies_required,
                       reasons=list(out.reasons))
            return
        _print_summary(self.out, r)
        self.out.write(f"  offload {out.offload_id}; safe to format: "
                       + ("YES\n" if out.safe else "NO: " + " ".join(out.reasons) + "\n"))


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
        out.write(f"  … and {plural(len(result.failures) - 50, 'more failed file')}\n")
    for s in result.skipped[:20]:
        out.write(f"  skipped {s.rel_path}: {s.message}\n")


def cmd_offload(args: argparse.Namespace) -> int:
    settings = load_settings()
    preset = find_preset(args.preset) if args.preset else None
    if not args.dest and (preset is None or not preset.destinations):
        sys.stderr.write("error: no destination: name one or more after the card, or use --preset with a preset "
                         "that has destination drives.\n")
        return EXIT_REFUSED
    printer = _Printer(args)
    db, _path = open_db(args)
    try:
        req, warnings = requests.from_arguments(
            db, args.source, args.dest, settings, preset, roll=args.roll, algorithms=args.hash,
            verify_mode=args.verify, extra_ignore=tuple(args.ignore or ()),
            default_ignore=False if args.no_default_ignore else None, retries=args.retries, project=args.project,
            reel=args.reel, camera=args.camera, operator=args.operator, shooting_day=args.day,
            location=args.location, incremental=True if args.incremental else None)
    finally:
        db.close()
    for code, text in warnings:
        printer.notice(Notice("warning", text, "warning", code))
    return _run(args, printer, req)


def cmd_resume(args: argparse.Namespace) -> int:
    settings = load_settings()
    printer = _Printer(args)
    printer.ids["offload_id"] = args.offload
    return _run(args, printer, requests.resume_request(args.offload, "", settings))


def _run(args: argparse.Namespace, printer: _Printer, req: requests.OffloadRequest) -> int:
    control = OffloadControl()
    previous = signal.signal(signal.SIGINT, lambda *_: control.cancel())
    try:
        out = run_offload(req, control, catalog=catalog_path(args), observer=printer.observer())
    except Refused as exc:
        printer.refused(exc)
        return EXIT_REFUSED
    finally:
        signal.signal(signal.SIGINT, previous)
        printer.close()
    code = EXIT_FOR_STATE[out.result.state]
    printer.done(out, code)
    return code
