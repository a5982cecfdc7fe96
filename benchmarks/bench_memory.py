#!/usr/bin/env python3
"""Memory benchmark: the whole `datawrangler offload` command on a card of many small files.

Issue 14's target: an offload of 1,000,000 files of 1 KB to two drives peaks below 400 MB of resident memory,
the engine and everything after it (the handoff files, the offload report) included. What grows with the file
count is what this measures, so the files are tiny and the copy itself costs little.

It builds N files (default 100,000 of 1 KB, 1,000 per folder like an image sequence) in a card folder, runs the
real command as a user would (a subprocess: `datawrangler offload CARD D1 D2 --verify destinations --no-clips
--json`, its own catalog and DATAWRANGLER_HOME in the work folder) and reports:

* wall time, and the peak RSS of the command (getrusage of the child: the kernel's high-water mark);
* the RSS curve sampled from /proc every 20 ms, cut into phases by the command's own JSON events: the engine
  (until the `progress` event of phase `done`), the handoff (until the `handoff` event), the report (until the
  `report` event) and the rest. Each phase's peak and its growth over the RSS it started with is its share:
  tracemalloc would be exact but is far too slow at 1,000,000 files. (Freed memory is seldom given back to the
  system, so a phase that needs less than an earlier one shows a growth of 0.)

Stdlib only; Linux (/proc). Run it with the project's interpreter so that `python -m datawrangler` resolves
(PYTHONPATH=<an exported tree> measures that code instead: e.g. `git archive` of an earlier commit):

    .venv/bin/python benchmarks/bench_memory.py                   # 100,000 files
    .venv/bin/python benchmarks/bench_memory.py --files 1000000   # ~10 GB of free space in --workdir's drive
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

PER_FOLDER = 1000
TARGET_MB = 400
PHASES = (("engine", "done"), ("handoff", "handoff"), ("report", "report"), ("end", None))


@dataclass
class Phase:
    name: str
    start_mb: float = 0.0
    peak_mb: float = 0.0
    seconds: float = 0.0

    @property
    def growth_mb(self) -> float:
        return max(0.0, self.peak_mb - self.start_mb)


@dataclass
class Result:
    files: int
    file_bytes: int
    wall_seconds: float
    peak_rss_mb: float
    exit_code: int
    phases: list[Phase] = field(default_factory=list)
    handoff_written: int = 0

    def lines(self) -> list[str]:
        out = [f"files: {self.files:,} of {self.file_bytes} B, exit code {self.exit_code}",
               f"wall time: {self.wall_seconds:.1f} s ({self.wall_seconds / max(self.files, 1) * 1e6:.0f} us per file)",
               f"peak RSS: {self.peak_rss_mb:.0f} MB (target < {TARGET_MB} MB: "
               f"{'met' if self.peak_rss_mb < TARGET_MB else 'NOT met'})"]
        for p in self.phases:
            out.append(f"  {p.name:8} {p.seconds:7.1f} s  RSS at start {p.start_mb:6.0f} MB  peak {p.peak_mb:6.0f} MB"
                       f"  growth {p.growth_mb:6.0f} MB")
        out.append(f"handoff files written: {self.handoff_written}")
        return out


def build_card(card: Path, files: int, size: int) -> None:
    """N files of `size` random bytes (no two alike), PER_FOLDER to a folder: A001C001/F0000001.ari ..."""
    folder = card
    for i in range(files):
        if i % PER_FOLDER == 0:
            folder = card / f"A001C{i // PER_FOLDER + 1:04d}"
            folder.mkdir(parents=True)
        (folder / f"F{i:07d}.ari").write_bytes(os.urandom(size))


def _rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Sampler(threading.Thread):
    """The child's RSS every 20 ms, as (monotonic time, MB)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            mb = _rss_mb(self.pid)
            if mb is not None:
                self.samples.append((time.monotonic(), mb))
            self.stop.wait(0.02)


def run_offload(work: Path, card: Path) -> tuple[float, int, dict[str, float], int, list[tuple[float, float]], str]:
    """(wall seconds, exit code, {event: monotonic time first seen}, handoff files written, RSS samples, stderr)."""
    dests = [work / "D1", work / "D2"]
    for d in dests:
        d.mkdir()
    env = {**os.environ, "DATAWRANGLER_HOME": str(work / "home")}
    cmd = [sys.executable, "-m", "datawrangler", "offload", str(card), *map(str, dests), "--verify", "destinations",
           "--no-clips", "--json", "--catalog", str(work / "catalog.sqlite")]
    seen: dict[str, float] = {}
    written = 0
    start = time.monotonic()
    with open(work / "stderr.txt", "w+b") as err:
        # run from the work folder, as a user would: never from a source tree that `-m` would import instead
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env, text=True, bufsize=1, cwd=work)
        sampler = Sampler(proc.pid)
        sampler.start()
        assert proc.stdout is not None
        for line in proc.stdout:  # read as they come: the phases' times are when the events arrive
            if not line.startswith('{"event": "file"'):  # one a file: never kept
                ev = json.loads(line)
                key = "done" if ev["event"] == "progress" and ev.get("phase") == "done" else ev["event"]
                if key in ("done", "handoff", "report") and key not in seen:
                    seen[key] = time.monotonic()
                if ev["event"] == "handoff":
                    written += len(ev.get("paths") or ())
        code = proc.wait()
        wall = time.monotonic() - start
        sampler.stop.set()
        sampler.join()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return wall, code, seen, written, sampler.samples, stderr


def _code(work: Path) -> str:
    """Where the command's `datawrangler` package comes from, as the command itself will import it."""
    done = subprocess.run([sys.executable, "-c", "import datawrangler; print(datawrangler.__file__)"], cwd=work,
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or done.stderr.strip()[-300:]


def phases(samples: list[tuple[float, float]], seen: dict[str, float], begin: float, end: float) -> list[Phase]:
    out: list[Phase] = []
    t0 = begin
    for name, event in PHASES:
        t1 = seen.get(event, end) if event else end
        inside = [mb for t, mb in samples if t0 <= t <= t1]
        before = [mb for t, mb in samples if t < t0]
        p = Phase(name, seconds=max(0.0, t1 - t0))
        p.start_mb = before[-1] if before else (inside[0] if inside else 0.0)
        p.peak_mb = max(inside, default=p.start_mb)
        out.append(p)
        t0 = t1
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=100_000, help="how many files on the card (default 100,000)")
    ap.add_argument("--size", type=int, default=1024, help="bytes per file (default 1024)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where the card, the two destinations and the catalog go (default: a new folder in "
                         "/var/tmp, removed afterwards)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--json-out", type=Path, help="also write the result as JSON here")
    args = ap.parse_args(argv)
    base = args.workdir or Path(tempfile.mkdtemp(prefix="dw-bench-memory-", dir="/var/tmp"))
    work = base / "run"
    base.mkdir(parents=True, exist_ok=True)
    try:
        need = args.files * (3 * max(args.size, 4096) + 2048)  # the card and two copies, a block each, + catalog
        free = shutil.disk_usage(base).free
        if free < need:
            print(f"{base} has {free / 1e9:.1f} GB free; {args.files:,} files need about {need / 1e9:.1f} GB. Free "
                  "space there or choose another drive with --workdir.", file=sys.stderr)
            return 2
        shutil.rmtree(work, ignore_errors=True)
        card = work / "A001R2EC"
        t = time.monotonic()
        build_card(card, args.files, args.size)
        print(f"code measured: {_code(work)}", flush=True)
        print(f"card built: {args.files:,} files in {time.monotonic() - t:.0f} s", flush=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        begin = time.monotonic()
        wall, code, seen, written, samples, stderr = run_offload(work, card)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if peak_kb <= before:  # the high-water mark is over all children so far: fall back on the samples
            peak_kb = int(max((mb for _, mb in samples), default=0) * 1024)
        result = Result(args.files, args.size, wall, peak_kb / 1024, code,
                        phases(samples, seen, begin, begin + wall), written)
        for line in result.lines():
            print(line)
        if code != 0:
            print(f"the offload exited {code}; its last words:\n{stderr[-2000:]}", file=sys.stderr)
        if args.json_out:
            doc = {**asdict(result), "phases": [{**asdict(p), "growth_mb": p.growth_mb} for p in result.phases]}
            args.json_out.write_text(json.dumps(doc, indent=2) + "\n")
        return 0 if code == 0 else 1
    finally:
        if not args.keep:
            shutil.rmtree(work if args.workdir else base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
