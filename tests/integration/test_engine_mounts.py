"""The engine against real mounts: a FUSE filesystem that lies, a tmpfs that fills up, an ext4 drive that
is unmounted mid-copy, a card that fails or vanishes. Root and FUSE only; skipped with a reason elsewhere
(the fixtures say which)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datawrangler.core.errors import Code
from datawrangler.core.events import CopyState, FileResult, FileStatus, OffloadResult, OffloadState
from datawrangler.core.plan import OffloadPlan, preflight
from datawrangler.core.scan import scan_source
from datawrangler.core.transfer import is_temp_name, offload
from tests.conftest import write_file
from tests.faultfs import cache_drops

PAGE = 4096


def run(plan: OffloadPlan, **kw: object) -> tuple[OffloadResult, dict[str, FileResult]]:
    files: dict[str, FileResult] = {}
    result = offload(plan, on_file=lambda f: files.__setitem__(f.rel_path, f), **kw)  # type: ignore[arg-type]
    return result, files


def card_on_disk(tmp_path: Path, n: int = 4, size: int = 64 * PAGE) -> Path:
    card = tmp_path / "A001R2EC"
    for i in range(n):
        write_file(card / f"A001C{i + 1:03d}_231014_R2EC.mov", size, seed=i + 1)
    return card


def no_temps(root: Path) -> bool:
    return not [p for p in root.rglob("*") if is_temp_name(p.name)]


# ---------------------------------------------------------------------------- the read-back is the medium


@pytest.mark.fuse
def test_corruption_hidden_by_the_page_cache_is_caught(tmp_path: Path, faultfs) -> None:
    """The FUSE drive stores flipped bytes while the kernel keeps the clean pages the writer gave it.
    A read-back from the cache would pass; the engine's, after dropping the pages, must not."""
    card = card_on_disk(tmp_path)
    lying = faultfs("lying")
    lying.corrupt_on_store("*")
    good = tmp_path / "good"
    good.mkdir()
    result, files = run(OffloadPlan.create(card, [lying.mountpoint, good], retries=1))

    assert result.state is OffloadState.COMPLETED_WITH_ERRORS
    for f in files.values():
        assert f.status is FileStatus.FAILED and f.code is Code.VERIFY_MISMATCH
        assert f.copies[0].state is CopyState.FAILED and f.copies[0].attempts == 2
        assert f.copies[1].state is CopyState.VERIFIED
    # nothing with wrong bytes got a final name on the lying drive; the good drive has everything
    assert [p for p in lying.backing.rglob("*") if p.is_file()] == []
    assert sorted(p.name for p in (good / card.name).iterdir()) == sorted(p.name for p in card.iterdir())
    # the verifier really fetched the bytes from the filesystem, not from RAM
    assert lying.bytes_read("*") >= 4 * 64 * PAGE


@pytest.mark.fuse
def test_without_the_cache_drop_the_same_corruption_would_pass(tmp_path: Path, faultfs, monkeypatch) -> None:
    """The control experiment: disable the cache drop and the read-back comes from RAM, sees clean bytes
    and calls the copy good, while the drive holds corrupt data. The engine also knows: cache_bypassed
    is False for every such copy, so nothing could report it as read from the medium."""
    card = card_on_disk(tmp_path, n=2)
    lying = faultfs("lying")
    lying.corrupt_on_store("*")
    drops_before = cache_drops()
    monkeypatch.setattr(os, "posix_fadvise", lambda *args: None)  # the OS takes the advice and drops nothing
    result, files = run(OffloadPlan.create(card, [lying.mountpoint], verify_mode="destinations"))
    if cache_drops() != drops_before:
        pytest.skip("something dropped the system page cache during the test (a benchmark running?)")
    assert result.state is OffloadState.VERIFIED  # the lie goes unseen...
    assert all(c.cache_bypassed is False for f in files.values() for c in f.copies)  # ...and is flagged
    stored = (lying.backing / card.name / "A001C001_231014_R2EC.mov").read_bytes()
    assert stored != (card / "A001C001_231014_R2EC.mov").read_bytes()


# ---------------------------------------------------------------------------------- destinations failing


@pytest.mark.root
def test_a_destination_that_fills_up_fails_alone(tmp_path: Path, tmpfs_mount) -> None:
    card = card_on_disk(tmp_path, n=6, size=1 << 20)
    small = tmpfs_mount(3 << 20)
    big = tmp_path / "big"
    big.mkdir()
    plan = OffloadPlan.create(card, [small.mountpoint, big])
    refused = preflight(plan, scan_source(card))
    assert [e.code for e in refused.errors] == [Code.NO_SPACE]  # preflight sees it coming...
    assert "Free space or choose a larger drive" in refused.errors[0].message
    result, files = run(plan, check=False)  # ...and if the drive fills up anyway (another writer):
    assert result.state is OffloadState.COMPLETED_WITH_ERRORS
    assert result.destinations[0].state == "failed" and result.destinations[0].code is Code.DEST_FULL
    assert "full" in result.destinations[0].message
    assert result.destinations[1].state == "verified"
    assert all(f.copies[1].state is CopyState.VERIFIED for f in files.values())
    assert any(f.copies[0].code is Code.DEST_FULL for f in files.values())
    assert no_temps(Path(small.mountpoint))
    for f in files.values():  # what is on the small drive under a final name is whole and verified
        p = Path(small.mountpoint) / card.name / f.rel_path
        assert p.exists() == (f.copies[0].state is CopyState.VERIFIED)


@pytest.mark.root
def test_a_destination_unmounted_mid_copy_fails_alone(tmp_path: Path, ext4_loop_mount) -> None:
    card = card_on_disk(tmp_path, n=10, size=1 << 20)
    drive = ext4_loop_mount(64, label="SHUTTLE1")
    other = tmp_path / "raid"
    other.mkdir()

    files: dict[str, FileResult] = {}

    def on_file(f: FileResult) -> None:
        files[f.rel_path] = f
        if len(files) == 3:
            drive.unmount(lazy=True)  # the cable is pulled

    result = offload(OffloadPlan.create(card, [drive.mountpoint, other], batch_files=1), on_file=on_file)
    assert result.state is OffloadState.COMPLETED_WITH_ERRORS
    assert result.destinations[0].state == "failed" and result.destinations[0].code is Code.DEST_GONE
    assert "Reconnect it" in result.destinations[0].message
    assert result.destinations[1].state == "verified" and result.destinations[1].files_ok == 10
    assert sum(f.copies[0].state is CopyState.VERIFIED for f in files.values()) >= 3
    assert all(f.copies[1].state is CopyState.VERIFIED for f in files.values())


# ----------------------------------------------------------------------------------------- the card failing


@pytest.mark.fuse
def test_a_card_region_that_cannot_be_read_fails_that_file_only(tmp_path: Path, faultfs) -> None:
    card = faultfs("card", files={f"A001C00{i}.mov": os.urandom(32 * PAGE) for i in range(1, 4)})
    card.eio_on_read("A001C002.mov", offset=16 * PAGE)
    dest = tmp_path / "d"
    dest.mkdir()
    result, files = run(OffloadPlan.create(card.mountpoint, [dest], roll_name="A001", read_retries=2))
    assert files["A001C002.mov"].code is Code.SOURCE_READ_ERROR
    assert str(16 * PAGE) in files["A001C002.mov"].message or "at byte" in files["A001C002.mov"].message
    assert files["A001C001.mov"].status is FileStatus.VERIFIED
    assert files["A001C003.mov"].status is FileStatus.VERIFIED
    assert not (dest / "A001" / "A001C002.mov").exists()
    assert result.state is OffloadState.COMPLETED_WITH_ERRORS


@pytest.mark.fuse
def test_a_transient_card_read_error_is_retried(tmp_path: Path, faultfs) -> None:
    card = faultfs("card", files={"A001C001.mov": os.urandom(32 * PAGE)})
    card.eio_on_read("A001C001.mov", offset=8 * PAGE, opens=1)  # the first open's reads fail; a reopen works
    dest = tmp_path / "d"
    dest.mkdir()
    result, _ = run(OffloadPlan.create(card.mountpoint, [dest], roll_name="A001"))
    assert result.state is OffloadState.VERIFIED
    assert (dest / "A001" / "A001C001.mov").read_bytes() == (card.backing / "A001C001.mov").read_bytes()


@pytest.mark.fuse
def test_a_flaky_card_reader_is_caught_by_the_full_reread(tmp_path: Path, faultfs) -> None:
    card = faultfs("card", files={"A001C001.mov": os.urandom(32 * PAGE), "A001C002.mov": os.urandom(PAGE)})
    card.flaky_read("A001C001.mov")
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    d2.mkdir()
    result, files = run(OffloadPlan.create(card.mountpoint, [d1, d2], roll_name="A001", retries=0))
    bad = files["A001C001.mov"]
    assert bad.status is FileStatus.FAILED and bad.code is Code.SOURCE_UNSTABLE
    assert not (d1 / "A001" / "A001C001.mov").exists() and not (d2 / "A001" / "A001C001.mov").exists()
    assert files["A001C002.mov"].status is FileStatus.VERIFIED
    assert result.state is OffloadState.COMPLETED_WITH_ERRORS


@pytest.mark.fuse
def test_a_card_that_vanishes_mid_copy_interrupts_the_offload(tmp_path: Path, faultfs) -> None:
    card = faultfs("card", files={f"A001C{i:03d}.mov": os.urandom(64 * PAGE) for i in range(1, 9)})
    card.vanish("*", after_bytes=3 * 64 * PAGE + PAGE)
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    d2.mkdir()
    result, files = run(OffloadPlan.create(card.mountpoint, [d1, d2], roll_name="A001"))
    assert result.state is OffloadState.INTERRUPTED
    assert "Re-insert it and resume" in result.message
    assert result.files_verified < 8
    assert no_temps(d1) and no_temps(d2)
    for d in (d1, d2):
        for p in (d / "A001").glob("*"):  # a final name only on whole, verified copies
            assert p.read_bytes() == (card.backing / p.name).read_bytes()
            assert files[p.name].status is FileStatus.VERIFIED
