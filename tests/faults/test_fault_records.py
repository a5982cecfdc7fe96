"""Faults on real filesystems, run through `datawrangler offload --json`, checked where it matters: the exit
code, the message, the catalog rows and the ASC MHL manifests. For each fault: the affected file is never
recorded or listed as verified, the other files and destinations are, and the message says what happened.

The engine-level behaviour of the same faults is in tests/integration/test_engine_mounts.py.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler import platform
from tests.faultfs import cache_drops
from tests.faults.common import assert_nothing_claimed_falsely, copies, footage, mhl_entries, offload_rows, tree
from tests.faults.conftest import Run

PAGE = 4096
RunCli = Callable[..., Run]


def clips(n: int, size: int = 64 * PAGE) -> dict[str, bytes]:
    return {f"A001C{i:03d}.mov": os.urandom(size) for i in range(1, n + 1)}


def by_dest(offload_id: int | None = None) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for c in copies(offload_id=offload_id):
        parent = os.path.dirname(c.roll)
        name = os.path.basename(parent)
        out.setdefault(os.path.basename(os.path.dirname(parent)) if name == "mnt" else name, {})[c.rel_path] = c.state
    return out


def on_stall(mount, glob: str, action: Callable[[], None]) -> threading.Thread:  # type: ignore[no-untyped-def]
    """Run action once the card stalls on glob (the offload is then mid-copy)."""

    def wait() -> None:
        deadline = time.monotonic() + 30
        while not mount.events("read", glob, fault="stall") and time.monotonic() < deadline:
            time.sleep(0.02)
        action()

    t = threading.Thread(target=wait)
    t.start()
    return t


# ------------------------------------------------------------------------ a destination that lies


@pytest.mark.fuse
def test_a_destination_that_corrupts_what_it_stores(dw: RunCli, faultfs, tmp_path: Path) -> None:
    card = tmp_path / "A001R2EC"
    for rel, data in clips(4).items():
        (card.parent / "A001R2EC").mkdir(exist_ok=True)
        (card / rel).write_bytes(data)
    lying = faultfs("lying")
    lying.corrupt_on_store("*")  # every WRITE (the clips go through temp names)
    good = tmp_path / "good"
    good.mkdir()
    run = dw("offload", card, lying.mountpoint, good, "--retries", "1")
    assert run.code == 1
    for f in run.files().values():
        assert f["status"] == "failed" and f["code"] == "verify_mismatch"
        assert "does not match the card" in f["message"] and "read back" in f["message"]
    states = by_dest()
    assert set(states["lying"].values()) == {"failed"} and set(states["good"].values()) == {"verified"}
    card_digests = {c.rel_path: c.file_digests for c in copies()}
    for c in copies():
        if c.state == "failed":  # a copy that failed is never recorded with the card's digests as its own
            assert c.copy_digests != card_digests[c.rel_path], c
            assert c.code == "verify_mismatch" and c.message
    assert mhl_entries(lying.mountpoint / card.name) == {}  # no generation lists a corrupt copy
    assert set(mhl_entries(good / card.name)) == set(tree(card))
    assert lying.bytes_read("*") >= 4 * 64 * PAGE  # the read-back went to the filesystem, not to RAM
    assert_nothing_claimed_falsely(tree(card), rolls=[lying.mountpoint / card.name, good / card.name])
    assert offload_rows()[0]["state"] == "completed with errors"


@pytest.mark.fuse
def test_the_corruption_is_caught_only_because_the_read_back_bypassed_the_cache(
        dw: RunCli, faultfs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control experiment: without the cache drop, the read-back is served from RAM and the lying
    drive passes. The catalog still does not lie: it records that the read-back did not bypass the cache."""
    card = tmp_path / "A001R2EC"
    card.mkdir()
    for rel, data in clips(2).items():
        (card / rel).write_bytes(data)
    lying = faultfs("lying")
    lying.corrupt_on_store("*")
    drops = cache_drops()
    monkeypatch.setattr(platform, "drop_cache", lambda fd: True)
    monkeypatch.setattr(platform, "open_for_verify", lambda path: (os.open(path, os.O_RDONLY), False))
    run = dw("offload", card, lying.mountpoint, "--verify", "destinations")
    if cache_drops() != drops:
        pytest.skip("something dropped the system page cache during the test")
    assert run.code == 0  # the lie goes unseen without the cache drop...
    stored = (lying.backing / card.name / "A001C001.mov").read_bytes()
    assert stored != (card / "A001C001.mov").read_bytes()
    assert all(c["cache_bypassed"] is False for f in run.files().values() for c in f["copies"])  # ...and flagged
    import sqlite3

    from tests.faults.common import catalog_file

    con = sqlite3.connect(catalog_file())
    flags = con.execute("SELECT DISTINCT cache_bypassed FROM copies").fetchall()
    con.close()
    assert flags == [(0,)]


# ------------------------------------------------------------------------------ a card that misbehaves


@pytest.mark.fuse
def test_a_flaky_card_reader_in_full_mode(dw: RunCli, faultfs, dest_dirs) -> None:
    card = faultfs("A001R2EC", files=clips(3))
    card.flaky_read("A001C002.mov")
    d1, d2 = dest_dirs(2)
    run = dw("offload", card.mountpoint, d1, d2, "--roll", "A001R2EC", "--retries", "0")
    assert run.code == 1
    bad = run.files()["A001C002.mov"]
    assert bad["status"] == "failed" and bad["code"] == "source_unstable"
    assert "different bytes on two reads" in bad["message"] and "do not format the card" in bad["message"]
    for d in (d1, d2):
        roll = d / "A001R2EC"
        assert "A001C002.mov" not in footage(roll) and "A001C002.mov" not in mhl_entries(roll)
        assert set(mhl_entries(roll)) == {"A001C001.mov", "A001C003.mov"}
    assert {s for p, s in by_dest()["drive1"].items() if p == "A001C002.mov"} == {"failed"}
    assert run.done["safe_to_format"] is False
    assert_nothing_claimed_falsely(tree(card.backing), rolls=[d1 / "A001R2EC", d2 / "A001R2EC"])


@pytest.mark.fuse
def test_destinations_mode_does_not_claim_to_catch_a_flaky_reader(dw: RunCli, faultfs, dest_dirs) -> None:
    """Documented limit (docs/reliability.md): 'destinations' compares the copies with the one read of the
    card. A reader that returns different bytes on a second read is not caught, and the catalog says the
    card was not re-read (source_reverified 0) rather than pretending it was."""
    card = faultfs("A001R2EC", files=clips(2))
    card.flaky_read("*")
    (d,) = dest_dirs(1)
    run = dw("offload", card.mountpoint, d, "--roll", "A001R2EC", "--verify", "destinations")
    assert run.code == 0
    assert all(f["source_reverified"] is False for f in run.files().values())
    import sqlite3

    from tests.faults.common import catalog_file

    con = sqlite3.connect(catalog_file())
    assert con.execute("SELECT DISTINCT source_reverified FROM files").fetchall() == [(0,)]
    con.close()


@pytest.mark.fuse
def test_a_card_region_that_cannot_be_read(dw: RunCli, faultfs, dest_dirs) -> None:
    card = faultfs("A001R2EC", files=clips(3, 32 * PAGE))
    card.eio_on_read("A001C002.mov", offset=16 * PAGE)
    d1, d2 = dest_dirs(2)
    run = dw("offload", card.mountpoint, d1, d2, "--roll", "A001R2EC")
    assert run.code == 1
    bad = run.files()["A001C002.mov"]
    assert bad["code"] == "source_read_error" and "do not format this card" in bad["message"]
    assert "at byte" in bad["message"]
    for d in (d1, d2):
        assert set(mhl_entries(d / "A001R2EC")) == {"A001C001.mov", "A001C003.mov"}
    assert all(s == "failed" for p, s in by_dest()["drive2"].items() if p == "A001C002.mov")
    backing = tree(card.backing)
    assert_nothing_claimed_falsely(backing, rolls=[d1 / "A001R2EC", d2 / "A001R2EC"])


@pytest.mark.fuse
def test_a_card_that_stalls_is_waited_for(dw: RunCli, faultfs, dest_dirs) -> None:
    card = faultfs("A001R2EC", files=clips(3))
    card.stall("A001C002.mov", 1.5, ops=("read",), times=1)
    (d,) = dest_dirs(1)
    run = dw("offload", card.mountpoint, d, "--roll", "A001R2EC")
    assert run.code == 0 and run.done["files_verified"] == 3
    assert card.events("read", "A001C002.mov", fault="stall")
    assert set(mhl_entries(d / "A001R2EC")) == set(tree(card.backing))


@pytest.mark.fuse
def test_a_card_that_vanishes_then_resume(dw: RunCli, faultfs, dest_dirs) -> None:
    card = faultfs("A001R2EC", files=clips(8))
    rule = card.vanish("*", after_bytes=3 * 64 * PAGE + PAGE)
    d1, d2 = dest_dirs(2)
    run = dw("offload", card.mountpoint, d1, d2, "--roll", "A001R2EC")
    assert run.code == 4, run.events[-3:]
    assert run.done["state"] == "interrupted" and "Re-insert it and resume" in run.done["message"]
    rolls = [d1 / "A001R2EC", d2 / "A001R2EC"]
    for roll in rolls:
        assert mhl_entries(roll) == {}  # an interrupted offload writes no ASC MHL
    card.remove(rule)  # the card is back
    backing = tree(card.backing)
    assert_nothing_claimed_falsely(backing, rolls=rolls)
    oid = run.done["offload_id"]
    again = dw("resume", str(oid))
    assert again.code == 0, again.events[-3:]
    assert offload_rows()[0]["state"] == "verified"
    for roll in rolls:
        assert set(mhl_entries(roll)) == set(backing) == set(footage(roll))
    assert_nothing_claimed_falsely(backing, rolls=rolls)


# ------------------------------------------------------------------------ destinations that fail


@pytest.mark.fuse
@pytest.mark.root
def test_a_destination_that_fills_up_mid_copy(dw: RunCli, faultfs, tmpfs_mount, tmp_path: Path) -> None:
    """Preflight saw room; another writer fills the drive during the offload."""
    card = faultfs("A001R2EC", files=clips(6, 256 * PAGE))  # 6 x 1 MiB
    stall = card.stall("A001C003.mov", 30, ops=("read",))
    small = tmpfs_mount(8 << 20)
    big = tmp_path / "raid"
    big.mkdir()

    def fill() -> None:
        with open(Path(small.mountpoint) / "other_writer.bin", "wb") as f:
            try:
                while True:
                    f.write(b"\0" * (1 << 20))
                    f.flush()
            except OSError:
                pass
        card.remove(stall)

    t = on_stall(card, "A001C003.mov", fill)
    run = dw("offload", card.mountpoint, small.mountpoint, big, "--roll", "A001R2EC")
    t.join()
    assert run.code == 1
    small_dest, big_dest = run.done["destinations"]
    assert small_dest["state"] == "failed" and small_dest["code"] == "dest_full"
    assert "The destination drive is full" in small_dest["message"]
    assert big_dest["state"] == "verified" and big_dest["files_ok"] == 6
    roll_small, roll_big = Path(small.mountpoint) / "A001R2EC", big / "A001R2EC"
    assert set(mhl_entries(roll_big)) == set(tree(card.backing))
    backing = tree(card.backing)
    assert_nothing_claimed_falsely(backing, rolls=[roll_small, roll_big])
    assert not [p for p in roll_small.rglob("*") if p.name.startswith(".dwtmp-")]


@pytest.mark.fuse
@pytest.mark.root
def test_a_destination_unplugged_mid_copy(dw: RunCli, faultfs, ext4_loop_mount, tmp_path: Path) -> None:
    card = faultfs("A001R2EC", files=clips(8, 64 * PAGE))
    stall = card.stall("A001C004.mov", 30, ops=("read",))
    drive = ext4_loop_mount(64, label="SHUTTLE1")
    raid = tmp_path / "raid"
    raid.mkdir()

    def unplug() -> None:
        drive.unmount(lazy=True)
        card.remove(stall)

    t = on_stall(card, "A001C004.mov", unplug)
    run = dw("offload", card.mountpoint, drive.mountpoint, raid, "--roll", "A001R2EC")
    t.join()
    assert run.code == 1
    shuttle, other = run.done["destinations"]
    assert shuttle["state"] == "failed" and shuttle["code"] == "dest_gone" and "Reconnect it" in shuttle["message"]
    assert other["state"] == "verified" and other["files_ok"] == 8
    backing = tree(card.backing)
    assert set(mhl_entries(raid / "A001R2EC")) == set(backing)
    # plug the drive back in (the same device, another mount point): the catalog claims no more than it holds
    again = tmp_path / "replugged"
    again.mkdir()
    time.sleep(0.2)
    subprocess.run(["mount", "-o", "ro", str(drive.device), str(again)], check=True, capture_output=True)
    try:
        roll = again / "A001R2EC"
        claimed = {c.rel_path for c in copies() if c.state == "verified" and c.roll.startswith(str(drive.mountpoint))}
        # (usually none: a batch of files is verified after its sync barrier, and the drive went first)
        for rel in claimed:
            assert (roll / rel).is_file() and tree(roll)[rel][2] == backing[rel][2]
        for rel, digest in footage(roll).items():
            assert digest == backing[rel][2]
        assert mhl_entries(roll) == {}  # the drive was gone when the handoff files were written
    finally:
        subprocess.run(["umount", str(again)], capture_output=True, check=False)
