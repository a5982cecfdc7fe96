"""The medium seam (core.medium) and durability of names: a copy is verified only once its folder sync
returned; a filesystem that cannot sync a folder is said once per destination. Faults are injected at the
OS call (os.fsync on a folder descriptor); the same faults on a real FUSE filesystem are in
tests/integration/test_medium_faultfs.py."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from datawrangler import platform
from datawrangler.core.errors import Code
from datawrangler.core.events import CopyState, FileResult, FileStatus, OffloadResult, OffloadState
from datawrangler.core.medium import SYNC_UNSUPPORTED, FsMedium, ReadBack, TempFile, VerifyPolicy, open_medium
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.transfer import offload
from tests.conftest import CardBuilder

CARD = {"A001C001.mov": 300_000, "A001C002.mov": 200_000, "SUB/A001C003.mov": 100_000, "SUB/A001C004.mov": 0}


def run(plan: OffloadPlan, **kw: object) -> tuple[OffloadResult, dict[str, FileResult]]:
    files: dict[str, FileResult] = {}
    result = offload(plan, on_file=lambda f: files.__setitem__(f.rel_path, f), **kw)  # type: ignore[arg-type]
    return result, files


def fail_folder_fsync(monkeypatch: pytest.MonkeyPatch, code: int, where: Callable[[str], bool]) -> list[str]:
    """os.fsync on a folder whose path `where` accepts fails with `code`; returns the folders it failed."""
    real = os.fsync
    hit: list[str] = []

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            path = os.readlink(f"/proc/self/fd/{fd}")
            if where(path):
                hit.append(path)
                raise OSError(code, os.strerror(code))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return hit


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd (Linux)")


# ------------------------------------------------------------------------------ platform.sync_dir


@needs_proc
@pytest.mark.parametrize("code", [errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP])
def test_sync_dir_says_not_supported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    fail_folder_fsync(monkeypatch, code, lambda p: True)
    assert platform.sync_dir(str(tmp_path)) is False


@needs_proc
def test_sync_dir_raises_every_other_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert platform.sync_dir(str(tmp_path)) is True
    fail_folder_fsync(monkeypatch, errno.EIO, lambda p: True)
    with pytest.raises(OSError) as err:
        platform.sync_dir(str(tmp_path))
    assert err.value.errno == errno.EIO


# ------------------------------------------------------------------------------ a folder sync that fails


@needs_proc
def test_a_folder_sync_that_fails_leaves_the_copy_not_verified(
        make_card: CardBuilder, dest_dirs, monkeypatch: pytest.MonkeyPatch) -> None:
    card = make_card(CARD)
    d1, d2 = dest_dirs(2)
    hit = fail_folder_fsync(monkeypatch, errno.EIO, lambda p: p.startswith(str(d2)))
    result, files = run(OffloadPlan.create(card, [d1, d2]))

    assert hit
    assert result.state is OffloadState.COMPLETED_WITH_ERRORS and result.files_verified == 0
    assert result.warnings == ()  # a failure is not a warning
    for f in files.values():
        ok, bad = f.copies
        assert ok.state is CopyState.VERIFIED
        assert bad.state is CopyState.FAILED and bad.code is Code.DEST_WRITE_ERROR and bad.verified_at is None
        assert "NOT counted as verified" in bad.message and "resume" in bad.message
        assert "Input/output error" in bad.message
        assert f.status is FileStatus.FAILED
    assert [d.state for d in result.destinations] == ["verified", "completed with errors"]

    # resume once the drive syncs again: the copies there are read back, their folders synced, verified
    monkeypatch.undo()
    result, files = run(OffloadPlan.create(card, [d1, d2]))
    assert result.state is OffloadState.VERIFIED
    assert all(c.already_present for f in files.values() for c in f.copies)


@needs_proc
def test_a_copy_found_already_there_needs_its_folder_synced_too(
        make_card: CardBuilder, dest_dirs, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run killed between the rename and the folder sync leaves the name unsynced: the next run must not
    record the copy verified without syncing it."""
    card = make_card({"A001C001.mov": 50_000})
    (d1,) = dest_dirs(1)
    run(OffloadPlan.create(card, [d1]))
    fail_folder_fsync(monkeypatch, errno.EIO, lambda p: True)
    result, files = run(OffloadPlan.create(card, [d1]))
    (copy,) = files["A001C001.mov"].copies
    assert copy.state is CopyState.FAILED and copy.code is Code.DEST_WRITE_ERROR
    assert result.state is OffloadState.COMPLETED_WITH_ERRORS


# ------------------------------------------------------------------------------ a folder sync not supported


@needs_proc
def test_a_filesystem_that_cannot_sync_a_folder_is_said_once_per_destination(
        make_card: CardBuilder, dest_dirs, monkeypatch: pytest.MonkeyPatch) -> None:
    card = make_card(CARD)
    d1, d2 = dest_dirs(2)
    hit = fail_folder_fsync(monkeypatch, errno.EINVAL, lambda p: True)
    # one file per batch: the folders are synced (and refused) many times over
    result, files = run(OffloadPlan.create(card, [d1, d2], batch_files=1))

    assert len(hit) >= 2 * len(CARD)
    assert result.state is OffloadState.VERIFIED
    assert all(c.state is CopyState.VERIFIED for f in files.values() for c in f.copies)
    # once per destination, however many folders and batches refused (the two verifiers race: any order)
    assert sorted((w.code, w.destination) for w in result.warnings) == [(SYNC_UNSUPPORTED, 0), (SYNC_UNSUPPORTED, 1)]
    for w, d in zip(sorted(result.warnings, key=lambda w: w.destination or 0), (d1, d2), strict=True):
        assert w.path == str(d / card.name)
        assert "cannot sync a folder" in w.message and "Eject" in w.message


# ------------------------------------------------------------------------------ the seam


class LoggingTapeFolder(FsMedium):
    """A filesystem medium that verifies only after all writes (as a tape would), logging the order."""

    verify_policy = VerifyPolicy.AFTER_WRITES

    def __init__(self, roll: str, log: list[str]) -> None:
        super().__init__(roll)
        self.log = log

    def create_temp(self, final: str, token: str) -> TempFile:
        self.log.append("write")
        return super().create_temp(final, token)

    def read_back(self, locator: str, algorithms: Iterable[str], buf: bytearray,
                  on_bytes: Callable[[int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> ReadBack:
        self.log.append("read")
        return super().read_back(locator, algorithms, buf, on_bytes, cancelled)


def test_a_medium_that_verifies_after_all_writes(make_card: CardBuilder, dest_dirs) -> None:
    card = make_card(CARD)
    d1, d2 = dest_dirs(2)
    log: list[str] = []
    plan = OffloadPlan.create(card, [d1, d2], batch_files=1)
    result, files = run(plan, media=[FsMedium(plan.destinations[0]), LoggingTapeFolder(plan.destinations[1], log)])
    assert result.state is OffloadState.VERIFIED
    assert log == ["write"] * len(CARD) + ["read"] * len(CARD)
    assert all(c.state is CopyState.VERIFIED for f in files.values() for c in f.copies)


def test_open_medium_is_the_filesystem_for_a_path(tmp_path: Path) -> None:
    medium = open_medium(str(tmp_path))
    assert isinstance(medium, FsMedium) and medium.location == str(tmp_path)
    assert medium.verify_policy is VerifyPolicy.EACH_BATCH
    (tmp_path / "sub").mkdir()
    assert medium.free_space() > 0
    assert medium.identity() == open_medium(str(tmp_path / "sub")).identity()  # one volume, one identity


def _temp_and_final(tmp_path: Path) -> tuple[FsMedium, str, str]:
    medium = FsMedium(str(tmp_path / "roll"))
    medium.lock()
    final = medium.locate("CLIP/A001C001.mov")
    tf = medium.create_temp(final, "t1")
    tf.write(b"card bytes")
    tf.finish(1_700_000_000_000_000_000)
    return medium, tf.locator, final


@pytest.mark.parametrize("exclusive", [True, False], ids=["renameat2", "link-unlink"])
def test_commit_gives_the_final_name_and_never_replaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        exclusive: bool) -> None:
    """The commit is one exclusive rename where the filesystem has it, link + unlink where it does not
    (rename_exclusive False); either way a file already at the final name stays untouched."""
    calls: list[str] = []
    real = platform.rename_exclusive

    def rename_exclusive(src: str, dst: str) -> bool:
        calls.append(dst)
        return real(src, dst) if exclusive else False

    monkeypatch.setattr(platform, "rename_exclusive", rename_exclusive)
    medium, temp, final = _temp_and_final(tmp_path)
    try:
        medium.commit(temp, final)
        assert Path(final).read_bytes() == b"card bytes" and not os.path.exists(temp)
        assert os.stat(final).st_nlink == 1 and os.stat(final).st_mtime_ns == 1_700_000_000_000_000_000
        tf = medium.create_temp(final, "t2")
        tf.write(b"other bytes")
        tf.finish(0)
        with pytest.raises(FileExistsError):
            medium.commit(tf.locator, final)
        assert Path(final).read_bytes() == b"card bytes" and Path(tf.locator).read_bytes() == b"other bytes"
        assert calls == [final, final]
    finally:
        medium.unlock()


@pytest.mark.skipif(not platform.rename_exclusive.__module__.endswith("linux"), reason="renameat2 is Linux's")
def test_rename_exclusive_is_one_rename_on_a_local_drive(tmp_path: Path) -> None:
    src, dst = tmp_path / "a.part", tmp_path / "a.mov"
    src.write_bytes(b"x")
    assert platform.rename_exclusive(str(src), str(dst)) is True
    assert dst.read_bytes() == b"x" and not src.exists()
    src.write_bytes(b"y")
    with pytest.raises(FileExistsError):
        platform.rename_exclusive(str(src), str(dst))
    with pytest.raises(FileNotFoundError):
        platform.rename_exclusive(str(tmp_path / "gone"), str(tmp_path / "b.mov"))
    assert dst.read_bytes() == b"x" and src.read_bytes() == b"y"


def test_a_folder_this_run_made_is_not_searched_and_an_intruder_there_is_never_replaced(tmp_path: Path) -> None:
    """find() asks nothing of the drive in a folder this run made (one lstat less per file); a file that
    appears there anyway (another program) is refused by the no-replace commit, and stays as it was."""
    (tmp_path / "roll" / "OLD").mkdir(parents=True)
    (tmp_path / "roll" / "OLD" / "A001C009.mov").write_bytes(b"y" * 7)
    medium, _, _ = _temp_and_final(tmp_path)  # roll/CLIP made by this run
    try:
        intruder = medium.locate("CLIP/A001C002.mov")
        Path(intruder).write_bytes(b"someone else's")
        assert medium.find(intruder) is None
        tf = medium.create_temp(intruder, "t2")
        tf.write(b"card bytes")
        tf.finish(0)
        with pytest.raises(FileExistsError):
            medium.commit(tf.locator, intruder)
        assert Path(intruder).read_bytes() == b"someone else's"
        found = medium.find(medium.locate("OLD/A001C009.mov"))  # a folder that was there: asked
        assert found is not None and found.regular and found.size == 7
        assert medium.find(medium.locate("OLD/A001C010.mov")) is None
    finally:
        medium.unlock()


def test_a_resumed_copy_in_a_folder_made_before_is_verified_not_rewritten(make_card: CardBuilder,
                                                                          tmp_path: Path) -> None:
    card = make_card({"CLIP/A001C001.mov": 50_000, "CLIP/A001C002.mov": 60_000})
    dest = tmp_path / "dest"
    dest.mkdir()
    first, _ = run(OffloadPlan.create(card, [dest], verify_mode="destinations"))
    assert first.state is OffloadState.VERIFIED
    copy = dest / card.name / "CLIP" / "A001C001.mov"
    inode = os.stat(copy).st_ino
    _, files = run(OffloadPlan.create(card, [dest], verify_mode="destinations"))
    assert files["CLIP/A001C001.mov"].copies[0].already_present is True
    assert os.stat(copy).st_ino == inode
