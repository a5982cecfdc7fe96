#!/usr/bin/env python3
"""Offload benchmark: DataWrangler against the plain-copy floors.

Builds a synthetic ARRI-like camera card (a handful of large clips plus an
ARRIRAW-like sequence of thousands of small frames), then times, interleaved
over several rounds with caches dropped before every timed step:

* copy floor        two ``cp -r SOURCE DESTn/`` in parallel, then ``sync``
* read-back floor   a cold read of both copies (two readers in parallel)
* source read floor a cold read of the card
* ``datawrangler offload SOURCE DEST1 DEST2 --verify destinations --json``
* ``datawrangler offload SOURCE DEST1 DEST2 --verify full --json``

and compares: destinations / (copy + read-back) <= 1.10,
full / (copy + read-back + source read) <= 1.10, peak RSS < 300 MB.

``--small N`` replaces the card with N small files (``--small-kb``, default 16 KB;
an image sequence or a sound card), where the cost per file shows: the copy floor,
the read-back floor and ``--verify destinations`` are timed, and the target is
destinations / (copy + read-back) <= 1.30, peak RSS < 400 MB. ``--dw-only`` times
DataWrangler alone (e.g. 1,000,000 files of 1 KB: time per file and peak memory).

Stdlib only. Run it with the project's interpreter (``.venv/bin/python``) so
that ``python -m datawrangler`` resolves; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import platform
import random
import re
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------- constants

LAYOUT_VERSION = 1  # bump when the card layout or content generator changes
SEED = 20231014
DEFAULT_SIZE_GB = 2.2
DEFAULT_FRAMES = 2400  # small files at the default size; scales with --size-gb, never below MIN_FRAMES
MIN_FRAMES = 200
FRAME_MIN_BYTES = 100_000
FRAME_MAX_BYTES = 300_000
CLIP_TARGET_BYTES = 350_000_000  # "a few hundred MB" per clip
MIN_CLIPS = 2
BLOCK = 64 * 1024 * 1024  # random base block; every written block is a different rotation of it
READ_BUF = 8 * 1024 * 1024
SETTLE_S = 1.0  # untimed pause after deleting a run's destinations (lets discards/journal settle)

REEL = "A001R2EC"
DATE = "231014"
SUFFIX = "R2EC"

MB = 1_000_000  # all MB and MB/s in this script are decimal (10^6 bytes)
TARGET_DEST_RATIO = 1.10
TARGET_FULL_RATIO = 1.10
TARGET_RSS_MB = 300.0
# the --small shape (issue 14): many small files, where each file's own cost shows
TARGET_SMALL_DEST_RATIO = 1.30
TARGET_SMALL_RSS_MB = 400.0
SMALL_PER_FOLDER = 1000  # files per folder of the --small card (a sequence's or a sound roll's folder)
BLOCK_ON_DISK = 4096  # what a small file takes on the destination's filesystem at least (space check)

M_COPY = "copy floor"
M_READBACK = "read-back floor"
M_SOURCE = "source read floor"
M_DW_DEST = "dw --verify destinations"
M_DW_FULL = "dw --verify full"
METHODS = (M_COPY, M_READBACK, M_SOURCE, M_DW_DEST, M_DW_FULL)
# bytes moved on the devices per card byte: reads + writes
DEVICE_FACTOR = {M_COPY: 3, M_READBACK: 2, M_SOURCE: 1, M_DW_DEST: 5, M_DW_FULL: 6}

U_FLOORS = "floors"  # copy floor then read-back floor on the same copies
U_SOURCE = "source"
U_DW_DEST = "dw-destinations"
U_DW_FULL = "dw-full"


REPO_ROOT = Path(__file__).resolve().parent.parent

# --engine-only: the child that runs the engine alone (scan, preflight, core.transfer.offload to the two folders;
# no catalog, handoff or report), printing a `done` line as the CLI's --json does, with the scan's time and the
# peak RSS after the scan (what the engine itself adds is the rest)
ENGINE_CHILD = """
import json, resource, sys, time
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import scan_source
from datawrangler.core.transfer import offload
card, d1, d2, mode = sys.argv[1:5]
t0 = time.perf_counter()
scan = scan_source(card)
t1 = time.perf_counter()
rss_scan = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
r = offload(OffloadPlan.create(card, [d1, d2], verify_mode=mode), scan=scan)
print(json.dumps({"event": "done", "state": str(r.state), "files_total": len(scan.files),
                  "files_verified": r.files_verified, "duration": round(time.perf_counter() - t1, 3),
                  "scan_seconds": round(t1 - t0, 3), "rss_after_scan_kb": rss_scan}))
sys.exit(0 if r.files_verified == len(scan.files) else 1)
"""


def child_env() -> dict[str, str]:
    """Environment for `python -m datawrangler`: the source tree next to this script comes first."""
    env = dict(os.environ)
    if (REPO_ROOT / "datawrangler" / "__init__.py").exists():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    return env


def log(msg: str = "") -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- card


@dataclass(frozen=True)
class CardFile:
    relpath: str
    size: int


@dataclass(frozen=True)
class CardSpec:
    size_gb: float
    files: tuple[CardFile, ...]
    small: tuple[int, int] | None = None  # --small: (files, bytes each)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def clip_count(self) -> int:
        return sum(1 for f in self.files if f.relpath.endswith(".mov"))

    @property
    def frame_count(self) -> int:
        return sum(1 for f in self.files if f.relpath.endswith(".ari"))

    @property
    def disk_bytes(self) -> int:
        """What one copy takes on a filesystem with 4 KiB blocks, at least."""
        return sum(max(BLOCK_ON_DISK, -(-f.size // BLOCK_ON_DISK) * BLOCK_ON_DISK) for f in self.files)

    def describe(self) -> str:
        if self.small is not None:
            return (f"{len(self.files):,} files of {self.small[1] / 1000:g} KB in folders of {SMALL_PER_FOLDER}, "
                    f"{self.total_bytes / MB:,.0f} MB")
        movs = [f.size for f in self.files if f.relpath.endswith(".mov")]
        return (f"{len(self.files)} files ({self.clip_count} clips of {min(movs) / MB:.0f}-{max(movs) / MB:.0f} MB, "
                f"{self.frame_count} frames of {FRAME_MIN_BYTES // 1000}-{FRAME_MAX_BYTES // 1000} KB), "
                f"{self.total_bytes / MB:,.0f} MB")

    def manifest(self) -> dict[str, Any]:
        if self.small is not None:
            return {"layout_version": LAYOUT_VERSION, "seed": SEED, "small_files": self.small[0],
                    "small_bytes": self.small[1], "files": len(self.files), "bytes": self.total_bytes}
        return {
            "layout_version": LAYOUT_VERSION,
            "seed": SEED,
            "size_gb": self.size_gb,
            "files": len(self.files),
            "clips": self.clip_count,
            "frames": self.frame_count,
            "bytes": self.total_bytes,
        }


def plan_card(size_gb: float) -> CardSpec:
    """Deterministic layout: same --size-gb, same files and sizes."""
    rng = random.Random(SEED)
    total = int(size_gb * 1e9)
    n_frames = max(MIN_FRAMES, round(DEFAULT_FRAMES * size_gb / DEFAULT_SIZE_GB))
    frame_sizes = [rng.randint(FRAME_MIN_BYTES, FRAME_MAX_BYTES) for _ in range(n_frames)]
    clip_total = max(total - sum(frame_sizes), MIN_CLIPS * 16 * MB)
    n_clips = max(MIN_CLIPS, round(clip_total / CLIP_TARGET_BYTES))
    weights = [rng.uniform(0.8, 1.2) for _ in range(n_clips)]
    clip_sizes = [int(clip_total * w / sum(weights)) for w in weights]
    clip_sizes[-1] += clip_total - sum(clip_sizes)  # exact total, sizes deliberately not block multiples

    files: list[CardFile] = []
    for i, size in enumerate(clip_sizes, start=1):
        files.append(CardFile(f"{REEL}/A001C{i:03d}_{DATE}_{SUFFIX}.mov", size))
    seq = f"A001C{n_clips + 1:03d}_{DATE}_{SUFFIX}"
    for i, size in enumerate(frame_sizes, start=1):
        files.append(CardFile(f"{REEL}/{seq}/{seq}.{i:07d}.ari", size))
    return CardSpec(size_gb=size_gb, files=tuple(files))


def plan_small_card(n: int, size: int) -> CardSpec:
    """N files of `size` bytes, SMALL_PER_FOLDER to a folder: the frames of image sequences (or a sound
    card's takes), where the cost of each file, not of its bytes, decides the time."""
    files = []
    for i in range(n):
        clip = f"A001C{i // SMALL_PER_FOLDER + 1:03d}_{DATE}_{SUFFIX}"
        files.append(CardFile(f"{REEL}/{clip}/{clip}.{i % SMALL_PER_FOLDER:07d}.ari", size))
    return CardSpec(size_gb=n * size / 1e9, files=tuple(files), small=(n, size))


def plan_for(args: argparse.Namespace) -> CardSpec:
    return plan_small_card(args.small, int(args.small_kb * 1000)) if args.small else plan_card(args.size_gb)


class NoiseWriter:
    """Incompressible content, fast: one os.urandom block, written as per-block rotations.

    Each written block starts with a 16-byte stamp (file number, block number) followed by the base
    block rotated by a random odd offset, so no two blocks (and no two 4 KiB pages at the same
    alignment) are identical, while every write is a zero-copy slice of a doubled buffer.
    """

    def __init__(self) -> None:
        base = os.urandom(BLOCK)
        self._double = memoryview(base + base)
        self._rng = random.Random(SEED ^ 0x5A5A)

    def write(self, path: Path, size: int, file_no: int) -> None:
        with open(path, "wb", buffering=0) as f:
            remaining = size
            block_no = 0
            while remaining > 0:
                n = min(remaining, BLOCK)
                stamp = struct.pack("<QQ", file_no, block_no)[:n]
                f.write(stamp)
                if n > len(stamp):
                    off = self._rng.randrange(1, BLOCK, 2)
                    f.write(self._double[off : off + n - len(stamp)])
                remaining -= n
                block_no += 1


def iter_files(root: Path) -> Iterator[tuple[str, int]]:
    """(path, size) of every regular file under root, in sorted order."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from iter_files(Path(entry.path))
        elif entry.is_file(follow_symlinks=False):
            yield entry.path, entry.stat(follow_symlinks=False).st_size


def card_matches(workdir: Path, spec: CardSpec) -> bool:
    """True when workdir holds a finished card of this spec (manifest and file count/bytes match)."""
    manifest_path = workdir / "card.manifest.json"
    want = spec.manifest()
    try:
        have = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return False
    if have != want:
        return False
    found = list(iter_files(workdir / "card"))
    if len(found) == want["files"] and sum(s for _, s in found) == want["bytes"]:
        return True
    log("  card manifest matches but the card on disk does not: rebuilding")
    return False


def build_card(workdir: Path, spec: CardSpec) -> None:
    """Write the card (called in a child process: see ensure_card)."""
    card = workdir / "card"
    manifest_path = workdir / "card.manifest.json"
    want = spec.manifest()
    manifest_path.unlink(missing_ok=True)
    if card.exists():
        shutil.rmtree(card)
    log(f"  building card: {spec.describe()} ...")
    t0 = time.perf_counter()
    noise = NoiseWriter()
    made: set[Path] = set()
    for no, f in enumerate(spec.files):
        path = card / f.relpath
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        noise.write(path, f.size, no)
    os.sync()
    manifest_path.write_text(json.dumps(want, indent=2) + "\n")
    log(f"  built in {time.perf_counter() - t0:.1f} s")


def ensure_card(workdir: Path, spec: CardSpec, rebuild: bool) -> tuple[Path, bool]:
    """Return (card root, reused).

    The card is built by a child process: the generator holds ~200 MB of random data, and on Linux a
    process started with vfork+exec inherits its parent's peak RSS in ru_maxrss, which would then be
    reported as DataWrangler's peak. This process must stay small.
    """
    if not rebuild and card_matches(workdir, spec):
        return workdir / "card", True
    cmd = [sys.executable, str(Path(__file__).resolve()), "--build-card", str(workdir), "--size-gb", repr(spec.size_gb)]
    if spec.small is not None:
        cmd += ["--small", str(spec.small[0]), "--small-kb", repr(spec.small[1] / 1000)]
    subprocess.run(cmd, check=True)
    if not card_matches(workdir, spec):
        raise RuntimeError("the card builder finished but the card does not match its manifest")
    return workdir / "card", False


# --------------------------------------------------------------------------- cache control


class CacheDropper:
    """Evict the page cache before a timed step, as thoroughly as this process can.

    modes: ``drop_caches`` (Linux, root: sync + echo 3 > /proc/sys/vm/drop_caches: data and metadata),
    ``purge`` (macOS, root), ``fadvise`` (Linux, not root: POSIX_FADV_DONTNEED on every file of the
    trees involved: file data only, directory/inode caches stay warm), ``none``.
    """

    DROP_CACHES = Path("/proc/sys/vm/drop_caches")

    def __init__(self) -> None:
        self.mode = "none"
        self.why = ""
        is_root = hasattr(os, "geteuid") and os.geteuid() == 0
        if sys.platform.startswith("linux"):
            if is_root and self._try_drop_caches():
                self.mode = "drop_caches"
            elif hasattr(os, "posix_fadvise"):
                self.mode = "fadvise"
                self.why = ("not root" if not is_root else "writing /proc/sys/vm/drop_caches failed") + (
                    ": falling back to posix_fadvise(DONTNEED) per file; file data is evicted, but "
                    "directory and inode caches stay warm, so small-file numbers are NOT fully cold"
                )
            else:
                self.why = "no way to drop caches: numbers are NOT cold"
        elif sys.platform == "darwin" and is_root and shutil.which("purge"):
            self.mode = "purge"
        else:
            self.why = (
                f"cannot drop caches on {sys.platform} "
                f"({'root' if is_root else 'not root'}): numbers are NOT cold (warm-cache reads)"
            )

    def _try_drop_caches(self) -> bool:
        try:
            os.sync()
            self.DROP_CACHES.write_text("3\n")
        except OSError:
            return False
        return True

    @property
    def cold(self) -> bool:
        return self.mode in ("drop_caches", "purge")

    def drop(self, trees: Sequence[Path]) -> None:
        os.sync()
        if self.mode == "drop_caches":
            self.DROP_CACHES.write_text("3\n")
        elif self.mode == "purge":
            subprocess.run(["purge"], check=True)
        elif self.mode == "fadvise":
            for tree in trees:
                for path, _ in iter_files(tree):
                    with contextlib.suppress(OSError):
                        fd = os.open(path, os.O_RDONLY)
                        try:
                            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                        finally:
                            os.close(fd)


# --------------------------------------------------------------------------- the measured steps


def read_tree(root: Path) -> tuple[int, int]:
    """Read every file under root with large unbuffered reads; return (files, bytes)."""
    buf = bytearray(READ_BUF)
    files = total = 0
    for path, _ in iter_files(root):
        with open(path, "rb", buffering=0) as f:
            while n := f.readinto(buf):
                total += n
        files += 1
    return files, total


def read_trees_parallel(roots: Sequence[Path]) -> tuple[int, int]:
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(root: Path) -> None:
        try:
            r = read_tree(root)
        except BaseException as exc:
            with lock:
                errors.append(exc)
            return
        with lock:
            results.append(r)

    threads = [threading.Thread(target=worker, args=(r,)) for r in roots]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return sum(r[0] for r in results), sum(r[1] for r in results)


def copy_parallel(source: Path, dests: Sequence[Path]) -> None:
    procs = [subprocess.Popen(["cp", "-r", str(source), f"{d}/"]) for d in dests]
    rcs = [p.wait() for p in procs]
    os.sync()
    if any(rcs):
        raise RuntimeError(f"cp failed: exit codes {rcs}")


def own_peak_rss_bytes() -> int:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024


@dataclass
class ChildRun:
    returncode: int
    seconds: float
    maxrss_bytes: int
    parent_peak_rss_bytes: int  # the child's ru_maxrss can never read below this (vfork inherits it)
    stdout: str
    stderr: str


def run_measured(cmd: Sequence[str], env: dict[str, str], outdir: Path) -> ChildRun:
    """Run cmd; wall time and the child's peak RSS from os.wait4 (largest single process in its tree)."""
    out_path, err_path = outdir / "stdout.txt", outdir / "stderr.txt"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        parent_peak = own_peak_rss_bytes()
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    maxrss = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    return ChildRun(
        returncode=proc.returncode,
        seconds=seconds,
        maxrss_bytes=maxrss,
        parent_peak_rss_bytes=parent_peak,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


def missing_files(source: Path, dest: Path) -> int:
    """Source files (by name and size) that are absent under dest, wherever the layout put them."""
    want = collections.Counter((os.path.basename(p), s) for p, s in iter_files(source))
    have = collections.Counter((os.path.basename(p), s) for p, s in iter_files(dest))
    return sum((want - have).values())


def loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


@dataclass
class Sample:
    method: str
    round: int
    seconds: float
    ok: bool
    load1: float | None
    maxrss_bytes: int | None = None
    parent_peak_rss_bytes: int | None = None
    returncode: int | None = None
    note: str = ""
    dw_json: dict[str, Any] | None = None


@dataclass
class Bench:
    source: Path
    scratch: Path
    dest_roots: tuple[Path, Path]
    card_bytes: int
    card_files: int
    dropper: CacheDropper
    dw_args: list[str]
    engine_only: bool = False
    fresh_drives: bool = False
    samples: list[Sample] = field(default_factory=list)
    _seq: int = 0
    _mounts: dict[Path, Any] = field(default_factory=dict)

    def fresh_dests(self) -> tuple[Path, Path]:
        self._seq += 1
        if self.fresh_drives:
            return self._new_drives()
        dests = (self.dest_roots[0] / f"run{self._seq:03d}", self.dest_roots[1] / f"run{self._seq:03d}")
        for d in dests:
            if d.exists():
                shutil.rmtree(d)
            d.mkdir(parents=True)
        return dests

    def _new_drives(self) -> tuple[Path, Path]:
        """--fresh-drives: each run's two destinations are new ext4 filesystems on loop devices (direct I/O,
        as drives of their own), made here and gone after the run. In folders on one long-lived disk, each run
        creates 60,000 files where the last one deleted as many, and ext4's inode allocator searches past the
        recently deleted inodes (perf: 40% of the CPU of a run, see bench_catalog._drives): the copy floor of a
        30,000-file card then ran 5.4 s in one round and 14-15 s in the next two of one run."""
        root = str(Path(__file__).resolve().parents[1])  # the project's tests.faultfs mounts them
        if root not in sys.path:
            sys.path.insert(0, root)
        from tests.faultfs import mount_ext4_image

        size_mb = int(self.card_bytes * 1.5 / MB + self.card_files * 16 / 1024) + 128
        dests = []
        for i in (1, 2):
            m = mount_ext4_image(self.scratch / f"drive{i}-{self._seq:03d}.img",
                                 self.scratch / f"drive{i}-{self._seq:03d}", size_mb, direct_io=True)
            dest = m.mountpoint / "DEST"
            dest.mkdir()
            self._mounts[dest] = m
            dests.append(dest)
        return dests[0], dests[1]

    def cleanup(self, *paths: Path) -> None:
        for p in paths:
            m = self._mounts.pop(p, None)
            if m is not None:
                m.cleanup()
                for leftover in (m.image, m.mountpoint):
                    if leftover.is_dir():
                        shutil.rmtree(leftover, ignore_errors=True)
                    else:
                        leftover.unlink(missing_ok=True)
                continue
            shutil.rmtree(p, ignore_errors=True)
        os.sync()
        time.sleep(SETTLE_S)

    def drop(self, *extra: Path) -> None:
        self.dropper.drop([self.source, *extra])

    def add(self, sample: Sample) -> None:
        self.samples.append(sample)
        rate = self.card_bytes / MB / sample.seconds if sample.seconds > 0 else 0.0
        extra = ""
        if sample.maxrss_bytes is not None:
            extra += f"  peak RSS {sample.maxrss_bytes / MB:.0f} MB"
        if not sample.ok:
            extra += f"  FAILED {sample.note}"
        log(f"    {sample.method:<26} {sample.seconds:8.2f} s  {rate:8.1f} card MB/s{extra}")

    # units ----------------------------------------------------------------------------------

    def unit_floors(self, rnd: int) -> None:
        d1, d2 = self.fresh_dests()
        try:
            self.drop(d1, d2)
            load = loadavg()
            t0 = time.perf_counter()
            copy_parallel(self.source, (d1, d2))
            self.add(Sample(M_COPY, rnd, time.perf_counter() - t0, True, load))

            copies = (d1 / self.source.name, d2 / self.source.name)
            self.drop(d1, d2)
            load = loadavg()
            t0 = time.perf_counter()
            files, nbytes = read_trees_parallel(copies)
            secs = time.perf_counter() - t0
            ok = files == 2 * self.card_files and nbytes == 2 * self.card_bytes
            self.add(Sample(M_READBACK, rnd, secs, ok, load, note="" if ok else f"read {files} files"))
        finally:
            self.cleanup(d1, d2)

    def unit_source(self, rnd: int) -> None:
        self.drop()
        load = loadavg()
        t0 = time.perf_counter()
        files, nbytes = read_tree(self.source)
        secs = time.perf_counter() - t0
        ok = files == self.card_files and nbytes == self.card_bytes
        self.add(Sample(M_SOURCE, rnd, secs, ok, load, note="" if ok else f"read {files} files"))

    def unit_dw(self, rnd: int, verify: str) -> None:
        method = M_DW_DEST if verify == "destinations" else M_DW_FULL
        d1, d2 = self.fresh_dests()
        run_dir = Path(tempfile.mkdtemp(prefix=f"dw-{verify}-", dir=self.scratch))
        env = child_env()
        # a fresh, private catalog/config per run: never touch the user's catalog
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            p = run_dir / var.lower()
            p.mkdir()
            env[var] = str(p)
        cmd = [
            sys.executable,
            "-m",
            "datawrangler",
            "offload",
            str(self.source),
            str(d1),
            str(d2),
            "--verify",
            verify,
            "--json",
            *self.dw_args,
        ] if not self.engine_only else [sys.executable, "-c", ENGINE_CHILD, str(self.source), str(d1), str(d2), verify]
        try:
            self.drop(d1, d2)
            load = loadavg()
            run = run_measured(cmd, env, run_dir)
            notes = []
            if run.returncode != 0:
                notes.append(f"exit code {run.returncode}")
                tail = run.stderr.strip().splitlines()[-5:]
                if tail:
                    notes.append("stderr: " + " | ".join(tail))
            missing = [missing_files(self.source, d) for d in (d1, d2)]
            if any(missing):
                notes.append(f"source files missing at destinations: {missing}")
            self.add(
                Sample(
                    method,
                    rnd,
                    run.seconds,
                    not notes,
                    load,
                    maxrss_bytes=run.maxrss_bytes,
                    parent_peak_rss_bytes=run.parent_peak_rss_bytes,
                    returncode=run.returncode,
                    note="; ".join(notes),
                    dw_json=summarize_json(run.stdout),
                )
            )
        finally:
            self.cleanup(d1, d2, run_dir)


def is_scalar(v: object) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def summarize_json(text: str) -> dict[str, Any] | None:
    """Top-level scalars of the CLI's --json output (the per-file lists would bloat our JSON)."""
    text = text.strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        try:  # maybe JSON lines: keep the last object
            data = json.loads(text.splitlines()[-1])
        except (ValueError, IndexError):
            return {"unparsed": text[:500]}
    if not isinstance(data, dict):
        return {"type": type(data).__name__}
    out: dict[str, Any] = {}
    for k, v in data.items():
        if is_scalar(v):
            out[k] = v
        elif isinstance(v, list):
            out[k] = f"<list of {len(v)}>"
        elif isinstance(v, dict):
            out[k] = {kk: vv for kk, vv in v.items() if is_scalar(vv)}
    return out


# --------------------------------------------------------------------------- the machine


def unescape_mount(s: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def filesystem_of(path: Path) -> dict[str, str]:
    real = os.path.realpath(path)
    mountinfo = Path("/proc/self/mountinfo")
    if mountinfo.exists():
        best: dict[str, str] | None = None
        for line in mountinfo.read_text().splitlines():
            left, _, right = line.partition(" - ")
            lf, rf = left.split(), right.split()
            if len(lf) < 5 or len(rf) < 2:
                continue
            mnt = unescape_mount(lf[4])
            if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and (
                best is None or len(mnt) >= len(best["mountpoint"])
            ):
                best = {
                    "mountpoint": mnt,
                    "fstype": rf[0],
                    "device": unescape_mount(rf[1]),
                    "options": lf[5] if len(lf) > 5 else "",
                }
        if best:
            return best
    try:
        fstype = subprocess.run(
            ["stat", "-f", "-c", "%T", real], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        try:  # BSD/macOS stat
            fstype = subprocess.run(
                ["stat", "-f", "%T", real], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            fstype = "unknown"
    return {"mountpoint": "?", "fstype": fstype, "device": "?", "options": ""}


def physical_disks(path: Path) -> tuple[str, ...]:
    """Whole-disk names backing path (Linux sysfs; follows partitions and dm/md slaves)."""
    dev = os.stat(path).st_dev
    major, minor = os.major(dev), os.minor(dev)
    sys_dev = Path(f"/sys/dev/block/{major}:{minor}")
    if not sys_dev.exists():
        return (f"dev {major}:{minor} (not a block device)",)

    def resolve(node: Path) -> set[str]:
        node = node.resolve()
        slaves = node / "slaves"
        if slaves.is_dir() and any(slaves.iterdir()):
            out: set[str] = set()
            for s in slaves.iterdir():
                out |= resolve(s)
            return out
        if (node / "partition").exists():
            return resolve(node.parent)
        return {node.name}

    return tuple(sorted(resolve(sys_dev)))


def disk_info(name: str) -> str:
    q = Path("/sys/block") / name
    bits = []
    with contextlib.suppress(OSError):
        rot = (q / "queue" / "rotational").read_text().strip()
        bits.append("rotational" if rot == "1" else "non-rotational")
    with contextlib.suppress(OSError):
        model = (q / "device" / "model").read_text().strip()
        if model:
            bits.append(model)
    return ", ".join(bits)


def machine_info(workdir: Path) -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "nproc": os.cpu_count(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["nproc_usable"] = len(os.sched_getaffinity(0))
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        text = cpuinfo.read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        info["cpu"] = m.group(1).strip() if m else "?"
        info["virtualized"] = bool(re.search(r"^flags\s*:.*\bhypervisor\b", text, re.M))
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        m = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.M)
        if m:
            info["ram_gb"] = round(int(m.group(1)) * 1024 / 1e9, 1)
    info["workdir_fs"] = filesystem_of(workdir)
    return info


# --------------------------------------------------------------------------- results


def median(xs: Sequence[float]) -> float | None:
    return statistics.median(xs) if xs else None


def summarize(samples: Sequence[Sample], card_bytes: int, floors_only: bool, small: bool = False,
              card_files: int = 0) -> dict[str, Any]:
    per: dict[str, Any] = {}
    for m in METHODS:
        ss = [s for s in samples if s.method == m]
        if not ss:
            continue
        secs = [s.seconds for s in ss]
        med = statistics.median(secs)
        rss = [s.maxrss_bytes for s in ss if s.maxrss_bytes is not None]
        per[m] = {
            "runs": len(ss),
            "ok_runs": sum(s.ok for s in ss),
            "median_s": med,
            "min_s": min(secs),
            "max_s": max(secs),
            "card_MB_per_s": card_bytes / MB / med,
            "device_MB_per_s": DEVICE_FACTOR[m] * card_bytes / MB / med,
            "peak_rss_MB": max(rss) / MB if rss else None,
            "us_per_file": med / card_files * 1e6 if card_files else None,
        }

    def med_of(m: str) -> float | None:
        return per[m]["median_s"] if m in per else None

    copy, rb, src = med_of(M_COPY), med_of(M_READBACK), med_of(M_SOURCE)
    dwd, dwf = med_of(M_DW_DEST), med_of(M_DW_FULL)
    targets: dict[str, Any] = {}
    if floors_only:
        return {"methods": per, "targets": targets}

    rounds = sorted({s.round for s in samples})

    def in_round(m: str, r: int) -> float | None:
        xs = [s.seconds for s in samples if s.method == m and s.round == r]
        return xs[0] if xs else None

    def per_round(method: str, floors: Sequence[str]) -> list[float]:
        out = []
        for r in rounds:
            num, dens = in_round(method, r), [in_round(f, r) for f in floors]
            if num is not None and all(d is not None for d in dens):
                out.append(num / sum(d for d in dens if d is not None))
        return out

    def ratio_target(name: str, num: float | None, den: float | None, limit: float, method: str) -> None:
        all_ok = method in per and per[method]["ok_runs"] == per[method]["runs"]
        of_medians = num / den if num is not None and den else None
        floors = (M_COPY, M_READBACK) if method == M_DW_DEST else (M_COPY, M_READBACK, M_SOURCE)
        paired = per_round(method, floors)
        # The steps are interleaved so that each round's DataWrangler run and floors see the same state of
        # the machine: the ratio within a round is the paired comparison, and the median of those ratios
        # is what the target is judged on. The ratio of the medians pairs a run with floors from other
        # rounds; on a shared disk whose speed drifts by 50 % between rounds it is printed, not judged.
        value = statistics.median(paired) if len(paired) >= 2 else of_medians
        targets[name] = {
            "value": value,
            "ratio_of_medians": of_medians,
            "limit": f"<= {limit:.2f}",
            "pass": bool(value is not None and value <= limit and all_ok),
            "all_runs_verified": all_ok,
            "per_round": paired,
        }

    if copy is not None and rb is not None:  # not with --dw-only
        ratio_target(
            "destinations / (copy + read-back)",
            dwd,
            copy + rb,
            TARGET_SMALL_DEST_RATIO if small else TARGET_DEST_RATIO,
            M_DW_DEST,
        )
    if not small and copy is not None and rb is not None:
        ratio_target(
            "full / (copy + read-back + source read)",
            dwf,
            (copy + rb + src) if src is not None else None,
            TARGET_FULL_RATIO,
            M_DW_FULL,
        )
    rss_all = [p["peak_rss_MB"] for m, p in per.items() if m in (M_DW_DEST, M_DW_FULL) and p["peak_rss_MB"]]
    peak = max(rss_all) if rss_all else None
    parents = [s.parent_peak_rss_bytes for s in samples if s.parent_peak_rss_bytes is not None]
    bench_peak = max(parents) / MB if parents else None
    rss_limit = TARGET_SMALL_RSS_MB if small else TARGET_RSS_MB
    targets["peak RSS MB (max over datawrangler runs)"] = {
        "value": peak,
        "limit": f"< {rss_limit:.0f}",
        "pass": bool(peak is not None and peak < rss_limit),
        # ru_maxrss of a vfork+exec'd child starts at its parent's peak: a reading at or below the
        # benchmark's own peak says nothing about DataWrangler (it is at most that much).
        "benchmark_own_peak_MB": bench_peak,
        "reading_is_benchmarks_own": bool(peak is not None and bench_peak is not None and peak <= bench_peak),
    }
    return {"methods": per, "targets": targets}


def print_table(summary: dict[str, Any], floors_only: bool) -> None:
    per = summary["methods"]
    log()
    head = (
        f"{'method':<26} {'runs':>4} {'median s':>9} {'min s':>8} {'max s':>8} "
        f"{'card MB/s':>10} {'device MB/s':>12} {'peak RSS':>9} {'us/file':>8}"
    )
    log(head)
    log("-" * len(head))
    for m in METHODS:
        if m not in per:
            continue
        p = per[m]
        rss = f"{p['peak_rss_MB']:.0f} MB" if p["peak_rss_MB"] is not None else "-"
        runs = f"{p['runs']}" if p["ok_runs"] == p["runs"] else f"{p['ok_runs']}/{p['runs']}!"
        per_file = f"{p['us_per_file']:.0f}" if p.get("us_per_file") is not None else "-"
        log(
            f"{m:<26} {runs:>4} {p['median_s']:9.2f} {p['min_s']:8.2f} {p['max_s']:8.2f} "
            f"{p['card_MB_per_s']:10.1f} {p['device_MB_per_s']:12.1f} {rss:>9} {per_file:>8}"
        )
    log(
        "card MB/s = card bytes / time; device MB/s = bytes read + written on the devices / time "
        "(copy 3x, read-back 2x, source 1x, destinations 5x, full 6x the card). MB = 10^6 bytes."
    )
    log()
    if floors_only:
        log("targets: not measured (--only-floors)")
        return
    log(f"{'target (median of the per-round ratios)':<44} {'value':>8} {'limit':>8}  result")
    for name, t in summary["targets"].items():
        v = t["value"]
        vs = "-" if v is None else (f"{v:.3f}" if "RSS" not in name else f"{v:.0f}")
        res = "PASS" if t["pass"] else "FAIL"
        if t.get("all_runs_verified") is False:
            res += " (a run did not verify)"
        if len(t.get("per_round", [])) > 1:
            res += "  (per round: " + ", ".join(f"{x:.2f}" for x in t["per_round"])
            if t.get("ratio_of_medians") is not None:
                res += f"; ratio of the medians {t['ratio_of_medians']:.3f}"
            res += ")"
        if t.get("reading_is_benchmarks_own"):
            res += " (upper bound: the reading is the benchmark's own peak)"
        log(f"{name:<44} {vs:>8} {t['limit']:>8}  {res}")
        if t.get("benchmark_own_peak_MB") is not None:
            log(f"{'':<44} (this benchmark's own peak RSS: {t['benchmark_own_peak_MB']:.0f} MB)")


# --------------------------------------------------------------------------- main


def cli_available() -> tuple[bool, str]:
    try:
        r = subprocess.run(
            [sys.executable, "-m", "datawrangler", "offload", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            env=child_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    if r.returncode != 0:
        return False, (r.stderr.strip().splitlines() or [f"exit code {r.returncode}"])[-1]
    return True, ""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--size-gb",
        type=float,
        default=DEFAULT_SIZE_GB,
        help=f"card size in GB (10^9 bytes), default {DEFAULT_SIZE_GB}",
    )
    ap.add_argument(
        "--workdir",
        type=Path,
        help="where the card and destinations go (default: a fresh temp dir under "
        f"{tempfile.gettempdir()}, removed at the end unless --keep); a card in a "
        "--workdir is kept and reused by later runs",
    )
    ap.add_argument(
        "--dest",
        type=Path,
        action="append",
        default=None,
        metavar="DIR",
        help="destination root (give exactly two, e.g. on two other drives; default: two folders inside the workdir)",
    )
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved rounds (default 3: the target is the median of the per-round ratios)")
    ap.add_argument("--keep", action="store_true", help="keep a temp workdir (and its card) at the end")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the card even if one matches")
    ap.add_argument("--only-floors", action="store_true", help="time the plain-copy floors only")
    ap.add_argument("--json-out", type=Path, metavar="FILE", help="write the results as JSON")
    ap.add_argument(
        "--dw-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument passed to `datawrangler offload` (repeatable)",
    )
    ap.add_argument("--small", type=int, default=0, metavar="N",
                    help="a card of N small files instead (see --small-kb): floors and --verify destinations "
                    "(with --no-clips: the clip step has bench_clips.py), target <= 1.30, peak RSS < 400 MB")
    ap.add_argument("--small-kb", type=float, default=16.0, metavar="KB",
                    help="size of each --small file in KB (10^3 bytes), default 16")
    ap.add_argument("--dw-only", action="store_true",
                    help="time DataWrangler alone, no floors (e.g. --small 1000000 --small-kb 1: time per file "
                    "and peak memory)")
    ap.add_argument("--engine-only", action="store_true",
                    help="with --dw-only: run the engine alone (core.transfer.offload in a child process: no "
                    "catalog, handoff or report), for its own time per file and peak memory")
    ap.add_argument("--fresh-drives", action="store_true",
                    help="each run's two destinations are new ext4 filesystems on loop devices (direct I/O) made in "
                    "the work folder's disk, not folders reused run after run (root; see Bench._new_drives)")
    ap.add_argument("--build-card", type=Path, metavar="DIR", help=argparse.SUPPRESS)  # internal
    args = ap.parse_args(argv)
    if args.small < 0 or (args.small and args.small_kb <= 0):
        ap.error("--small takes a number of files, --small-kb a size above 0")
    if args.dw_only and args.only_floors:
        ap.error("--dw-only and --only-floors exclude each other")
    if args.engine_only and not args.dw_only:
        ap.error("--engine-only goes with --dw-only (the floors compare the whole command)")
    if args.fresh_drives and (os.geteuid() != 0 or shutil.which("mkfs.ext4") is None):
        ap.error("--fresh-drives makes ext4 loop drives: it needs root and mkfs.ext4")
    if args.fresh_drives and args.dest is not None:
        ap.error("--fresh-drives and --dest exclude each other")
    if args.size_gb < 0.1:
        ap.error("--size-gb must be >= 0.1")
    if args.rounds < 1:
        ap.error("--rounds must be >= 1")
    if args.dest is not None and len(args.dest) != 2:
        ap.error("give --dest exactly twice (or not at all)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.build_card is not None:  # internal: the card builder child (see ensure_card)
        build_card(args.build_card, plan_for(args))
        return 0
    if not hasattr(os, "wait4"):
        log("this benchmark needs a POSIX system (os.wait4)")
        return 2

    floors_only: bool = args.only_floors
    if not floors_only:
        ok, why = cli_available()
        if not ok:
            log(f"`{sys.executable} -m datawrangler offload --help` does not work ({why}).")
            log("Is the CLI there yet, and is this the project's interpreter (.venv/bin/python)?")
            log("Use --only-floors to time the plain-copy floors alone.")
            return 2

    created_tmp = args.workdir is None
    workdir: Path = Path(tempfile.mkdtemp(prefix="datawrangler-bench-")) if created_tmp else args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    spec = plan_for(args)
    small = spec.small is not None
    scratch = workdir / "scratch"
    dest_roots: tuple[Path, Path] = (
        (args.dest[0].resolve(), args.dest[1].resolve()) if args.dest else (scratch / "dest1", scratch / "dest2")
    )

    info = machine_info(workdir)
    dropper = CacheDropper()
    fs = info["workdir_fs"]
    log("== machine")
    log(f"  {info['platform']}, Python {info['python']}")
    line = f"  nproc {info['nproc']}"
    if "nproc_usable" in info:
        line += f" (usable {info['nproc_usable']})"
    if "cpu" in info:
        line += f", {info['cpu']}"
    if "ram_gb" in info:
        line += f", RAM {info['ram_gb']} GB"
    log(line)
    log(f"  workdir {workdir}: {fs['fstype']} on {fs['device']} (mounted at {fs['mountpoint']}, {fs['options']})")
    if info.get("virtualized"):
        log(
            "  NOTE: running under a hypervisor: dropping the guest's caches does not drop the host's,"
            " so 'cold' reads may partly come from host RAM, and the 'disk' is virtual."
        )
    if dropper.cold:
        log(f"  caches: dropped before every timed step ({dropper.mode})")
    else:
        log(f"  WARNING caches: {dropper.why}")
    load = loadavg()
    if load is not None and info["nproc"] and load > 0.5 * info["nproc"]:
        log(f"  WARNING: load average {load:.2f} on {info['nproc']} CPUs: other work is running; numbers will be noisy")

    rc = 0
    created_dests: list[Path] = []
    try:
        for d in dest_roots:
            if not d.exists():
                created_dests.append(d)
            d.mkdir(parents=True, exist_ok=True)
        scratch.mkdir(parents=True, exist_ok=True)

        need: dict[int, int] = collections.Counter()
        if args.rebuild or not (workdir / "card.manifest.json").exists():
            need[os.stat(workdir).st_dev] += spec.disk_bytes
        for d in dest_roots:
            need[os.stat(d).st_dev] += spec.disk_bytes + 64 * MB
        for dev, n in need.items():
            path = next(p for p in (workdir, *dest_roots) if os.stat(p).st_dev == dev)
            free = shutil.disk_usage(path).free
            if free < n:
                log(f"not enough free space on {path}: need {n / MB:,.0f} MB, have {free / MB:,.0f} MB")
                return 2

        log("== card")
        source, reused = ensure_card(workdir, spec, args.rebuild)
        if reused:
            log(f"  reusing the card at {source} (manifest matches)")
        log(f"  {source}: {spec.describe()}")

        disks = {
            name: physical_disks(p)
            for name, p in (("source", source), ("dest1", dest_roots[0]), ("dest2", dest_roots[1]))
        }
        for name, ds in disks.items():
            log(f"  {name}: disk {', '.join(ds)}" + "".join(f" ({disk_info(d)})" for d in ds if disk_info(d)))
        all_disks = [set(ds) for ds in disks.values()]
        shared = set.intersection(*all_disks)
        if shared:
            log(
                f"  NOTE: source and both destinations share one physical disk ({', '.join(sorted(shared))}):"
                " the card read, both writes and both read-backs compete for the same device. This measures"
                " that disk, not a cart with a card reader and separate drives."
            )
        elif all_disks[1] & all_disks[2]:
            log("  NOTE: both destinations share one physical disk.")

        bench = Bench(
            source=source,
            scratch=scratch,
            dest_roots=dest_roots,
            card_bytes=spec.total_bytes,
            card_files=len(spec.files),
            dropper=dropper,
            dw_args=(["--no-clips"] if small else []) + list(args.dw_arg),
            engine_only=args.engine_only,
            fresh_drives=args.fresh_drives,
        )
        if floors_only:
            units = [U_FLOORS] if small else [U_FLOORS, U_SOURCE]
        elif args.dw_only:
            units = [U_DW_DEST] if small else [U_DW_DEST, U_DW_FULL]
        else:
            units = [U_FLOORS, U_DW_DEST] if small else [U_FLOORS, U_SOURCE, U_DW_DEST, U_DW_FULL]
        log("== runs" + (" (floors only)" if floors_only else ""))
        log(
            "  copy floor = two `cp -r SOURCE DESTn/` in parallel + sync; read-back floor = both copies"
            " read in parallel (8 MiB reads); all interleaved, order rotated per round"
        )
        t_start = time.perf_counter()
        for rnd in range(args.rounds):
            k = rnd % len(units)
            order = units[k:] + units[:k]
            log(f"  round {rnd + 1}/{args.rounds}: {' -> '.join(order)}")
            for u in order:
                if u == U_FLOORS:
                    bench.unit_floors(rnd)
                elif u == U_SOURCE:
                    bench.unit_source(rnd)
                elif u == U_DW_DEST:
                    bench.unit_dw(rnd, "destinations")
                else:
                    bench.unit_dw(rnd, "full")
        log(f"  total benchmark time {time.perf_counter() - t_start:.0f} s")

        summary = summarize(bench.samples, spec.total_bytes, floors_only, small, len(spec.files))
        print_table(summary, floors_only)
        if not dropper.cold:
            log(f"\nWARNING: caches were not fully dropped ({dropper.mode}): {dropper.why}")
        if shared:
            log("NOTE: all on one physical disk (see above).")
        loads = [s.load1 for s in bench.samples if s.load1 is not None]
        if loads:
            busy = bool(info["nproc"]) and max(loads) > 0.5 * info["nproc"]
            log(
                f"{'WARNING' if busy else 'NOTE'}: 1-min load average at the start of the timed steps: "
                f"{min(loads):.2f}-{max(loads):.2f} on {info['nproc']} CPUs"
                + ("; other work was running, the numbers are noisy" if busy else "")
            )

        if not floors_only:
            if any(not s.ok for s in bench.samples):
                rc = 3
            elif not all(t["pass"] for t in summary["targets"].values()):
                rc = 1

        if args.json_out:
            result = {
                "machine": info,
                "cache_drop": {"mode": dropper.mode, "cold": dropper.cold, "note": dropper.why},
                "disks": {k: list(v) for k, v in disks.items()},
                "destinations_share_disk_with_source": bool(shared),
                "card": {**spec.manifest(), "path": str(source), "reused": reused},
                "rounds": args.rounds,
                "floors_only": floors_only,
                "copy_floor": "two `cp -r` processes in parallel, then sync",
                "read_back_floor": "both copies read in parallel, one thread each, 8 MiB reads",
                "dw_command": [
                    sys.executable,
                    "-m",
                    "datawrangler",
                    "offload",
                    "SOURCE",
                    "DEST1",
                    "DEST2",
                    "--verify",
                    "MODE",
                    "--json",
                    *bench.dw_args,
                ],
                "samples": [asdict(s) for s in bench.samples],
                **summary,
                "exit_code": rc,
            }
            args.json_out.write_text(json.dumps(result, indent=2) + "\n")
            log(f"\nresults written to {args.json_out}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        for d in created_dests:
            with contextlib.suppress(OSError):
                d.rmdir()  # ours, and empty again
        if created_tmp and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"card kept in {workdir} (reuse it with --workdir {workdir})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
