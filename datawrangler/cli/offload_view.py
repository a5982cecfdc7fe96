"""What one offload says on the command line, stage 1 or stage 2 of a cascading copy alike: its observer
(start, progress, file results, app notices) through the command's Output, and its summary once it ends."""

from __future__ import annotations

from datawrangler.app.outcome import Notice, Observer, OffloadOutcome, Refused, Started
from datawrangler.cli.output import Output
from datawrangler.core.events import FileResult, FileStatus, OffloadResult, ProgressEvent
from datawrangler.core.words import human_bytes, plural

# notices the command line says itself, in its own place (cli.cascade_cmds says the release after the
# stage-1 summary, with what to do next), rather than when the app reports them
SAID_BY_THE_CLI = frozenset({"released"})


class OffloadView:
    """An offload's observer, said through the command's Output: the events (start, progress, file, done,
    and the app's notices) for scripts, or for people the start and the progress bar on stderr and the
    summary on stdout. One per run: a cascading copy makes one for each stage."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.destinations: tuple[str, ...] = ()
        self.source = ""

    def observer(self) -> Observer:
        return Observer(started=self.started, progress=self.progress, file=self.file, notice=self.notice)

    def notice(self, n: Notice) -> None:
        if n.event not in SAID_BY_THE_CLI:
            self.out.notice(n)

    def started(self, s: Started) -> None:
        self.out.context["offload_id"] = s.offload_id
        self.destinations, self.source = s.destinations, s.source
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
        self.out.emit("done", offload_id=outcome.offload_id, state=r.state.value, message=r.message,
                      files_total=r.files_total, files_verified=r.files_verified, files_failed=r.files_failed,
                      files_skipped=r.files_skipped, bytes_total=r.bytes_total, duration=round(r.duration, 3),
                      destinations=r.destinations, exit_code=code, safe_to_format=outcome.safe,
                      copies_required=outcome.copies_required, reasons=list(outcome.reasons),
                      rule=outcome.verdict.rule, judgement=outcome.verdict.sentence, stage=outcome.stage,
                      cascade_of=outcome.cascade_of, released=outcome.released, stage2=list(outcome.stage2))
        for line in summary(r):
            self.out.line(line)
        what = f"offload {outcome.offload_id}"
        if outcome.stage == 2:
            what += f" (stage 2 of offload {outcome.cascade_of}, from its stage-1 copy {self.source})"
        self.out.line(f"  {what}; safe to format: " + ("YES" if outcome.safe else "NO: " + " ".join(outcome.reasons)))


def summary(result: OffloadResult) -> list[str]:
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
