"""`offload` and `resume`: arguments to an app request, app.offload.run_offload, and what it says printed
(a progress bar and a summary, or JSON lines for scripts)."""

from __future__ import annotations

import argparse
import signal

from datawrangler.app import request as requests
from datawrangler.app.offload import Observer, OffloadOutcome, Refused, Started, run_offload
from datawrangler.cli.common import EXIT_FOR_STATE, EXIT_REFUSED, catalog_path, open_db
from datawrangler.cli.output import Output
from datawrangler.config import find_preset, load_settings
from datawrangler.core.events import FileResult, FileStatus, OffloadControl, OffloadResult, ProgressEvent
from datawrangler.core.words import human_bytes, plural


class _Offload:
    """An offload's observer, said through the command's Output: the events (start, progress, file, done,
    and app.offload's notices) for scripts, or for people the start and the progress bar on stderr and the
    summary on stdout."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.destinations: tuple[str, ...] = ()

    def observer(self) -> Observer:
        return Observer(started=self.started, progress=self.progress, file=self.file, notice=self.out.notice)

    def started(self, s: Started) -> None:
        self.out.context["offload_id"] = s.offload_id
        self.destinations = s.destinations
        self.out.emit("start", source=s.source, destinations=list(s.destinations), files=s.files, bytes=s.bytes,
                      algorithms=list(s.algorithms), verify_mode=s.verify_mode)
        self.out.info(f"Offload {s.offload_id}: {plural(s.files, 'file')} ({human_bytes(s.bytes)}) from {s.source}")
        for d in s.destinations:
            self.out.info(f"  -> {d}")

    def progress(self, e: ProgressEvent) -> None:
        if self.out.json:
            self.out.emit("progress", phase=e.phase, files_done=e.files_done, files_total=e.files_total,
                          bytes_read=e.bytes_read, bytes_total=e.bytes_total, fraction=round(e.fraction, 4),
                          speed=round(e.speed), eta_seconds=None if e.eta_seconds is None else round(e.eta_seconds, 1),
                          current_file=e.current_file, paused=e.paused,
                          destinations=[{"path": d.path, "state": d.state, "bytes_written": d.bytes_written,
                                         "bytes_verified": d.bytes_verified} for d in e.destinations])
        self.out.progress(e)

    def file(self, f: FileResult) -> None:
        if self.out.json:
            self.out.emit("file", path=f.rel_path, size=f.size, status=f.status.value,
                          code=f.code.value if f.code else None, message=f.message, digests=dict(f.digests),
                          source_reverified=f.source_reverified,
                          copies=[{"destination": self.destinations[c.destination], "state": c.state.value,
                                   "code": c.code.value if c.code else None, "already_present": c.already_present,
                                   "cache_bypassed": c.cache_bypassed, "attempts": c.attempts} for c in f.copies])
        elif f.status is FileStatus.FAILED and self.out.live:  # the summary lists them at the end
            self.out.info(f"FAILED {f.rel_path}: {f.message}")

    def refused(self, exc: Refused) -> None:
        for p in exc.problems:
            self.out.error(p.code.value, p.message, path=p.path)

    def done(self, outcome: OffloadOutcome, code: int) -> None:
        r = outcome.result
        self.out.emit("done", state=r.state.value, message=r.message, files_total=r.files_total,
                      files_verified=r.files_verified, files_failed=r.files_failed, files_skipped=r.files_skipped,
                      bytes_total=r.bytes_total, duration=round(r.duration, 3), destinations=r.destinations,
                      exit_code=code, safe_to_format=outcome.safe, copies_required=outcome.copies_required,
                      reasons=list(outcome.reasons))
        for line in _summary(r):
            self.out.line(line)
        self.out.line(f"  offload {outcome.offload_id}; safe to format: "
                      + ("YES" if outcome.safe else "NO: " + " ".join(outcome.reasons)))


def _summary(result: OffloadResult) -> list[str]:
    lines = ["", f"{result.state.value.upper()}: {result.message}",
             f"  files: {result.files_verified} verified, {result.files_copied} copied (not verified), "
             f"{result.files_failed} failed, {result.files_skipped} skipped; {human_bytes(result.bytes_total)} "
             f"in {result.duration:.1f} s ({human_bytes(result.bytes_total / max(result.duration, 1e-6))}/s)",
             f"  hashes: {', '.join(result.algorithms)}; verify mode: {result.verify_mode.value}"]
    lines += [f"  {d.state:>22}  {d.path}  ({d.files_ok} ok, {d.files_failed} failed)"
              + (f": {d.message}" if d.message else "") for d in result.destinations]
    lines += [f"  FAILED {f.rel_path}: {f.code.value if f.code else ''}: {f.message}" for f in result.failures[:50]]
    if len(result.failures) > 50:
        lines.append(f"  … and {plural(len(result.failures) - 50, 'more failed file')}")
    lines += [f"  skipped {s.rel_path}: {s.message}" for s in result.skipped[:20]]
    return lines


def cmd_offload(args: argparse.Namespace) -> int:
    settings = load_settings()
    preset = find_preset(args.preset) if args.preset else None
    out = Output.of(args)
    if not args.dest and (preset is None or not preset.destinations):
        out.error("no_destination", "no destination: name one or more after the card, or use --preset with a "
                  "preset that has destination drives.")
        return EXIT_REFUSED
    db, _path = open_db(args)
    try:
        req = requests.from_arguments(
            db, args.source, args.dest, settings, preset, roll=args.roll, algorithms=args.hash,
            verify_mode=args.verify, extra_ignore=tuple(args.ignore or ()),
            default_ignore=False if args.no_default_ignore else None, retries=args.retries, project=args.project,
            reel=args.reel, camera=args.camera, operator=args.operator, shooting_day=args.day,
            location=args.location, incremental=True if args.incremental else None,
            read_clips=False if args.no_clips else None, thumbnails=args.thumbnails)
    finally:
        db.close()
    return _run(args, _Offload(out), req)


def cmd_resume(args: argparse.Namespace) -> int:
    settings = load_settings()
    out = Output.of(args)
    out.context["offload_id"] = args.offload
    return _run(args, _Offload(out), requests.resume_request(args.offload, "", settings))


def _run(args: argparse.Namespace, view: _Offload, req: requests.OffloadRequest) -> int:
    control = OffloadControl()
    previous = signal.signal(signal.SIGINT, lambda *_: control.cancel())
    try:
        outcome = run_offload(req, control, catalog=catalog_path(args), observer=view.observer())
    except Refused as exc:
        view.refused(exc)
        return EXIT_REFUSED
    finally:
        signal.signal(signal.SIGINT, previous)
        view.out.close()
    code = EXIT_FOR_STATE[outcome.result.state]
    view.done(outcome, code)
    return code
