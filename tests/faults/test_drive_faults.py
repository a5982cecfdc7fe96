"""Destination drives that fail in ways preflight cannot see, run through `datawrangler offload --json` on real
mounts: a drive whose file table runs out (tmpfs nr_inodes) while bytes are free, a drive that turns read-only
in the middle of the offload (tmpfs remounted ro), and a drive whose writes work but whose read-back fails
(FaultFS: EIO on read only). Each time the copies on that drive fail with a message that says what happened
and what to do, the other drive verifies every file, nothing is recorded or listed in an ASC MHL as verified
that is not on the drive with the card's bytes, and a resume once the drive is fixed finishes the offload.

The card is a FaultFS mount whose stall holds the offload at a known file while the test changes the drive,
so the fault lands mid-offload, after preflight, not at a guessed sleep. Its first two clips are larger than
a read chunk: they are streamed to the drives and sit there as closed temp files when the fault comes.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler.core.errors import Code, dest_code_for, dest_message, out_of_inodes
from tests.conftest import CardBuilder
from tests.faultfs import FaultMount
from tests.faults.common import (
    assert_nothing_claimed_falsely,
    copies,
    footage,
    mhl_entries,
    offload_rows,
    temp_files,
    tree,
)
from tests.faults.conftest import Run
from tests.integration.conftest import Ext4Factory, FaultFSFactory, TmpfsFactory

RunCli = Callable[..., Run]
PAGE = 4096
MiB = 1 << 20
ROLL = "A001R2EC"
HELD = "A001C004.mov"  # the card file whose read is held while the drive changes


def card_files() -> dict[str, bytes]:
    """Two clips larger than a read chunk (streamed, written before the hold), four small ones."""
    files = {f"A001C00{i}.mov": os.urandom(8 * MiB + PAGE) for i in (1, 2)}
    files.update({f"A001C00{i}.mov": os.urandom(64 * PAGE) for i in range(3, 7)})
    return files


def while_held(card: FaultMount, action: Callable[[], None], glob: str = HELD) -> threading.Thread:
    """Once the card holds a read of `glob`, run `action` (which ends the hold) in a thread."""

    def wait() -> None:
        deadline = time.monotonic() + 30
        while not card.events("read", glob, fault="stall"):
            assert time.monotonic() < deadline, "the card never held the read the test waits for"
            time.sleep(0.02)
        action()

    t = threading.Thread(target=wait)
    t.start()
    return t


def remount(mountpoint: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(mountpoint)], check=True, capture_output=True)


def remount_read_only(mountpoint: Path) -> None:
    """`mount -o remount,ro`, retried while a file on it is open for writing (EBUSY): the kernel turns a
    drive read-only only between writes, as it does after an error."""
    deadline = time.monotonic() + 20
    while True:
        done = subprocess.run(["mount", "-o", "remount,ro", str(mountpoint)], capture_output=True, text=True)
        if done.returncode == 0:
            return
        assert time.monotonic() < deadline, f"the drive never became read-only: {done.stderr}"
        time.sleep(0.02)


def drive_copies(drive: Path) -> dict[str, tuple[str, str | None, str | None]]:
    """{rel path: (state, code, message)} of the catalog's copies on `drive`."""
    return {c.rel_path: (c.state, c.code, c.message) for c in copies() if c.roll.startswith(str(drive) + os.sep)}


def the_other_drive_verified(run: Run, raid: Path, card_tree: dict[str, tuple[int, int, str]]) -> None:
    other = run.done["destinations"][1]
    assert other["state"] == "verified" and other["files_ok"] == len(card_tree)
    assert set(mhl_entries(raid / ROLL)) == set(card_tree) == set(footage(raid / ROLL))


def resume_finishes(dw: RunCli, run: Run, rolls: list[Path], card_tree: dict[str, tuple[int, int, str]]) -> None:
    again = dw("resume", str(run.done["offload_id"]))
    assert again.code == 0, again.events[-3:]
    assert offload_rows()[0]["state"] == "verified"
    for roll in rolls:
        assert set(mhl_entries(roll)) == set(card_tree) == set(footage(roll))
    assert not temp_files(*rolls)
    assert_nothing_claimed_falsely(card_tree, rolls=rolls)


# ------------------------------------------------------------------------------- out of inodes, not bytes


def out_of_inodes_mid_offload(dw: RunCli, faultfs: FaultFSFactory, tmpfs_mount: TmpfsFactory,
                              tmp_path: Path) -> tuple[Run, FaultMount, Path, Path, Path]:
    """A 64 MiB tmpfs with room for 300 inodes; while the card is held, another writer takes every free inode
    with empty files (bytes stay free). Returns (run, card, drive, raid, other writer's folder)."""
    card = faultfs(ROLL, files=card_files())
    hold = card.stall(HELD, 30, ops=("read",))
    drive = tmpfs_mount(64 * MiB)
    remount(drive.mountpoint, "nr_inodes=300")
    raid = tmp_path / "raid"
    raid.mkdir()
    other = Path(drive.mountpoint) / "other_writer"

    def take_every_inode() -> None:
        other.mkdir()
        n = 0
        try:
            while True:
                (other / f"{n}.txt").touch()
                n += 1
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        card.remove(hold)

    t = while_held(card, take_every_inode)
    run = dw("offload", card.mountpoint, drive.mountpoint, raid, "--roll", ROLL)
    t.join()
    st = os.statvfs(drive.mountpoint)
    assert st.f_favail == 0 and st.f_bavail * st.f_frsize > 8 * MiB  # the control: no inodes, bytes free
    return run, card, Path(drive.mountpoint), raid, other


def test_a_destination_out_of_inodes_mid_offload(dw: RunCli, faultfs: FaultFSFactory,
                                                 tmpfs_mount: TmpfsFactory, tmp_path: Path) -> None:
    run, card, drive, raid, other = out_of_inodes_mid_offload(dw, faultfs, tmpfs_mount, tmp_path)
    assert run.code == 1 and offload_rows()[0]["state"] == "completed with errors"
    card_tree = tree(card.backing)
    the_other_drive_verified(run, raid, card_tree)
    on_drive = drive_copies(drive)
    failed = {rel: (code, message) for rel, (state, code, message) in on_drive.items() if state != "verified"}
    assert failed, "the drive out of inodes took every file"
    for rel, (code, message) in failed.items():  # the small clips need new inodes: they fail, and say why
        assert code == "dest_no_inodes", (rel, code, message)
        assert message and "no room for more files" in message and "file table is full" in message
        assert "is full." not in message  # not the bytes-full message: the drive has free space
        assert "Delete files you no longer need" in message and "resume the offload" in message
    assert {"A001C003.mov", "A001C004.mov", "A001C005.mov", "A001C006.mov"} <= set(failed)  # new inodes
    for rel in failed:
        assert rel not in footage(drive / ROLL)
        assert rel not in mhl_entries(drive / ROLL)
    assert_nothing_claimed_falsely(card_tree, rolls=[drive / ROLL, raid / ROLL])
    for p in other.iterdir():  # the other writer's files go: the drive has inodes again
        p.unlink()
    resume_finishes(dw, run, [drive / ROLL, raid / ROLL], card_tree)


def test_the_drive_out_of_inodes_fails_as_a_whole(dw: RunCli, faultfs: FaultFSFactory,
                                                  tmpfs_mount: TmpfsFactory, tmp_path: Path) -> None:
    run, _card, _drive, _raid, _other = out_of_inodes_mid_offload(dw, faultfs, tmpfs_mount, tmp_path)
    drive = run.done["destinations"][0]
    assert drive["state"] == "failed" and drive["code"] == "dest_no_inodes"
    assert "no room for more files (its file table is full, though" in drive["message"]
    assert " MB are free" in drive["message"]


def test_preflight_refuses_a_drive_without_inodes_for_the_card(dw: RunCli, make_card: CardBuilder,
                                                              tmpfs_mount: TmpfsFactory,
                                                              tmp_path: Path) -> None:
    card = make_card(files={f"C{i:02d}.mov": 4096 for i in range(40)})
    drive = tmpfs_mount(64 * MiB)
    remount(drive.mountpoint, "nr_inodes=20")  # bytes for all, inodes for half
    raid = tmp_path / "raid"
    raid.mkdir()
    run = dw("offload", card, raid, drive.mountpoint)
    assert run.code == 2, run.events[-3:]
    errors = [e for e in run.errors if e.get("code") == "no_space"]
    assert errors and "no room for" in errors[0]["message"] and "files" in errors[0]["message"]
    assert "file table" in errors[0]["message"]
    assert not run.of("start") and not (Path(drive.mountpoint) / card.name).exists()


# ------------------------------------------------------------------------ read-only in the middle


def read_only_mid_offload(dw: RunCli, faultfs: FaultFSFactory, tmpfs_mount: TmpfsFactory,
                          tmp_path: Path) -> tuple[Run, FaultMount, Path, Path]:
    """While the card is held (the two large clips written and closed on the drive, not yet renamed), the
    drive is remounted read-only. Returns (run, card, drive, raid)."""
    card = faultfs(ROLL, files=card_files())
    hold = card.stall(HELD, 30, ops=("read",))
    drive = tmpfs_mount(64 * MiB)
    raid = tmp_path / "raid"
    raid.mkdir()

    def turn_read_only() -> None:
        remount_read_only(drive.mountpoint)
        card.remove(hold)

    t = while_held(card, turn_read_only)
    run = dw("offload", card.mountpoint, drive.mountpoint, raid, "--roll", ROLL)
    t.join()
    assert os.statvfs(drive.mountpoint).f_flag & os.ST_RDONLY  # the control: it was read-only at the end
    return run, card, Path(drive.mountpoint), raid


def test_a_destination_that_turns_read_only_mid_offload(dw: RunCli, faultfs: FaultFSFactory,
                                                        tmpfs_mount: TmpfsFactory, tmp_path: Path) -> None:
    run, card, drive, raid = read_only_mid_offload(dw, faultfs, tmpfs_mount, tmp_path)
    assert run.code == 1 and offload_rows()[0]["state"] == "completed with errors"
    card_tree = tree(card.backing)
    the_other_drive_verified(run, raid, card_tree)
    on_drive = drive_copies(drive)
    assert set(on_drive) == set(card_tree)
    for rel, (state, code, message) in on_drive.items():
        assert state == "failed" and code == "dest_read_only", (rel, state, code)
        assert message and "became read-only during the offload" in message
        assert "make it writable again, then resume the offload" in message
    assert footage(drive / ROLL) == {} and mhl_entries(drive / ROLL) == {}
    assert_nothing_claimed_falsely(card_tree, rolls=[drive / ROLL, raid / ROLL])
    remount(drive, "rw")  # the drive is checked and writable again
    resume_finishes(dw, run, [drive / ROLL, raid / ROLL], card_tree)


def test_the_drive_that_turned_read_only_fails_as_a_whole(dw: RunCli, faultfs: FaultFSFactory,
                                                          tmpfs_mount: TmpfsFactory, tmp_path: Path) -> None:
    run, _card, _drive, _raid = read_only_mid_offload(dw, faultfs, tmpfs_mount, tmp_path)
    drive = run.done["destinations"][0]
    assert drive["state"] == "failed" and drive["code"] == "dest_read_only"
    assert "became read-only during the offload" in drive["message"]


def test_a_drive_the_kernel_turns_read_only_mid_file(dw: RunCli, faultfs: FaultFSFactory,
                                                     ext4_loop_mount: Ext4Factory, tmp_path: Path) -> None:
    """The real cause of a drive turning read-only mid-offload: ext4 with errors=remount-ro hits an error
    (ext4's own trigger_fs_error) while a clip is half written. Writes to the open temp file, syncs, renames
    and new files all fail with EROFS from then on."""
    card = faultfs(ROLL, files=card_files())
    hold = card.stall("A001C002.mov", 30, ops=("read",), offset=8 * MiB)  # its first 8 MiB are on the drive
    drive = ext4_loop_mount(64, label="SHUTTLE1")
    remount(drive.mountpoint, "errors=remount-ro")
    trigger = Path("/sys/fs/ext4") / os.path.basename(str(drive.device)) / "trigger_fs_error"
    if not trigger.exists():
        pytest.skip(f"this kernel has no {trigger}")
    raid = tmp_path / "raid"
    raid.mkdir()

    def drive_error() -> None:
        trigger.write_text("a drive error, injected by the test\n")
        card.remove(hold)

    t = while_held(card, drive_error, "A001C002.mov")
    run = dw("offload", card.mountpoint, drive.mountpoint, raid, "--roll", ROLL)
    t.join()
    roll = Path(drive.mountpoint) / ROLL
    with pytest.raises(OSError) as refused:  # the control: the kernel made it read-only
        (roll / "probe").touch()
    assert refused.value.errno == errno.EROFS
    assert run.code == 1 and offload_rows()[0]["state"] == "completed with errors"
    card_tree = tree(card.backing)
    the_other_drive_verified(run, raid, card_tree)
    on_drive = drive_copies(Path(drive.mountpoint))
    assert set(on_drive) == set(card_tree)
    for rel, (state, code, message) in on_drive.items():
        assert state == "failed" and code == "dest_read_only", (rel, state, code, message)
        assert message and "became read-only during the offload" in message and "after a drive error" in message
    assert footage(roll) == {} and mhl_entries(roll) == {}
    assert_nothing_claimed_falsely(card_tree, rolls=[roll, raid / ROLL])
    drive.unmount()  # ejected, checked, plugged in again: writable
    if shutil.which("e2fsck"):
        subprocess.run(["e2fsck", "-fy", str(drive.image)], capture_output=True, check=False)
    subprocess.run(["mount", str(drive.device), str(drive.mountpoint)], check=True, capture_output=True)
    resume_finishes(dw, run, [roll, raid / ROLL], card_tree)


# ------------------------------------------------------------------------ a read-back that fails


def read_back_fails(dw: RunCli, faultfs: FaultFSFactory,
                    tmp_path: Path) -> tuple[Run, FaultMount, FaultMount, Path]:
    """A FaultFS drive whose reads fail with EIO past 80 pages: only A001C002 (96 pages) reaches there;
    writes are untouched. Returns (run, card, drive, raid)."""
    files = {f"A001C00{i}.mov": os.urandom(32 * PAGE) for i in range(1, 5)}
    files["A001C002.mov"] = os.urandom(96 * PAGE)
    card = faultfs(ROLL, files=files)
    drive = faultfs("drive")
    drive.eio_on_read("*", offset=80 * PAGE)  # the temp names and the final name alike
    raid = tmp_path / "raid"
    raid.mkdir()
    run = dw("offload", card.mountpoint, drive.mountpoint, raid, "--roll", ROLL)
    assert drive.events("read", fault="eio_on_read"), "the drive's read fault never fired"
    return run, card, drive, raid


def test_a_destination_whose_read_back_fails(dw: RunCli, faultfs: FaultFSFactory, tmp_path: Path) -> None:
    run, card, drive, raid = read_back_fails(dw, faultfs, tmp_path)
    assert run.code == 1 and offload_rows()[0]["state"] == "completed with errors"
    card_tree = tree(card.backing)
    the_other_drive_verified(run, raid, card_tree)
    bad = run.files()["A001C002.mov"]
    assert bad["status"] == "failed" and bad["code"] == "verify_read_error"
    assert "could not be read back from the destination drive" in bad["message"]
    assert "disappeared" not in bad["message"]  # the drive is still there: it answered with an error
    assert "check it, then resume the offload" in bad["message"]
    assert [c["state"] for c in bad["copies"]] == ["failed", "verified"]
    summary = run.done["destinations"][0]  # the drive goes on: the other files verify on it
    assert summary["state"] == "completed with errors" and summary["files_ok"] == 3
    roll = Path(drive.mountpoint) / ROLL
    assert set(mhl_entries(roll)) == set(footage(roll)) == set(card_tree) - {"A001C002.mov"}
    assert drive_copies(Path(drive.mountpoint))["A001C002.mov"][:2] == ("failed", "verify_read_error")
    assert not temp_files(drive.backing / ROLL)  # the unverifiable temp copy is gone
    assert_nothing_claimed_falsely(card_tree, rolls=[roll, raid / ROLL])
    drive.clear()  # the cable is changed
    resume_finishes(dw, run, [roll, raid / ROLL], card_tree)


def test_a_read_back_error_is_retried(dw: RunCli, faultfs: FaultFSFactory, tmp_path: Path) -> None:
    run, _card, _drive, _raid = read_back_fails(dw, faultfs, tmp_path)
    bad = run.files()["A001C002.mov"]
    assert bad["code"] == "verify_read_error" and bad["copies"][0]["attempts"] == 3  # 1 + the 2 default retries


# -------------------------------------------------------------------- the mapping, without mounts


@pytest.mark.parametrize(("err", "code"), [
    (errno.EROFS, Code.DEST_READ_ONLY),
    (errno.EIO, Code.DEST_WRITE_ERROR),  # a drive that answers with an error has not disappeared
    (errno.ENODEV, Code.DEST_GONE),
    (errno.ENOENT, Code.DEST_GONE),
    (errno.EACCES, Code.DEST_PERMISSION),
    (errno.ENOSPC, Code.DEST_FULL),  # tmp_path's drive has free inodes
])
def test_the_destination_error_codes(tmp_path: Path, err: int, code: Code) -> None:
    assert not out_of_inodes(tmp_path)
    exc = OSError(err, os.strerror(err), str(tmp_path / "roll" / ".dwtmp-x.part"))
    assert dest_code_for(exc) is code
    assert dest_code_for(OSError(err, os.strerror(err)), str(tmp_path)) is code
    message = dest_message(code, exc, str(tmp_path))
    assert message.endswith(")") and len(message) > 60  # what happened and what to do, with the detail


def test_a_full_drive_names_its_free_space(tmp_path: Path) -> None:
    exc = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    message = dest_message(Code.DEST_FULL, exc, str(tmp_path / "not" / "made" / "yet"))
    assert message.startswith("The destination drive is full.") and " free)" in message
