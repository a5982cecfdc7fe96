"""The engine on real files: what it promises a DIT, and what it does when the card or a drive misbehaves.

Faults here are injected at the OS-call boundary (a wrapped os.read / open_for_verify acting on one file);
faults that need a real mount (full drive, pulled drive, page-cache proof) live in tests/integration.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sys
import threading
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
import xxhash

from datawrangler import platform
from datawrangler.core.errors import Code
from datawrangler.core.events import (
    CopyState,
    FileResult,
    FileStatus,
    OffloadControl,
    OffloadResult,
    OffloadState,
    ProgressEvent,
)
from datawrangler.core.medium import fs
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.transfer import TEMP_PREFIX, is_temp_name, offload
from tests.conftest import BigData, CardBuilder, write_file


def run(plan: OffloadPlan, **kw: object) -> tuple[OffloadResult, dict[str, FileResult]]:
    files: dict[str, FileResult] = {}
    result = offload(plan, on_file=lambda f: files.__setitem__(f.rel_path, f), **kw)  # type: ignore[arg-type]
    return result, files


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def temp_files(*roots: Path) -> list[Path]:
    return [p for r in roots for p in r.rglob("*") if is_temp_name(p.name)]


def assert_identical_copy(card: Path, roll: Path) -> None:
    src = tree(card)
    assert tree(roll) == src
    for rel in src:
        assert (roll / rel).stat().st_mtime_ns == (card / rel).stat().st_mtime_ns, rel


# --------------------------------------------------------------------------------------- the good path


def test_offload_to_two_destinations_verifies_every_byte(make_card: CardBuilder, dest_dirs) -> None:
    card = make_card()
    d1, d2 = dest_dirs(2)
    plan = OffloadPlan.create(card, [d1, d2], algorithms="xxh64,md5")
    result, files = run(plan)

    assert result.state is OffloadState.VERIFIED and result.all_verified
    assert result.files_verified == result.files_total == 4
    for d in (d1, d2):
        assert_identical_copy(card, d / card.name)
    assert temp_files(d1, d2) == []
    for rel, fr in files.items():
        data = (card / rel).read_bytes()
        assert fr.status is FileStatus.VERIFIED
        assert fr.digests == {"xxh64": xxhash.xxh64(data).hexdigest(), "md5": hashlib.md5(data).hexdigest()}
        assert fr.source_reverified  # full mode re-read the card
        assert [c.state for c in fr.copies] == [CopyState.VERIFIED, CopyState.VERIFIED]
        assert all(c.digests == fr.digests and c.verified_at for c in fr.copies)
    assert [d.state for d in result.destinations] == ["verified", "verified"]


@pytest.mark.parametrize(("files", "dests", "verified", "copied"), [
    (1, 1, "1 file verified on 1 destination.", "1 file copied;"),
    (2, 2, "All 2 files verified on 2 destinations.", "All 2 files copied;")])
def test_the_summary_counts_files_and_destinations(make_card: CardBuilder, dest_dirs, files: int, dests: int,
                                                   verified: str, copied: str) -> None:
    card = make_card({f"A001C00{i + 1}.mov": 1000 + i for i in range(files)})
    result, _ = run(OffloadPlan.create(card, dest_dirs(dests)))
    assert result.state is OffloadState.VERIFIED and result.message == verified
    result, _ = run(OffloadPlan.create(card, dest_dirs(dests), verify_mode="size"))
    assert result.state is OffloadState.COPIED and result.message.startswith(copied), result.message


def test_read_back_is_proven_to_bypass_the_page_cache(make_card: CardBuilder, dest_dirs) -> None:
    if not sys.platform.startswith("linux") or platform.fstype(str(dest_dirs(1)[0])) in ("tmpfs", "ramfs"):
        pytest.skip("needs Linux and a disk-backed temporary directory (mincore proves the cache drop)")
    card = make_card()
    (d1,) = dest_dirs(1)
    _, files = run(OffloadPlan.create(card, [d1]))
    assert all(c.cache_bypassed is True for f in files.values() for c in f.copies)


def test_destinations_mode_does_not_reread_the_card(make_card: CardBuilder, dest_dirs) -> None:
    card = make_card()
    result, files = run(OffloadPlan.create(card, dest_dirs(2), verify_mode="destinations"))
    assert result.state is OffloadState.VERIFIED
    assert not any(f.source_reverified for f in files.values())


def test_size_mode_never_claims_verified(make_card: CardBuilder, dest_dirs) -> None:
    card = make_card()
    d1, d2 = dest_dirs(2)
    result, files = run(OffloadPlan.create(card, [d1, d2], verify_mode="size"))
    assert result.state is OffloadState.COPIED
    assert result.files_verified == 0 and result.files_copied == 4
    assert "NOT verified" in result.message
    assert all(c.state is CopyState.COPIED and c.verified_at is None for f in files.values() for c in f.copies)
    assert_identical_copy(card, d1 / card.name)


def test_ignored_system_files_are_not_copied(make_card: CardBuilder, dest_dirs) -> None:
    card = make_card({"A001C001.mov": 1000, ".DS_Store": 10, "._A001C001.mov": 10, "SONYCARD.IND": 5})
    (d1,) = dest_dirs(1)
    result, _ = run(OffloadPlan.create(card, [d1]))
    assert result.state is OffloadState.VERIFIED
    assert sorted(tree(d1 / card.name)) == ["A001C001.mov", "SONYCARD.IND"]


def test_names_are_written_exactly_as_the_card_spells_them(make_card: CardBuilder, dest_dirs) -> None:
    names = {
        unicodedata.normalize("NFC", "Szene_Ü_nfc.mov"): 10,
        unicodedata.normalize("NFD", "Szene_Ö_nfd.mov"): 11,
        "with space 'and' \"quotes\".mov": 12,
        "日本語/クリップ.mxf": 14,
    }
    card = make_card(names)
    (d1,) = dest_dirs(1)
    result, _ = run(OffloadPlan.create(card, [d1]))
    assert result.state is OffloadState.VERIFIED
    assert sorted(os.listdir(os.fsencode(d1 / card.name))) == sorted(os.listdir(os.fsencode(card)))
    assert_identical_copy(card, d1 / card.name)


def test_zero_byte_files_and_deep_trees(make_card: CardBuilder, dest_dirs) -> None:
    deep = "/".join(f"d{i}" for i in range(60))
    card = make_card({"empty.txt": 0, f"{deep}/clip.mov": 5000, f"{deep}/empty": 0})
    (d1,) = dest_dirs(1)
    result, _ = run(OffloadPlan.create(card, [d1]))
    assert result.state is OffloadState.VERIFIED
    assert_identical_copy(card, d1 / card.name)


@pytest.mark.slow
def test_ten_thousand_small_files(tmp_path: Path, dest_dirs) -> None:
    card = tmp_path / "A001R2EC"
    for i in range(10_000):
        folder = card / f"A001C{i // 1000:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"A001C{i // 1000:03d}.{i:07d}.ari").write_bytes(i.to_bytes(4, "big") * (i % 50))
    d1, d2 = dest_dirs(2)
    result, files = run(OffloadPlan.create(card, [d1, d2], verify_mode="destinations"))
    assert result.state is OffloadState.VERIFIED, result.message
    assert result.files_verified == len(files) == 10_000
    assert tree(d2 / card.name) == tree(card)


@pytest.mark.slow
def test_file_larger_than_4_gib(tmp_path: Path, dest_dirs, big_data: BigData) -> None:
    size = (4 << 30) + 12345
    big_data.need(size)  # the copy is real: 4.3 GB on the destination
    card = tmp_path / "A002R1AB"
    card.mkdir()
    big = card / "A002C001.mxf"
    with open(big, "wb") as f:  # sparse: reads as zeros, costs no disk on the card side
        f.truncate(size)
        f.seek(size - 5)
        f.write(b"TAIL!")
    (d1,) = dest_dirs(1)
    big_data.remove_later(card, d1)
    result, files = run(OffloadPlan.create(card, [d1], verify_mode="destinations"))
    assert result.state is OffloadState.VERIFIED, result.message
    copy = d1 / card.name / "A002C001.mxf"
    assert copy.stat().st_size == size
    with open(copy, "rb") as f:
        f.seek(size - 5)
        assert f.read() == b"TAIL!"
    assert files["A002C001.mxf"].copies[0].digests["xxh64"] == files["A002C001.mxf"].digests["xxh64"]


# ----------------------------------------------------------------------- what is already at a destination


def test_identical_file_at_destination_is_verified_not_rewritten(make_card: CardBuilder, dest_dirs) -> None:
    card = make_card()
    (d1,) = dest_dirs(1)
    run(OffloadPlan.create(card, [d1]))
    clip = d1 / card.name / card.name / "A001C001_231014_R2EC.mov"
    inode = clip.stat().st_ino
    result, files = run(OffloadPlan.create(card, [d1]))
    assert result.state is OffloadState.VERIFIED
    assert clip.stat().st_ino == inode
    assert all(c.already_present for f in files.values() for c in f.copies)


@pytest.mark.parametrize("kind", ["same size", "other size", "folder"])
def test_different_file_at_destination_is_a_conflict_and_untouched(make_card: CardBuilder, dest_dirs,
                                                                   kind: str) -> None:
    card = make_card({"A001C001.mov": 4000, "A001C002.mov": 5000})
    (d1,) = dest_dirs(1)
    existing = d1 / card.name / "A001C001.mov"
    existing.parent.mkdir(parents=True)
    if kind == "folder":
        existing.mkdir()
    else:
        existing.write_bytes(b"x" * (4000 if kind == "same size" else 17))
    before = tree(d1)
    result, files = run(OffloadPlan.create(card, [d1]))
    assert result.state is OffloadState.COMPLETED_WITH_ERRORS
    f = files["A001C001.mov"]
    assert f.status is FileStatus.FAILED and f.code is Code.CONFLICT
    assert "Nothing was overwritten" in f.message
    assert files["A001C002.mov"].status is FileStatus.VERIFIED
    after = tree(d1)
    assert {k: v for k, v in after.items() if k in before} == before
    assert temp_files(d1) == []


def test_leftover_temp_files_of_a_crashed_run_are_removed(make_card: CardBuilder, dest_dirs) -> None:
    card = make_card()
    (d1,) = dest_dirs(1)
    stale = d1 / card.name / "sub" / f"{TEMP_PREFIX}dead-7.part"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half a clip")
    result, _ = run(OffloadPlan.create(card, [d1]))
    assert result.state is OffloadState.VERIFIED
    assert not stale.exists()


# --------------------------------------------------------------------------------- faults at destinations


def corrupt_on_verify(monkeypatch: pytest.MonkeyPatch, match: Callable[[str], bool], times: int) -> list[str]:
    """Flip one byte of the stored file just before its read-back, the first `times` times."""
    real = platform.open_for_verify
    hits: list[str] = []

    def fake(path: str) -> tuple[int, bool]:
        if match(path) and len(hits) < times and os.path.getsize(path) > 0:
            hits.append(path)
            with open(path, "r+b") as f:
                f.seek(os.path.getsize(path) // 2)
                b = f.read(1)
                f.seek(-1, os.SEEK_CUR)
                f.write(bytes([b[0] ^ 0x01]))
                f.flush()
                os.fsync(f.fileno())
        return real(path)

    monkeypatch.setattr(platform, "open_for_verify", fake)
    return hits


def test_a_byte_changed_on_a_destination_is_caught_and_the_file_recopied(
        make_card: CardBuilder, dest_dirs, monkeypatch: pytest.MonkeyPatch) -> None:
    card = make_card({"A001C001.mov": 3_000_000, "A001C002.mov": 1000})
    d1, d2 = dest_dirs(2)
    hits = corrupt_on_verify(monkeypatch, lambda p: "drive2" in p and is_temp_name(os.path.basename(p)), 1)
    result, files = run(OffloadPlan.create(card, [d1, d2]))
    assert len(hits) == 1
    assert result.state is OffloadState.VERIFIED
    hit_file = next(f for f in files.values() if f.copies[1].attempts == 2)
    assert hit_file.copies[0].attempts == 1  # only the bad destination was written again
    assert_identical_copy(card, d2 / card.name)


def test_a_destination_that_keeps_corrupting_never_gets_the_file(
        make_card: CardBuilder, dest_dirs, monkeypatch: pytest.MonkeyPatch) -> None:
    card = make_card({"A001C001.mov": 3_000_000, "A001C002.mov": 1000})
    d1, d2 = dest_dirs(2)
    corrupt_on_verify(monkeypatch, lambda p: "drive2" in p and "dwtmp" in p and os.path.getsize(p) > 2000, 99)
    result, files = run(OffloadPlan.create(card, [d1, d2], retries=2))
    f = files["A001C001.mov"]
    assert result.state is OffloadState.COMPLETED_WITH_ERRORS
    assert f.status is FileStatus.FAILED and f.code is Code.VERIFY_MISMATCH
    assert f.copies[0].state is CopyState.VERIFIED
    assert f.copies[1].state is CopyState.FAILED and f.copies[1].attempts == 3
    assert not (d2 / card.name / "A001C001.mov").exists()  # never under its final name with wrong bytes
    assert files["A001C002.mov"].status is FileStatus.VERIFIED
    assert temp_files(d1, d2) == []
    assert [d.state for d in result.destinations] == ["verified", "completed with errors"]


# ---------------------------------------------------------------------------------------- faults on the card


class CardReads:
    """Wraps os.read for one card file: fail it with EIO, or hand out other bytes, a number of times."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
        self.target = str(target)
        self.real = os.read
        self.eio_left = 0
        self.flip_on_reads: set[int] = set()  # which open of the file (1-based) returns other bytes
        self.opens = 0
        self.on_first_chunk: Callable[[], None] | None = None
        self._fds: dict[int, int] = {}
        monkeypatch.setattr(os, "read", self.read)
        real_open = os.open

        def opener(path, flags, *args, **kw):  # type: ignore[no-untyped-def]
            fd = real_open(path, flags, *args, **kw)
            if os.fspath(path) == self.target:
                self.opens += 1
                self._fds[fd] = self.opens
            else:
                self._fds.pop(fd, None)
            return fd

        monkeypatch.setattr(os, "open", opener)

    def read(self, fd: int, n: int) -> bytes:
        which = self._fds.get(fd)
        if which is None:
            return self.real(fd, n)
        if self.eio_left > 0:
            self.eio_left -= 1
            raise OSError(errno.EIO, "Input/output error")
        data = self.real(fd, n)
        if self.on_first_chunk is not None:
            cb, self.on_first_chunk = self.on_first_chunk, None
            cb()
        if data and which in self.flip_on_reads:
            data = bytes([data[0] ^ (which & 0xFF)]) + data[1:]  # each open of the file reads differently
        return data


def test_a_read_error_on_the_card_is_retried(make_card: CardBuilder, dest_dirs, monkeypatch) -> None:
    card = make_card({"A001C001.mov": 2_000_000, "A001C002.mov": 1000})
    reads = CardReads(monkeypatch, card / "A001C001.mov")
    reads.eio_left = 2
    result, _ = run(OffloadPlan.create(card, dest_dirs(2), read_retries=3))
    assert result.state is OffloadState.VERIFIED
    assert reads.eio_left == 0


def test_a_card_file_that_cannot_be_read_fails_alone(make_card: CardBuilder, dest_dirs, monkeypatch) -> None:
    card = make_card({"A001C001.mov": 2_000_000, "A001C002.mov": 1000})
    reads = CardReads(monkeypatch, card / "A001C001.mov")
    reads.eio_left = 10_000
    d1, d2 = dest_dirs(2)
    result, files = run(OffloadPlan.create(card, [d1, d2], read_retries=2))
    assert result.state is OffloadState.COMPLETED_WITH_ERRORS
    bad = files["A001C001.mov"]
    assert bad.status is FileStatus.FAILED and bad.code is Code.SOURCE_READ_ERROR
    assert "do not format" in bad.message
    assert all(c.code is Code.SOURCE_READ_ERROR for c in bad.copies)
    assert files["A001C002.mov"].status is FileStatus.VERIFIED
    for d in (d1, d2):
        assert not (d / card.name / "A001C001.mov").exists()
    assert temp_files(d1, d2) == []


def test_a_flaky_reader_is_caught_in_full_mode(make_card: CardBuilder, dest_dirs, monkeypatch) -> None:
    card = make_card({"A001C001.mov": 2_000_000, "A001C002.mov": 1000})
    reads = CardReads(monkeypatch, card / "A001C001.mov")
    reads.flip_on_reads = set(range(2, 100))  # every read after the first differs
    d1, d2 = dest_dirs(2)
    _, files = run(OffloadPlan.create(card, [d1, d2], retries=1))
    bad = files["A001C001.mov"]
    assert bad.status is FileStatus.FAILED and bad.code is Code.SOURCE_UNSTABLE
    assert "different bytes" in bad.message
    for d in (d1, d2):  # the bytes of an unreliable read never get a final name
        assert not (d / card.name / "A001C001.mov").exists()
    assert temp_files(d1, d2) == []
    assert files["A001C002.mov"].status is FileStatus.VERIFIED


def test_a_one_off_misread_is_retried_and_verified(make_card: CardBuilder, dest_dirs, monkeypatch) -> None:
    card = make_card({"A001C001.mov": 2_000_000})
    reads = CardReads(monkeypatch, card / "A001C001.mov")
    reads.flip_on_reads = {2}  # only the first re-read differs
    result, files = run(OffloadPlan.create(card, dest_dirs(2)))
    assert result.state is OffloadState.VERIFIED
    assert all(c.attempts == 2 for c in files["A001C001.mov"].copies)


def test_destinations_mode_does_not_claim_to_catch_a_flaky_reader(make_card, dest_dirs, monkeypatch) -> None:
    """Documented limit: without the card re-read, a reader that gives different bytes later goes unseen."""
    card = make_card({"A001C001.mov": 200_000})
    reads = CardReads(monkeypatch, card / "A001C001.mov")
    reads.flip_on_reads = set(range(2, 100))
    result, files = run(OffloadPlan.create(card, dest_dirs(1), verify_mode="destinations"))
    assert result.state is OffloadState.VERIFIED
    assert not files["A001C001.mov"].source_reverified


def test_a_file_that_changes_while_copied_fails(make_card: CardBuilder, dest_dirs, monkeypatch) -> None:
    card = make_card({"A001C001.mov": 3_000_000, "A001C002.mov": 1000})
    target = card / "A001C001.mov"
    reads = CardReads(monkeypatch, target)

    def grow() -> None:
        with open(target, "ab") as f:
            f.write(b"more frames")

    reads.on_first_chunk = grow
    d1, _ = dest_dirs(2)
    result, files = run(OffloadPlan.create(card, dest_dirs(2), chunk_size=1 << 20))
    assert files["A001C001.mov"].code is Code.SOURCE_CHANGED
    assert "changed on the card" in files["A001C001.mov"].message
    assert not (d1 / card.name / "A001C001.mov").exists()
    assert files["A001C002.mov"].status is FileStatus.VERIFIED
    assert result.state is OffloadState.COMPLETED_WITH_ERRORS


def test_card_pulled_mid_offload_stops_as_interrupted(make_card: CardBuilder, dest_dirs, tmp_path: Path) -> None:
    card = make_card({f"clip{i:02d}.mov": 400_000 for i in range(12)})
    d1, d2 = dest_dirs(2)
    pulled = tmp_path / "pulled"

    def pull(f: FileResult) -> None:
        if f.rel_path == "clip02.mov" and card.exists():
            card.rename(pulled)  # the mount point is no longer there

    files: dict[str, FileResult] = {}

    def on_file(f: FileResult) -> None:
        files[f.rel_path] = f
        pull(f)

    # files larger than a chunk are streamed file by file (small ones: tests/core/test_small_files.py)
    result = offload(OffloadPlan.create(card, [d1, d2], batch_files=1, chunk_size=1 << 18), on_file=on_file)
    assert result.state is OffloadState.INTERRUPTED
    assert "Re-insert" in result.message
    assert 3 <= result.files_verified < 12
    assert temp_files(d1, d2) == []
    for d in (d1, d2):  # whatever has a final name is whole and right
        for rel, data in tree(d / card.name).items():
            assert data == (pulled / rel).read_bytes()


# ------------------------------------------------------------------------------------------ cancel, pause


def test_cancel_takes_effect_within_a_second(tmp_path: Path, dest_dirs, big_data: BigData) -> None:
    big_data.need(600 << 20)  # the 400 MiB card and what is copied before the cancel
    card = tmp_path / "A003R1AA"
    d1, d2 = dest_dirs(2)
    big_data.remove_later(card, d1, d2)
    write_file(card / "A003C001.mov", 400 << 20, seed=3)
    control = OffloadControl()
    cancelled_at: list[float] = []

    def on_progress(e: ProgressEvent) -> None:
        if e.bytes_read > (40 << 20) and not cancelled_at:
            cancelled_at.append(time.monotonic())
            control.cancel()

    result = offload(OffloadPlan.create(card, [d1, d2]), control=control, on_progress=on_progress,
                     progress_interval=0.05)
    took = time.monotonic() - cancelled_at[0]
    assert result.state is OffloadState.CANCELLED
    assert took < 1.0, f"cancel took {took:.2f} s"
    assert not (d1 / card.name / "A003C001.mov").exists()
    assert temp_files(d1, d2) == []


def test_pause_stops_reading_and_resume_finishes(tmp_path: Path, dest_dirs) -> None:
    card = tmp_path / "A004R1AA"
    for i in range(3):
        write_file(card / f"A004C00{i}.mov", 30 << 20, seed=i)
    control = OffloadControl()
    seen: list[tuple[float, int, bool]] = []

    def on_progress(e: ProgressEvent) -> None:
        seen.append((time.monotonic(), e.bytes_read, e.paused))
        if e.bytes_read and not control.paused and len([s for s in seen if s[2]]) == 0:
            control.pause()
            threading.Timer(0.8, control.resume).start()

    result = offload(OffloadPlan.create(card, dest_dirs(1), chunk_size=1 << 20), control=control,
                     on_progress=on_progress, progress_interval=0.05)
    assert result.state is OffloadState.VERIFIED
    paused = [s for s in seen if s[2]]
    assert len(paused) >= 5  # progress kept flowing while paused
    # nothing more was read while paused, once the chunk in flight was done
    assert paused[-1][1] - paused[1][1] == 0


def test_progress_reports_totals_speed_and_eta(make_card: CardBuilder, dest_dirs) -> None:
    card = make_card({f"c{i}.mov": 2_000_000 for i in range(5)})
    events: list[ProgressEvent] = []
    result = offload(OffloadPlan.create(card, dest_dirs(2)), on_progress=events.append, progress_interval=0.01)
    assert result.state is OffloadState.VERIFIED
    last = events[-1]
    assert last.phase == "done" and last.fraction == 1.0 and last.files_done == last.files_total == 5
    assert last.bytes_total == 10_000_000 == last.bytes_read
    assert [d.state for d in last.destinations] == ["done", "done"]
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions)


def test_cancel_with_a_small_file_waiting_for_its_batch_still_returns(tmp_path: Path, dest_dirs,
                                                                      big_data: BigData) -> None:
    """A file read whole but not yet synced (waiting for its batch) when the cancel comes must end as
    cancelled, not leave the offload waiting for it forever."""
    big_data.need(300 << 20)  # the 200 MiB card and what is copied before the cancel
    card = tmp_path / "A003R2EC"
    d1, d2 = dest_dirs(2)
    big_data.remove_later(card, d1, d2)
    write_file(card / "A003R2EC" / "A003C001.xml", 900, seed=1)
    write_file(card / "A003R2EC" / "A003C001_231014_R2EC.mov", 200 << 20, seed=2)
    control = OffloadControl()
    files: dict[str, FileResult] = {}

    def on_progress(e: ProgressEvent) -> None:
        if e.bytes_read > (20 << 20):
            control.cancel()

    done: list[OffloadResult] = []
    worker = threading.Thread(target=lambda: done.append(offload(
        OffloadPlan.create(card, [d1, d2]), control=control, on_progress=on_progress, progress_interval=0.02,
        on_file=lambda f: files.__setitem__(f.rel_path, f))))
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "offload() did not return after cancel"
    assert done[0].state is OffloadState.CANCELLED
    small = files["A003R2EC/A003C001.xml"]
    assert small.status is FileStatus.FAILED and small.code is Code.CANCELLED
    assert not (d1 / card.name / "A003R2EC" / "A003C001.xml").exists()
    assert temp_files(d1, d2) == []


@pytest.mark.parametrize("small", [False, True], ids=["clip", "small files"])
def test_a_source_that_is_not_the_expected_file_is_never_given_its_name(make_card: CardBuilder, dest_dirs,
                                                                       small: bool) -> None:
    """`expected` (a stage-2 copy: the card's digests): a file whose source reads with other digests fails
    every copy (stage_source_mismatch) before any copy is given the card's name, so no drive holds it even
    for a moment, and no temp file is left; the other files are verified as usual; a path nothing is expected
    of, and an expectation in another algorithm only, are judged as the engine always judged them."""
    files = {"CLIPS/A.mov": 700, "CLIPS/B.mov": 900, "CLIPS/C.mov": 500, "CLIPS/D.mov": 300}
    if not small:
        files = {k: v * 4096 for k, v in files.items()}
    card = make_card(files)
    d1, d2 = dest_dirs(2)
    plan = OffloadPlan.create(card, [d1, d2], algorithms="xxh64", verify_mode="destinations")
    truth = {rel: {"xxh64": xxhash.xxh64((card / rel).read_bytes()).hexdigest()} for rel in files}
    expected = {**truth, "CLIPS/B.mov": {"xxh64": "0" * 16}, "CLIPS/D.mov": {"md5": "0" * 32}}
    del expected["CLIPS/C.mov"]
    named: list[str] = []
    real_commit = fs.rename_no_replace

    def commit(temp: str, final: str) -> None:  # every name a copy is given, as it is given
        named.append(os.path.basename(final))
        real_commit(temp, final)

    mp = pytest.MonkeyPatch()
    mp.setattr(fs, "rename_no_replace", commit)
    try:
        result, out = run(plan, expected=expected.get)
    finally:
        mp.undo()
    b = out["CLIPS/B.mov"]
    assert b.status is FileStatus.FAILED
    assert [c.code for c in b.copies] == [Code.STAGE_SOURCE_MISMATCH] * 2
    assert "xxh64: card 0000000000000000, source " in b.copies[0].message
    assert "B.mov" not in named and not (d1 / card.name / "CLIPS/B.mov").exists()
    assert not (d2 / card.name / "CLIPS/B.mov").exists() and temp_files(d1, d2) == []
    d = out["CLIPS/D.mov"]  # nothing in common to compare with: not the card's file as far as anyone can tell
    assert d.status is FileStatus.FAILED and "no hash taken from the card" in d.copies[0].message
    for rel in ("CLIPS/A.mov", "CLIPS/C.mov"):
        assert out[rel].status is FileStatus.VERIFIED, out[rel]
        assert (d1 / card.name / rel).read_bytes() == (card / rel).read_bytes()
    assert result.files_verified == 2 and sorted(named) == ["A.mov", "A.mov", "C.mov", "C.mov"]
