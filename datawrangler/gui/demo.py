"""`datawrangler demo`: a synthetic ARRI-like camera card and two destination folders in a temporary
folder, so a new user sees a real offload in a minute. Pure Python (runs on a worker).

The temporary folder (the card and both copies: hundreds of MB) is removed when the app exits, after its
window has closed and the offload workers have finished: the data is synthetic. Each folder holds a lock for
as long as its process runs; a later demo removes the folders of demos that were killed before they could
remove their own.
"""

from __future__ import annotations

import atexit
import os
import random
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows: no leftover sweep; each demo still removes its own folder at exit
    fcntl = None  # type: ignore[assignment]

MB = 1_000_000
PREFIX = "datawrangler-demo-"
LOCK_NAME = ".datawrangler-demo.lock"

_lock = threading.Lock()
_owned: dict[Path, IO[str] | None] = {}  # this process's demo folders -> their open lock file


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


def _claim(base: Path) -> None:
    """Mark a new demo folder as this process's: locked while it runs, removed when it exits."""
    lock: IO[str] | None = None
    if fcntl is not None:
        # locked under another name, then renamed: a sweep (remove_leftovers) never sees it unlocked
        lock = open(base / (LOCK_NAME + ".new"), "w")  # noqa: SIM115 - held open until the folder is removed
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(base / (LOCK_NAME + ".new"), base / LOCK_NAME)
    with _lock:
        _owned[base] = lock


def remove_demo(base: Path) -> None:
    """Remove a demo folder this process made (build_demo without a root); does nothing for any other."""
    with _lock:
        if base not in _owned:
            return
        lock = _owned.pop(base)
    shutil.rmtree(base, ignore_errors=True)
    if lock is not None:
        lock.close()


@atexit.register
def _remove_all() -> None:
    for base in list(_owned):
        remove_demo(base)


def remove_leftovers(parent: Path | None = None) -> list[Path]:
    """Remove the demo folders under `parent` (the temporary folder) whose process is gone: those with a lock
    file nobody holds. Folders without the lock file are left alone."""
    if fcntl is None:
        return []
    removed = []
    for folder in Path(parent or tempfile.gettempdir()).glob(PREFIX + "*"):
        lock_path = folder / LOCK_NAME
        if folder.is_symlink() or not lock_path.is_file() or folder in _owned:
            continue
        try:
            with open(lock_path) as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while its demo runs
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue
        removed.append(folder)
    return removed


def build_demo(root: str | os.PathLike[str] | None = None, size_mb: int = 300) -> DemoSetup:
    """A001R2EC: ProRes clips in the ARRI layout, a short frame sequence of stills (frame grabs), the card's
    index files; and drives SHUTTLE_A and SHUTTLE_B (folders) beside it.

    Without `root`: in a new temporary folder, removed when the process exits (see remove_demo)."""
    if root:
        base = Path(root)
    else:
        remove_leftovers()
        base = Path(tempfile.mkdtemp(prefix=PREFIX))
        _claim(base)
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
