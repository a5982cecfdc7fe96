#!/usr/bin/env python3
"""Long runs: one 100,000-file offload, 50 consecutive offloads in one process, two cards at once.

Every offload goes through the one recorded path (app.offload.run_offload: engine + catalog writer
thread), full verify mode, two destinations, into a real catalog. Reported: wall time, files/s, peak RSS
(ru_maxrss), RSS after each of the consecutive offloads (from /proc/self/statm, after gc) and its trend.

    .venv/bin/python benchmarks/bench_longrun.py                       # all three, 100,000 files
    .venv/bin/python benchmarks/bench_longrun.py --files 20000 --runs 20 --json-out longrun.json

The small versions run in the test suite: tests/faults/test_longrun.py.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datawrangler.app.offload import OffloadOutcome, run_offload
from datawrangler.app.request import OffloadRequest

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def make_card(root: Path, files: int, size: int = 512, per_dir: int = 1000) -> Path:
    """An ARRIRAW-like sequence: `files` frames of `size` bytes, `per_dir` per clip folder."""
    root.mkdir(parents=True, exist_ok=True)
    blob = os.urandom(size + files)
    for i in range(files):
        d = root / f"A001C{i // per_dir + 1:03d}_231014_R2EC"
        if i % per_dir == 0:
            d.mkdir(exist_ok=True)
        with open(d / f"A001C{i // per_dir + 1:03d}_231014_R2EC.{i:07d}.ari", "wb") as f:
            f.write(blob[i:i + size])
    return root


def offload(card: Path, dests: list[Path], catalog: Path, roll: str | None = None) -> OffloadOutcome:
    req = OffloadRequest(str(card), tuple(map(str, dests)), roll or "", reel="A001", copies_required=2, handoff=None,
                         report=False)
    return run_offload(req, catalog=catalog)


def big(work: Path, files: int) -> dict:
    card = make_card(work / "big" / "A001R2EC", files)
    dests = [work / "big" / "d1", work / "big" / "d2"]
    for d in dests:
        d.mkdir()
    t0 = time.perf_counter()
    done = offload(card, dests, work / "big" / "catalog.sqlite")
    wall = time.perf_counter() - t0
    assert done.result.files_verified == files, done.result.message
    return {"files": files, "wall_s": round(wall, 2), "files_per_s": round(files / wall),
            "peak_rss_mb": round(peak_mb(), 1), "state": done.result.state.value}


def consecutive(work: Path, runs: int, files: int = 200) -> dict:
    card = make_card(work / "seq" / "A001R2EC", files, size=4096, per_dir=100)
    catalog = work / "seq" / "catalog.sqlite"
    samples = []
    t0 = time.perf_counter()
    for i in range(runs):
        dests = [work / "seq" / f"r{i}-d1", work / "seq" / f"r{i}-d2"]
        for d in dests:
            d.mkdir()
        done = offload(card, dests, catalog)
        assert done.result.files_verified == files
        gc.collect()
        samples.append(round(rss_mb(), 2))
    half = len(samples) // 2
    return {"runs": runs, "files_each": files, "wall_s": round(time.perf_counter() - t0, 2), "rss_mb": samples,
            "rss_first_half_max": max(samples[1:half]), "rss_second_half_max": max(samples[half:]),
            "growth_mb": round(max(samples[half:]) - max(samples[1:half]), 2),
            "threads_alive": threading.active_count()}


def two_cards(work: Path, files: int = 2000) -> dict:
    cards = [make_card(work / "two" / n, files, size=2048, per_dir=200) for n in ("A001R2EC", "B001R7XY")]
    dests = [work / "two" / "shared1", work / "two" / "shared2"]
    for d in dests:
        d.mkdir()
    out: dict[str, OffloadOutcome] = {}
    t0 = time.perf_counter()
    catalog = work / "two" / "cat.sqlite"
    threads = [threading.Thread(target=lambda c=c: out.__setitem__(c.name, offload(c, dests, catalog))) for c in cards]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"files_each": files, "wall_s": round(time.perf_counter() - t0, 2),
            "states": {k: v.result.state.value for k, v in out.items()}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--workdir")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="dw-longrun-") as tmp:
        work = Path(tmp)
        os.environ.setdefault("DATAWRANGLER_HOME", str(work / "home"))
        result = {"consecutive": consecutive(work, args.runs), "two_cards": two_cards(work),
                  "big": big(work, args.files)}
    print(json.dumps(result, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
