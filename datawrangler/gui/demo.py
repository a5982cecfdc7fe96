"""`datawrangler demo`: a synthetic ARRI-like camera card and two destination folders in a temporary
folder, so a new user sees a real offload in a minute. Pure Python (runs on a worker)."""

from __future__ import annotations

import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

MB = 1_000_000


@dataclass(frozen=True)
class DemoSetup:
    root: Path
    card: Path
    destinations: tuple[Path, Path]


def _write(path: Path, size: int, seed: int, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    block = rnd.randbytes(min(size, 4 << 20)) if size else b""
    with open(path, "wb") as f:
        left = size
        i = 0
        while left:
            n = min(left, len(block))
            # vary each block a little so no two chunks are the same bytes
            f.write(i.to_bytes(8, "little") + block[8:n] if n > 8 else block[:n])
            left -= n
            i += 1
    os.utime(path, (mtime, mtime))


def build_demo(root: str | os.PathLike[str] | None = None, size_mb: int = 300) -> DemoSetup:
    """A001R2EC: ProRes clips in the ARRI layout, a short frame sequence of stills (frame grabs), the card's
    index files; and drives SHUTTLE_A and SHUTTLE_B (folders) beside it."""
    base = Path(root) if root else Path(tempfile.mkdtemp(prefix="datawrangler-demo-"))
    card = base / "media" / "A001R2EC"
    reel = card / "A001R2EC"
    mtime = 1_697_280_000.0
    clips = 6
    seq_frames = 24
    clip_bytes = max(1, (size_mb * MB * 85 // 100) // clips)
    frame_bytes = max(1, (size_mb * MB * 15 // 100) // seq_frames)
    for i in range(clips):
        _write(reel / f"A001C{i + 1:03d}_231014_R2EC.mov", clip_bytes + i * 4093, i + 1, mtime + i * 60)
    seq = card / "STILLS" / "A001C003_FRAMEGRAB"
    for f in range(seq_frames):
        _write(seq / f"A001C003_FRAMEGRAB.{f + 1:07d}.dng", frame_bytes, 100 + f, mtime + 420 + f)
    _write(card / "SDINFO.TXT", 120, 999, mtime)
    (card / "A001R2EC.xml").write_text("<card reel='A001' camera='A' />\n", encoding="utf-8")
    dests = (base / "drives" / "SHUTTLE_A", base / "drives" / "SHUTTLE_B")
    for d in dests:
        d.mkdir(parents=True, exist_ok=True)
    return DemoSetup(base, card, dests)
