#!/usr/bin/env python3
"""Catalog benchmark.

(a) Recording cost. A synthetic 100,000-file offload (two destinations) is recorded exactly as the engine
    feeds it: the listing at the start (begin_offload), then one FileResult per file through the Recorder's
    queue and writer thread. Its cost (listing + every batch transaction) is compared with the engine's
    own per-file cost, measured by a real offload of small files without a catalog, scaled to 100,000
    files. A real offload of the same small files with the catalog is also timed against one without.
    Requirement: catalog writes < 5% of the offload's time.
(b) The redundancy question on a 1,000,000-file synthetic catalog (two verified copies per file on two
    drives, plus verification rows): time card_redundancy() for a 10,000-file card and a 100,000-file
    card. Requirement: < 2 s.

Run: .venv/bin/python benchmarks/bench_catalog.py [--files 100000] [--engine-files 3000] [--big 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datawrangler.core.cards import fingerprint
from datawrangler.core.events import CopyResult, CopyState, FileResult, FileStatus, VerifyMode
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import ScanResult, SourceFile, scan_source
from datawrangler.core.transfer import offload
from datawrangler.store.db import open_catalog
from datawrangler.store.offloads import OffloadMeta, begin_offload
from datawrangler.store.recorder import Recorder
from datawrangler.store.redundancy import card_redundancy


def _small_card(root: Path, n: int) -> Path:
    card = root / "A001R2EC"
    rnd = random.Random(1)
    for i in range(n):
        p = card / f"A001C001_{i // 1000:03d}" / f"A001C001.{i:07d}.ari"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rnd.randbytes(rnd.randint(1024, 16384)))
    return card


def _engine_run(card: Path, dests: list[Path], catalog: Path | None) -> tuple[float, float]:
    """(wall seconds of the offload, seconds the catalog writer spent in transactions)"""
    plan = OffloadPlan.create(card, dests, verify_mode="full")
    t0 = time.perf_counter()
    scan = scan_source(plan.source, plan.ignore)
    writer = 0.0
    if catalog is None:
        offload(plan, scan=scan)
    else:
        db = open_catalog(catalog)
        rec = begin_offload(db, plan, scan, fingerprint(scan), OffloadMeta(reel="A001"))
        recorder = Recorder(catalog, rec, plan.verify_mode)
        recorder.start()
        result = offload(plan, scan=scan, on_file=recorder.on_file)
        recorder.finish(result)
        writer = recorder.write_seconds
        db.close()
    return time.perf_counter() - t0, writer


def bench_engine(tmp: Path, n: int) -> dict:
    card = _small_card(tmp / "card", n)
    times: dict[str, list[float]] = {"plain": [], "catalog": []}
    writer: list[float] = []
    for rnd in range(5):  # interleaved; medians, since other work on the machine makes single runs noisy
        for kind in ("plain", "catalog"):
            dests = [tmp / f"{kind}{rnd}-1", tmp / f"{kind}{rnd}-2"]
            for d in dests:
                d.mkdir()
            cat = tmp / f"cat{rnd}.sqlite" if kind == "catalog" else None
            wall, w = _engine_run(card, dests, cat)
            times[kind].append(wall)
            if cat is not None:
                writer.append(w)
            for d in dests:
                shutil.rmtree(d)
    plain, with_cat = statistics.median(times["plain"]), statistics.median(times["catalog"])
    return {"files": n, "plain_s": round(plain, 3), "with_catalog_s": round(with_cat, 3),
            "per_file_ms": round(plain / n * 1000, 4), "overhead_pct": round((with_cat / plain - 1) * 100, 2),
            "writer_s": round(statistics.median(writer), 3),
            "writer_share_pct": round(statistics.median(writer) / with_cat * 100, 2)}


def bench_recorder(tmp: Path, n: int) -> dict:
    t_ns = 1_697_000_000_000_000_000
    files = [SourceFile(f"A001C001_{i // 1000:03d}/A001C001.{i:07d}.ari", 8192 + i % 4096, t_ns + i) for i in range(n)]
    scan = ScanResult(str(tmp), files, [], [], sum(f.size for f in files))
    (tmp / "src").mkdir(parents=True)
    d1, d2 = tmp / "d1", tmp / "d2"
    d1.mkdir()
    d2.mkdir()
    plan = OffloadPlan(str(tmp / "src"), (str(d1 / "A001R2EC"), str(d2 / "A001R2EC")))
    catalog = tmp / "rec.sqlite"
    db = open_catalog(catalog)
    t0 = time.perf_counter()
    rec = begin_offload(db, plan, scan, fingerprint(scan), OffloadMeta(reel="A001"))
    listing = time.perf_counter() - t0
    results = []
    for f in files:
        dig = {"xxh64": f"{hash(f.rel_path) & (2**64 - 1):016x}"}
        copies = tuple(CopyResult(i, CopyState.VERIFIED, digests=dig, cache_bypassed=True, verified_at=time.time())
                       for i in range(2))
        results.append(FileResult(f.rel_path, f.size, f.mtime_ns, FileStatus.VERIFIED, dig, copies,
                                  source_reverified=True))
    recorder = Recorder(catalog, rec, VerifyMode.FULL)
    recorder.start()
    t1 = time.perf_counter()
    for r in results:
        recorder.on_file(r)
    enqueue = time.perf_counter() - t1
    from datawrangler.core.events import OffloadResult, OffloadState
    recorder.finish(OffloadResult(OffloadState.VERIFIED, n, n, 0, 0, 0, scan.total_bytes, 0.0, 1.0, VerifyMode.FULL,
                                  ("xxh64",), (), (), ()))
    total = time.perf_counter() - t1
    count = db.conn.execute("SELECT COUNT(*) FROM copies WHERE state = 'verified'").fetchone()[0]
    assert count == 2 * n, count
    db.close()
    return {"files": n, "listing_s": round(listing, 3), "enqueue_s": round(enqueue, 3),
            "writer_s": round(recorder.write_seconds, 3), "drain_wall_s": round(total, 3),
            "catalog_s": round(listing + recorder.write_seconds, 3),
            "per_file_us": round((listing + recorder.write_seconds) / n * 1e6, 1)}


def build_big(path: Path, total: int, big_card: int, small_card: int) -> tuple[int, int]:
    """A catalog of `total` files: one card of big_card files, the rest in cards of small_card files."""
    db = open_catalog(path)
    conn = db.conn
    now = time.time()
    with db.atomic():
        conn.execute("INSERT INTO volumes (id, key, disk, kind) VALUES (1, 'uuid:a', 'id:diskA', 'destination'),"
                     " (2, 'uuid:b', 'id:diskB', 'destination'), (3, 'uuid:c', 'id:card', 'card')")
        sizes = [big_card] + [small_card] * ((total - big_card) // small_card)
        fid = cid = 0
        for k, n in enumerate(sizes, start=1):
            conn.execute("INSERT INTO cards (id, fingerprint, reel, lineage, file_count, volume_id)"
                         " VALUES (?, ?, ?, ?, ?, 3)", (k, f"{k:064x}", f"A{k:03d}", k, n))
            conn.execute("INSERT INTO offloads (id, uuid, card_id, reel, source, plan, state, started_at, files_total)"
                         " VALUES (?, ?, ?, ?, '/card', '{}', 'verified', ?, ?)",
                         (k, f"u{k}", k, f"A{k:03d}", now + k, n))
            conn.executemany("INSERT INTO destinations (id, offload_id, idx, path, volume_id, state)"
                             " VALUES (?, ?, ?, ?, ?, 'verified')",
                             [(2 * k - 1, k, 0, f"/a/A{k:03d}", 1), (2 * k, k, 1, f"/b/A{k:03d}", 2)])
            rows, copies, checks = [], [], []
            for i in range(n):
                fid += 1
                rows.append((fid, k, f"A{k:03d}C{i // 500:03d}/A{k:03d}.{i:07d}.ari", 10000 + i, 1_697_000_000 + i,
                             '{"xxh64": "0123456789abcdef"}', "verified"))
                for d in (2 * k - 1, 2 * k):
                    cid += 1
                    copies.append((cid, fid, d, "verified", '{"xxh64": "0123456789abcdef"}', now))
                    checks.append((cid, now, "offload-readback", 1, "verified"))
            conn.executemany("INSERT INTO files (id, offload_id, rel_path, size, mtime_ns, digests, status)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            conn.executemany("INSERT INTO copies (id, file_id, destination_id, state, digests, verified_at)"
                             " VALUES (?, ?, ?, ?, ?, ?)", copies)
            conn.executemany("INSERT INTO verifications (copy_id, at, method, cache_bypassed, result)"
                             " VALUES (?, ?, ?, ?, ?)", checks)
    conn.execute("ANALYZE")
    db.close()
    return 1, 2  # the big card's id, a small card's id


def bench_redundancy(tmp: Path, total: int) -> dict:
    path = tmp / "big.sqlite"
    t0 = time.perf_counter()
    big, small = build_big(path, total, min(100_000, total // 2), 10_000)
    build = time.perf_counter() - t0
    out: dict = {"files_in_catalog": total, "build_s": round(build, 1),
                 "size_mb": round(path.stat().st_size / 1e6, 1)}
    db = open_catalog(path)
    try:
        for name, card in (("card_100k", big), ("card_10k", small)):
            best = 1e9
            for _ in range(3):
                t = time.perf_counter()
                red = card_redundancy(db, card, 2)
                best = min(best, time.perf_counter() - t)
            assert red.safe, red.reasons
            out[f"{name}_files"] = red.files_total
            out[f"{name}_s"] = round(best, 3)
    finally:
        db.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=100_000, help="files of the synthetic recorded offload")
    ap.add_argument("--engine-files", type=int, default=3000, help="small files of the real offload")
    ap.add_argument("--big", type=int, default=1_000_000, help="files in the synthetic catalog")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dw-bench-catalog-"))
    try:
        engine = bench_engine(tmp / "engine", args.engine_files) if args.engine_files else None
        rec = bench_recorder(tmp / "rec", args.files)
        report: dict = {"engine": engine, "recorder": rec}
        if engine:
            offload_s = engine["per_file_ms"] / 1000 * args.files
            report["catalog_share_pct"] = round(rec["catalog_s"] / (offload_s + rec["catalog_s"]) * 100, 2)
            report["requirement_5pct"] = report["catalog_share_pct"] < 5
        if args.big:
            report["redundancy"] = bench_redundancy(tmp / "big", args.big)
            report["requirement_2s"] = max(report["redundancy"]["card_100k_s"],
                                           report["redundancy"]["card_10k_s"]) < 2
        print(json.dumps(report, indent=2))
        return 0 if report.get("requirement_5pct", True) and report.get("requirement_2s", True) else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
