#!/usr/bin/env python3
"""Clip benchmark: what reading the clips adds to an offload, and how fast a long sequence inspects and reports.

1. A camera card of N ProRes clips (default 100, ARRI names, 1920x1080 ProRes 422 HQ with a start timecode,
   encoded once with PyAV and written under every clip name). Interleaved over several rounds, caches dropped
   before each timed step:

   * ``datawrangler offload CARD D1 D2 --verify destinations --no-clips``
   * ``datawrangler offload CARD D1 D2 --verify destinations`` (clips read from a verified copy, 1 thumbnail)

   Target: with clips / without <= 1.10 (the median of the per-round ratios).

2. A card holding one 2,400-frame DPX sequence: ``datawrangler inspect``, the offload, ``datawrangler clips``
   and ``datawrangler report offload --pdf`` are timed once each (seconds; they must stay interactive).

Run it with the project's interpreter (PyAV comes with the project): ``.venv/bin/python benchmarks/bench_clips.py``.
Caches are dropped as bench_offload.py does (root on Linux: /proc/sys/vm/drop_caches).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_offload import CacheDropper, child_env, log, run_measured

TARGET = 1.10
REEL = "A001R2EC"


def encode_clip(path: Path, frames: int, width: int = 1920, height: int = 1080) -> None:
    """One ProRes 422 HQ clip at 23.976 with a start timecode; busy pictures (noise bands) so it has a
    realistic size per frame."""
    with av.open(str(path), "w", format="mov") as out:
        out.metadata["timecode"] = "01:00:00:00"
        stream = out.add_stream("prores_ks", rate=Fraction(24000, 1001))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv422p10le"
        stream.options = {"profile": "3"}
        stream.metadata["timecode"] = "01:00:00:00"
        for i in range(frames):
            img = av.VideoFrame(width, height, "rgb24")
            row = bytes((x * 7 + i * 13 + (x * x) % 251) % 256 for x in range(width * 3))
            img.planes[0].update(row * height)
            for packet in stream.encode(img.reformat(format="yuv422p10le")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def build_clip_card(root: Path, clips: int, frames: int) -> int:
    card = root / "clipcard" / REEL
    card.mkdir(parents=True)
    first = card / f"A001C001_231014_{REEL[4:]}.mov"
    encode_clip(first, frames)
    for n in range(2, clips + 1):
        shutil.copyfile(first, card / f"A001C{n:03d}_231014_{REEL[4:]}.mov")
    return sum(p.stat().st_size for p in card.iterdir())


def build_sequence_card(root: Path, frames: int) -> Path:
    card = root / "seqcard" / "A002R2EC"
    folder = card / "A002C001_231015_R2EC"
    folder.mkdir(parents=True)
    one = folder / "frame.dpx"
    with av.open(str(one), "w", format="image2") as out:
        stream = out.add_stream("dpx", rate=24)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "rgb48le"  # 2,400 frames: 830 MB, not 30 GB
        img = av.VideoFrame(320, 180, "rgb24").reformat(format="rgb48le")
        for packet in [*stream.encode(img), *stream.encode()]:
            out.mux(packet)
    for n in range(86400, 86400 + frames):
        shutil.copyfile(one, folder / f"A002C001_231015_R2EC.{n:07d}.dpx")
    one.unlink()
    return card.parent


def dw(*args: str) -> list[str]:
    return [sys.executable, "-m", "datawrangler", *args]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=100)
    ap.add_argument("--frames", type=int, default=48, help="frames per clip (1080p ProRes HQ)")
    ap.add_argument("--sequence", type=int, default=2400, help="frames of the DPX sequence")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="dwclips-"))
    if work.exists() and any(work.iterdir()):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    env = child_env()
    env["DATAWRANGLER_HOME"] = str(work / "home")
    dropper = CacheDropper()
    if not dropper.cold:
        log(f"warning: {dropper.why}")
    try:
        size = build_clip_card(work, args.clips, args.frames if args.rounds else 1)
        log(f"card: {args.clips} ProRes clips, {size / 1e9:.2f} GB")
        card = work / "clipcard"
        ratios, times = [], {"without": [], "with": []}
        for r in range(args.rounds):
            for kind in ("without", "with") if r % 2 == 0 else ("with", "without"):
                dests = [work / f"{kind}{r}_d1", work / f"{kind}{r}_d2"]
                for d in dests:
                    d.mkdir()
                dropper.drop([card])
                extra = ["--no-clips"] if kind == "without" else []
                run = run_measured(dw("offload", str(card), *map(str, dests), "--verify", "destinations", "--json",
                                      "-q", *extra), env, work)
                if run.returncode != 0:
                    log(run.stderr[-2000:])
                    return 3
                times[kind].append(run.seconds)
                for d in dests:
                    shutil.rmtree(d)
            ratios.append(times["with"][-1] / times["without"][-1])
            log(f"round {r + 1}: without clips {times['without'][-1]:.2f} s, with clips {times['with'][-1]:.2f} s, "
                f"ratio {ratios[-1]:.3f}")
        ratio = statistics.median(ratios) if ratios else 0.0  # --rounds 0: the sequence part only
        seq_root = build_sequence_card(work, args.sequence)
        seq = seq_root / "A002R2EC"
        dropper.drop([seq])
        t_inspect = run_measured(dw("inspect", str(seq)), env, work)
        dests = [work / "seq_d1", work / "seq_d2"]
        for d in dests:
            d.mkdir()
        off = run_measured(dw("offload", str(seq), *map(str, dests), "--verify", "destinations", "--json", "-q"),
                           env, work)
        offload_id = next(e["offload_id"] for e in map(json.loads, off.stdout.splitlines()) if e["event"] == "start")
        t_clips = run_measured(dw("clips", str(offload_id)), env, work)
        t_report = run_measured(dw("report", "offload", str(offload_id), "--pdf", str(work / "seq.pdf")), env, work)
        summary = {
            "clips": args.clips, "card_bytes": size, "rounds": args.rounds, "ratios": ratios, "ratio": ratio,
            "target": TARGET, "passed": ratio <= TARGET, "times": times, "cache": dropper.mode,
            "sequence_frames": args.sequence, "inspect_s": t_inspect.seconds, "sequence_offload_s": off.seconds,
            "clips_list_s": t_clips.seconds, "report_pdf_s": t_report.seconds,
            "sequence_ok": all(x.returncode in (0, 1) for x in (t_inspect, off, t_clips, t_report)),
        }
        log(f"with clips / without: median {ratio:.3f} (target <= {TARGET}) {'PASS' if ratio <= TARGET else 'FAIL'}")
        log(f"{args.sequence}-frame sequence: inspect {t_inspect.seconds:.2f} s, offload {off.seconds:.2f} s, "
            f"clips {t_clips.seconds:.2f} s, report PDF {t_report.seconds:.2f} s")
        if args.json_out:
            args.json_out.write_text(json.dumps(summary, indent=2))
        return 0 if ratio <= TARGET else 1
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
