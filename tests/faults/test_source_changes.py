"""A card file that changes while DataWrangler reads it: between the scan and the read, during the read, and
between the read and the full-mode re-read. Whatever the moment and whatever changed (its size, its bytes, only
its modification time), the copy is never recorded as the card's file, the message names the file and says the
card is still being written to (or is unstable), and the other files verify.

The card is a real FUSE mount (FaultFS) whose stall holds one request while a thread changes the backing file,
so the change lands at a known moment of the engine's work, not at a guessed sleep.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.common import assert_nothing_claimed_falsely, copies, tree
from tests.faults.conftest import Run

RunCli = Callable[..., Run]
SIZE = 256 * 1024
ROLL = "A002R1EC"
CHANGED = "A002C002.mov"


def _card(faultfs):
    files = {f"A002C00{i}.mov": os.urandom(SIZE) for i in range(1, 4)}
    return faultfs("A002R1EC", files=files)


def _when_stalled(card, op: str, held: Callable[[list[dict]], bool], change: Callable[[Path], None]
                  ) -> threading.Thread:
    """Run `change(backing file)` once the card's held `op` requests of the changed file satisfy `held`
    (then the stall ends by itself and the engine goes on with the changed file)."""

    def wait_then_change() -> None:
        deadline = time.monotonic() + 30
        while not held(card.events(op, CHANGED, fault="stall")):
            assert time.monotonic() < deadline, "the card never held the request the test waits for"
            time.sleep(0.01)
        change(card.backing / CHANGED)

    t = threading.Thread(target=wait_then_change)
    t.start()
    return t


def _once(stalls: list[dict]) -> bool:
    return bool(stalls)


def _the_reread(stalls: list[dict]) -> bool:
    """A held read at offset 0 after one further on: the full-mode re-read starting, the first read done."""
    offsets = [e["offset"] for e in stalls]
    return any(o > 0 for o in offsets) and offsets[-1] == 0


def _grow(path: Path) -> None:
    with open(path, "ab") as f:
        f.write(b"the camera wrote more frames")


def _rewrite_keep_mtime(path: Path) -> None:
    """New bytes of the same length and the old modification time: only the bytes say it changed."""
    st = path.stat()
    with open(path, "r+b") as f:
        f.write(os.urandom(st.st_size))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _touch(path: Path) -> None:
    """The same bytes, a new modification time (a camera that rewrote the file's header in place)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def _never_verified(run: Run, d1: Path, d2: Path, card, code: str) -> dict:
    assert run.code == 1, run.raw[-2000:]
    bad = run.files()[CHANGED]
    assert bad["status"] == "failed" and bad["code"] == code, bad
    others = {p: f["status"] for p, f in run.files().items() if p != CHANGED}
    assert others == {"A002C001.mov": "verified", "A002C003.mov": "verified"}
    assert (CHANGED, "verified") not in {(c.rel_path, c.state) for c in copies()}
    for d in (d1, d2):
        assert not (d / ROLL / CHANGED).exists(), f"{CHANGED} kept a final name on {d}"
    assert_nothing_claimed_falsely(tree(card.backing), rolls=[d1 / ROLL, d2 / ROLL])
    return bad


@pytest.mark.fuse
@pytest.mark.parametrize("mode", ["full", "destinations"])
def test_a_file_that_grows_between_the_scan_and_its_read(dw: RunCli, faultfs, dest_dirs, mode: str) -> None:
    """The change lands after the card was listed and before the file is opened (its open is held)."""
    card = _card(faultfs)
    card.stall(CHANGED, 1.0, ops=("open",), times=1)
    d1, d2 = dest_dirs(2)
    t = _when_stalled(card, "open", _once, _grow)
    run = dw("offload", card.mountpoint, d1, d2, "--roll", ROLL, "--retries", "0", "--verify", mode)
    t.join()
    bad = _never_verified(run, d1, d2, card, "source_changed")
    assert "Make sure nothing else writes to the card" in bad["message"]


@pytest.mark.fuse
def test_a_file_rewritten_in_place_while_copied_full_mode(dw: RunCli, faultfs, dest_dirs) -> None:
    """Same size, same modification time, other bytes from halfway: the full-mode re-read of the card
    differs from the first read, so the card (or its reader) cannot be trusted for this file."""
    card = _card(faultfs)
    card.stall(CHANGED, 1.0, ops=("read",), offset=SIZE // 2, times=1)
    d1, d2 = dest_dirs(2)
    t = _when_stalled(card, "read", _once, _rewrite_keep_mtime)
    run = dw("offload", card.mountpoint, d1, d2, "--roll", ROLL, "--retries", "0", "--verify", "full")
    t.join()
    bad = _never_verified(run, d1, d2, card, "source_unstable")
    assert "do not format the card" in bad["message"]


@pytest.mark.fuse
@pytest.mark.parametrize(("change", "code"), [("touch", "source_changed"), ("grow", "source_changed"),
                                              ("rewrite", "source_unstable")])
def test_a_file_that_changes_between_its_read_and_the_reread(dw: RunCli, faultfs, dest_dirs, change: str,
                                                          code: str) -> None:
    """Full mode reads each card file twice. A change between the two (the first read is done, the re-read's
    first request is held) fails the file: a new modification time or size says the card was written to
    (source_changed), new bytes under the old size and time say the card cannot be trusted (source_unstable).
    Matching bytes under a new modification time are still not the file that was listed."""
    card = _card(faultfs)
    card.stall(CHANGED, 0.4, ops=("read",), offset=0)  # every read request of it: both passes
    d1, d2 = dest_dirs(2)
    act = {"touch": _touch, "grow": _grow, "rewrite": _rewrite_keep_mtime}[change]
    t = _when_stalled(card, "read", _the_reread, act)
    run = dw("offload", card.mountpoint, d1, d2, "--roll", ROLL, "--retries", "0", "--verify", "full")
    t.join()
    bad = _never_verified(run, d1, d2, card, code)
    if code == "source_changed":
        assert "Make sure nothing else writes to the card" in bad["message"]
