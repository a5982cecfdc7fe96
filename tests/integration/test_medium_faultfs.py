"""Durability of names on a real filesystem: FaultFS (FUSE) fails fsync on its folders. A copy whose folder
sync failed is never verified, neither by the engine nor in the catalog; a filesystem that cannot sync a
folder (EINVAL) is said once per destination and its copies stay verified. Root and FUSE only."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from datawrangler.core.errors import Code
from datawrangler.core.events import CopyState, FileResult, FileStatus, OffloadResult, OffloadState
from datawrangler.core.medium import SYNC_UNSUPPORTED
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.transfer import offload
from tests.conftest import write_file
from tests.faults.common import assert_nothing_claimed_falsely, copies, offload_rows, tree
from tests.faults.conftest import dw  # noqa: F401  (the CLI fixture)

PAGE = 4096


def card_on_disk(tmp_path: Path) -> Path:
    card = tmp_path / "A001R2EC"
    for i in range(3):
        write_file(card / f"A001C{i + 1:03d}_231014_R2EC.mov", 64 * PAGE, seed=i + 1)
    write_file(card / "SUB" / "A001C004_231014_R2EC.mov", 16 * PAGE, seed=9)
    return card


def run(plan: OffloadPlan) -> tuple[OffloadResult, dict[str, FileResult]]:
    files: dict[str, FileResult] = {}
    result = offload(plan, on_file=lambda f: files.__setitem__(f.rel_path, f))
    return result, files


@pytest.mark.fuse
def test_a_folder_sync_that_fails_on_the_drive_fails_the_copies(tmp_path: Path, faultfs) -> None:
    card = card_on_disk(tmp_path)
    drive = faultfs("drive")
    rule = drive.fsync_error("*", errno=errno.EIO)
    good = tmp_path / "good"
    good.mkdir()
    result, files = run(OffloadPlan.create(card, [drive.mountpoint, good]))

    assert drive.events("fsyncdir", fault="fsync_error")  # the real folder sync went to the filesystem
    assert result.state is OffloadState.COMPLETED_WITH_ERRORS and result.files_verified == 0
    for f in files.values():
        assert f.status is FileStatus.FAILED
        assert f.copies[0].state is CopyState.FAILED and f.copies[0].code is Code.DEST_WRITE_ERROR
        assert "NOT counted as verified" in f.copies[0].message
        assert f.copies[1].state is CopyState.VERIFIED

    # the drive syncs again: the next run reads the copies back, syncs their folders and verifies them
    drive.remove(rule)
    result, files = run(OffloadPlan.create(card, [drive.mountpoint, good]))
    assert result.state is OffloadState.VERIFIED


@pytest.mark.fuse
def test_a_folder_sync_that_fails_is_not_recorded_verified(dw, faultfs, tmp_path: Path) -> None:  # noqa: F811
    """Through `datawrangler offload`: the catalog never calls those copies verified, no MHL lists them."""
    card = card_on_disk(tmp_path)
    drive = faultfs("drive")
    drive.fsync_error("*", errno=errno.EIO)
    good = tmp_path / "good"
    good.mkdir()
    result = dw("offload", card, drive.mountpoint, good)
    assert result.code == 1
    for f in result.files().values():
        assert f["status"] == "failed" and f["code"] == "dest_write_error"
        assert "NOT counted as verified" in f["message"]
    rows = copies()
    on_drive = [c for c in rows if c.roll.startswith(str(drive.mountpoint))]
    assert on_drive and {c.state for c in on_drive} == {"failed"}
    assert {c.code for c in on_drive} == {"dest_write_error"}
    assert {c.state for c in rows if c.roll.startswith(str(good))} == {"verified"}
    assert offload_rows()[0]["state"] == "completed with errors"
    assert_nothing_claimed_falsely(tree(card), rolls=[drive.mountpoint / card.name, good / card.name])


@pytest.mark.fuse
def test_a_drive_that_cannot_sync_a_folder_warns_once_and_verifies(tmp_path: Path, faultfs) -> None:
    card = card_on_disk(tmp_path)
    one, two = faultfs("one"), faultfs("two")
    for d in (one, two):
        d.fsync_error("*", errno=errno.EINVAL)
    result, files = run(OffloadPlan.create(card, [one.mountpoint, two.mountpoint], batch_files=1))

    assert len(one.events("fsyncdir", fault="fsync_error")) >= 2  # refused for several batches and folders
    assert result.state is OffloadState.VERIFIED
    assert all(c.state is CopyState.VERIFIED for f in files.values() for c in f.copies)
    assert sorted((w.code, w.destination) for w in result.warnings) == [(SYNC_UNSUPPORTED, 0), (SYNC_UNSUPPORTED, 1)]
    assert all(w.path.startswith((os.fspath(one.mountpoint), os.fspath(two.mountpoint))) for w in result.warnings)


@pytest.mark.fuse
def test_the_dit_hears_that_a_drive_cannot_sync_a_folder(dw, faultfs, tmp_path: Path) -> None:  # noqa: F811
    """Through `datawrangler offload --json` (app.offload): the engine's warning reaches the user, once per
    destination, and the copies are verified."""
    card = card_on_disk(tmp_path)
    one, two = faultfs("one"), faultfs("two")
    for d in (one, two):
        d.fsync_error("*", errno=errno.EINVAL)
    result = dw("offload", card, one.mountpoint, two.mountpoint)
    assert result.code == 0 and result.done["state"] == "verified"
    said = [w for w in result.of("warning") if w.get("code") == SYNC_UNSUPPORTED]
    assert sorted(Path(w["path"]).parts[-3] for w in said) == ["one", "two"], said  # <name>/mnt/<roll>
