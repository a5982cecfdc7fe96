"""Small card files (each fits in one chunk) travel through the engine in batches: one message per batch
to each writer and to the collector instead of several per file. What a DIT is promised must not change:
every copy read back and matched before it gets its name, a file the card cannot give fails alone, a
pulled card or a cancel leaves only whole, right files under final names."""

from __future__ import annotations

import errno
import os
import queue
import time
from pathlib import Path

import pytest

from datawrangler.core import transfer
from datawrangler.core.errors import Code
from datawrangler.core.events import (
    CopyState,
    FileResult,
    FileStatus,
    OffloadControl,
    OffloadResult,
    OffloadState,
    ProgressEvent,
    VerifyMode,
)
from datawrangler.core.hashing import hash_file
from datawrangler.core.medium import FsMedium
from datawrangler.core.medium.fs import read_back
from datawrangler.core.pipeline import Several, SmallFiles
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import SourceFile
from datawrangler.core.transfer import is_temp_name, offload
from tests.conftest import CardBuilder


def run(plan: OffloadPlan, **kw: object) -> tuple[OffloadResult, dict[str, FileResult]]:
    files: dict[str, FileResult] = {}
    result = offload(plan, on_file=lambda f: files.__setitem__(f.rel_path, f), **kw)  # type: ignore[arg-type]
    return result, files


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def temp_files(*roots: Path) -> list[Path]:
    return [p for r in roots for p in r.rglob("*") if is_temp_name(p.name)]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def frames(n: int, size: int = 3000) -> dict[str, int]:
    """An image sequence: n frames in one folder, sizes varied (one empty frame)."""
    return {f"A001C007/A001C007.{i:07d}.ari": (0 if i == 5 else size + i) for i in range(n)}


class CardReadHook:
    """Wraps os.open/os.read on the card: call `on_read(path, nth)` after the nth read of a card file, or
    fail the reads of one file with EIO."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, card: Path) -> None:
        self.card = str(card)
        self.paths: dict[int, str] = {}
        self.reads = 0
        self.on_read: object = None
        self.eio_for: str | None = None
        self.delay = 0.0
        real_open, real_read = os.open, os.read

        def opener(path, flags, *args, **kw):  # type: ignore[no-untyped-def]
            fd = real_open(path, flags, *args, **kw)
            p = os.fspath(path)
            if isinstance(p, str) and p.startswith(self.card + os.sep):
                self.paths[fd] = p
            else:
                self.paths.pop(fd, None)
            return fd

        def reader(fd: int, n: int) -> bytes:
            path = self.paths.get(fd)
            if path is None:
                return real_read(fd, n)
            if self.eio_for is not None and path.endswith(self.eio_for):
                raise OSError(errno.EIO, "Input/output error")
            if self.delay:
                time.sleep(self.delay)
            data = real_read(fd, n)
            self.reads += 1
            if callable(self.on_read):
                self.on_read(path, self.reads)
            return data

        monkeypatch.setattr(os, "open", opener)
        monkeypatch.setattr(os, "read", reader)


def test_a_sequence_of_small_files_is_copied_whole_in_few_messages(make_card: CardBuilder, dest_dirs,
                                                                   monkeypatch) -> None:
    """600 frames, two clips larger than a chunk between them: every copy identical (bytes and times), and
    the writers and the collector got a message per batch, not per file."""
    files = {**frames(600), "A001C006.mov": 3_000_000, "A001C008.mov": 1_500_000, "SDINFO.TXT": 0}
    card = make_card(files)
    d1, d2 = dest_dirs(2)
    sent: list[object] = []
    real_put = queue.Queue.put

    def counting_put(self: queue.Queue[object], item: object, *args: object, **kw: object) -> None:
        sent.append(item)
        real_put(self, item, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(queue.Queue, "put", counting_put)
    monkeypatch.setattr(transfer, "SMALL_BATCH_SECONDS", 60.0)  # batches cut by count and size only
    result, out = run(OffloadPlan.create(card, [d1, d2], chunk_size=1 << 20, verify_mode="destinations"))
    assert result.state is OffloadState.VERIFIED and result.files_verified == len(files)
    assert all(f.status is FileStatus.VERIFIED for f in out.values())
    src = tree(card)
    for d in (d1, d2):
        assert tree(d / card.name) == src
        for rel in src:
            assert (d / card.name / rel).stat().st_mtime_ns == (card / rel).stat().st_mtime_ns
    assert temp_files(d1, d2) == []
    small_msgs = [m for m in sent if type(m) is SmallFiles]
    assert sum(len(m.files) for m in small_msgs) == 2 * 601  # every small file, to both writers
    assert len(small_msgs) <= 2 * 6  # 601 files in batches of at most 256: 3 per writer, plus the clips' cuts
    several = [m for m in sent if type(m) is Several]
    assert sum(len(m.items) for m in several) >= 3 * 601  # card reads and both copies' outcomes
    assert len(sent) < len(files)  # not even one message per file


def test_a_pulled_card_keeps_what_was_read_whole(make_card: CardBuilder, dest_dirs, monkeypatch,
                                                 tmp_path: Path) -> None:
    """The card vanishes while a batch of small files is being read: the files read whole before it are
    written, verified and kept; the offload is interrupted; nothing else gets a final name."""
    card = make_card(frames(300))
    d1, d2 = dest_dirs(2)
    pulled = tmp_path / "pulled"
    hook = CardReadHook(monkeypatch, card)

    def pull(path: str, nth: int) -> None:
        if nth == 2 * 120 and card.exists():  # a data read and an end-of-file read per frame
            card.rename(pulled)

    hook.on_read = pull
    fds = open_fds()
    result, out = run(OffloadPlan.create(card, [d1, d2], verify_mode="destinations"))
    assert open_fds() == fds  # the card files opened ahead of their read were closed
    assert result.state is OffloadState.INTERRUPTED
    assert 100 <= result.files_verified < 300
    assert temp_files(d1, d2) == []
    verified = {rel for rel, f in out.items() if f.status is FileStatus.VERIFIED}
    for d in (d1, d2):
        have = tree(d / card.name)
        assert set(have) == verified
        for rel, data in have.items():
            assert data == (pulled / rel).read_bytes()


def test_a_small_file_the_card_cannot_give_fails_alone(make_card: CardBuilder, dest_dirs, monkeypatch) -> None:
    card = make_card(frames(50))
    d1, d2 = dest_dirs(2)
    hook = CardReadHook(monkeypatch, card)
    hook.eio_for = "A001C007.0000017.ari"
    result, out = run(OffloadPlan.create(card, [d1, d2], read_retries=1))
    bad = out["A001C007/A001C007.0000017.ari"]
    assert bad.status is FileStatus.FAILED and bad.code is Code.SOURCE_READ_ERROR
    assert all(c.code is Code.SOURCE_READ_ERROR for c in bad.copies)
    assert result.state is OffloadState.COMPLETED_WITH_ERRORS and result.files_verified == 49
    for d in (d1, d2):
        assert not (d / card.name / "A001C007/A001C007.0000017.ari").exists()
        assert len(tree(d / card.name)) == 49
    assert temp_files(d1, d2) == []


def test_full_mode_re_reads_every_small_file(make_card: CardBuilder, dest_dirs, monkeypatch) -> None:
    """Full mode: each small file in a batch is read a second time from the card (opened ahead, its pages
    dropped before it is fetched again), and is said re-verified."""
    card = make_card(frames(40))
    d1, d2 = dest_dirs(2)
    hook = CardReadHook(monkeypatch, card)
    seen: dict[str, int] = {}

    def count(path: str, nth: int) -> None:
        seen[path] = seen.get(path, 0) + 1

    hook.on_read = count
    fds = open_fds()
    result, out = run(OffloadPlan.create(card, [d1, d2], verify_mode=VerifyMode.FULL))
    assert open_fds() == fds  # the files the re-read opened ahead were all closed
    assert result.state is OffloadState.VERIFIED
    assert all(f.source_reverified for f in out.values())
    assert len(seen) == 40
    for path, n in seen.items():  # the first read in one call (its length proven by fstat), the re-read's
        assert n == (2 if path.endswith(".0000005.ari") else 3), path  # data and end; the empty frame: two ends


def test_a_cancel_among_small_files_leaves_no_half_file(make_card: CardBuilder, dest_dirs, monkeypatch) -> None:
    card = make_card(frames(400))
    d1, d2 = dest_dirs(2)
    control = OffloadControl()
    hook = CardReadHook(monkeypatch, card)

    def cancel(path: str, nth: int) -> None:
        if nth == 2 * 150:
            control.cancel()

    hook.on_read = cancel
    fds = open_fds()
    result, out = run(OffloadPlan.create(card, [d1, d2]), control=control)
    assert open_fds() == fds
    assert result.state is OffloadState.CANCELLED
    assert temp_files(d1, d2) == []
    verified = {rel for rel, f in out.items() if f.status is FileStatus.VERIFIED}
    for d in (d1, d2):
        have = tree(d / card.name)
        assert set(have) <= verified | {rel for rel, f in out.items()
                                        if any(c.state is CopyState.VERIFIED for c in f.copies)}
        for rel, data in have.items():
            assert data == (card / rel).read_bytes()


def test_a_resume_sends_each_small_file_only_where_it_is_missing(make_card: CardBuilder, dest_dirs) -> None:
    """Files a previous run verified on one destination are written to the other only, in the same batch as
    files that go to both."""
    card = make_card(frames(60))
    d1, d2 = dest_dirs(2)
    done_on_first = {f"A001C007/A001C007.{i:07d}.ari" for i in range(0, 60, 2)}

    def already(f: SourceFile) -> list[int]:
        return [0] if f.rel_path in done_on_first else []

    result, out = run(OffloadPlan.create(card, [d1, d2], verify_mode="destinations"), already_verified=already)
    assert result.state is OffloadState.VERIFIED and result.files_verified == 60
    assert set(tree(d1 / card.name)) == set(out) - done_on_first  # never rewritten where verified
    assert tree(d2 / card.name) == tree(card)
    for rel in done_on_first:
        assert [c.destination for c in out[rel].copies] == [1]


def test_a_slow_card_hands_on_small_files_before_the_batch_is_full(make_card: CardBuilder, dest_dirs,
                                                                   monkeypatch) -> None:
    """A batch waits at most SMALL_BATCH_SECONDS: on a slow card the writers get the first files while the
    rest are still being read (they are not left idle until 256 files were read)."""
    card = make_card(frames(60, size=100))
    d1, d2 = dest_dirs(2)
    hook = CardReadHook(monkeypatch, card)
    hook.delay = 0.02  # 40 ms a file (two reads): 2.4 s for the card
    written_while_reading: list[int] = []

    def on_progress(e: ProgressEvent) -> None:
        if e.bytes_read < e.bytes_total:
            written_while_reading.append(min(d.bytes_written for d in e.destinations))

    result = offload(OffloadPlan.create(card, [d1, d2], verify_mode="destinations"), on_progress=on_progress,
                     progress_interval=0.05)
    assert result.state is OffloadState.VERIFIED
    assert transfer.SMALL_BATCH_SECONDS <= 0.5
    assert max(written_while_reading) > 0


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
def test_a_prefetched_read_back_reads_the_drive_as_a_plain_one_does(tmp_path: Path) -> None:
    """FsMedium.prefetch opens the file as the read-back does (pages dropped, the drop proven) before it asks
    for the bytes: the read-back then says what a read-back without prefetch says, with the same digests,
    and nothing prefetched is left open (read, removed, or forgotten)."""
    medium = FsMedium(str(tmp_path / "roll"))
    medium.lock()
    try:
        paths = []
        for i in range(3):
            p = tmp_path / "roll" / f"F{i}.ari"
            p.write_bytes(os.urandom(16_384 + i))
            paths.append(str(p))
        os.sync()  # durable, as after the barrier: clean pages can be dropped
        plain = read_back(paths[0], ("xxh64",), bytearray(1 << 16))
        os.sync()
        fds = open_fds()
        for p in paths:
            medium.prefetch(p)
        assert open_fds() == fds + 3
        back = medium.read_back(paths[0], ("xxh64",), bytearray(1 << 16))
        assert back.digests == hash_file(paths[0], ("xxh64",)) == plain.digests
        assert back.size == 16_384 and back.cache_bypassed == plain.cache_bypassed
        assert open_fds() == fds + 2
        medium.remove(paths[1])
        assert not os.path.exists(paths[1]) and open_fds() == fds + 1
        medium.forget_prefetched()
        assert open_fds() == fds
        again = medium.read_back(paths[2], ("xxh64",), bytearray(1 << 16))  # not prefetched: opened as before
        assert again.digests == hash_file(paths[2], ("xxh64",))
    finally:
        medium.unlock()


def test_a_pass_holds_file_numbers_and_makes_each_job_when_asked() -> None:
    """JobList: the jobs of a pass over many files are made from the scan when a thread asks, equal to the
    Job a list would have held; a resume's pass keeps only the files still owed, each with the destinations
    it still needs; a job's key finds it again (and a key of another pass finds nothing)."""
    from array import array

    from datawrangler.core.pipeline import Job, JobList
    from datawrangler.core.scan import FileList

    files = FileList(SourceFile(f"A001/F{i:04d}.ari", 1000 + i, i) for i in range(1000))
    every = JobList(files, range(1000), (0, 1))
    assert len(every) == 1000 and every[7] == Job((0, 7), 7, files[7], (0, 1), 1)
    assert every.position((0, 999)) == 999 and every.position((1, 7)) is None and every.position((0, 1000)) is None
    assert [j.index for j in every][-3:] == [997, 998, 999]

    owed = JobList(files, array("q", [3, 10, 500]), (0, 1), {10: (1,)})  # 10 verified on destination 0 already
    assert [(j.key, j.dests) for j in owed] == [((0, 3), (0, 1)), ((0, 10), (1,)), ((0, 500), (0, 1))]
    assert owed.position((0, 10)) == 1 and owed.position((0, 11)) is None and owed[-1].file == files[500]

    retry = JobList.of([Job((1, 10), 10, files[10], (1,), 2)])
    assert len(retry) == 1 and retry.position((1, 10)) == 0 and retry.position((0, 10)) is None
    assert retry[0].attempt == 2


def test_a_retry_pass_copies_again_only_where_it_failed(make_card: CardBuilder, dest_dirs, monkeypatch) -> None:
    """A read-back that fails once on one destination: that copy (only) is made again in a second pass, whose
    jobs carry attempt 2; the other destination's verified copy is kept."""
    card = make_card({f"SEQ/F{i:03d}.ari": 3000 + i for i in range(40)})
    drives = dest_dirs(2)
    real = read_back
    failed: list[str] = []

    def flaky(path: str, *a: object, **kw: object):  # type: ignore[no-untyped-def]
        if path.startswith(str(drives[1])) and path.endswith("-17.part") and not failed:  # F017's temp name
            failed.append(path)
            raise OSError(errno.EIO, "Input/output error", path)
        return real(path, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr("datawrangler.core.medium.fs.read_back", flaky)
    results: dict[str, object] = {}
    result = offload(OffloadPlan.create(card, drives, verify_mode="destinations", retries=1),
                     on_file=lambda f: results.__setitem__(f.rel_path, f))
    assert failed and result.files_verified == 40 and result.files_failed == 0
    again = results["SEQ/F017.ari"]
    assert [c.attempts for c in again.copies] == [1, 2]  # type: ignore[attr-defined]
    assert all(c.attempts == 1 for f in results.values() if f is not again for c in f.copies)  # type: ignore[attr-defined]


def test_a_small_file_changed_before_or_during_its_read_fails_and_an_intact_one_is_read_once(
        make_card: CardBuilder, dest_dirs, monkeypatch) -> None:
    """A small file is read in one call with no read for its end and no fstat before it: the fstat after the
    read still catches a file touched, grown or shrunk since the scan, and one that grows right after its
    bytes were read; none of them is copied, and the intact files are verified."""
    from datawrangler.core.scan import scan_source

    names = ["touched", "grown", "shrunk", "grows_after_read", "intact"]
    card = make_card({f"SEQ/{n}.wav": 20_000 for n in names})
    scan = scan_source(card)
    seq = card / "SEQ"
    os.utime(seq / "touched.wav", ns=(1, 1_000_000_000))
    with open(seq / "grown.wav", "ab") as f:
        f.write(b"x")
    os.truncate(seq / "shrunk.wav", 10_000)
    real_read, real_open = os.read, os.open
    fds: dict[int, str] = {}
    reads: dict[str, int] = {}

    def opener(path, flags, *a, **kw):  # type: ignore[no-untyped-def]
        fd = real_open(path, flags, *a, **kw)
        fds[fd] = os.fspath(path)
        return fd

    def read(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        path = fds.get(fd, "")
        if path.startswith(str(seq)):
            reads[os.path.basename(path)] = reads.get(os.path.basename(path), 0) + 1
            if path.endswith("grows_after_read.wav") and data:
                with open(path, "ab") as f:
                    f.write(b"late")
        return data

    monkeypatch.setattr(os, "open", opener)
    monkeypatch.setattr(os, "read", read)
    d1, d2 = dest_dirs(2)
    files: dict[str, object] = {}
    offload(OffloadPlan.create(card, [d1, d2], verify_mode="destinations", retries=0), scan=scan,
            on_file=lambda r: files.__setitem__(r.rel_path.split("/")[-1], r))
    for n in names[:4]:
        assert files[f"{n}.wav"].code is Code.SOURCE_CHANGED, n  # type: ignore[attr-defined]
        assert not (d1 / card.name / "SEQ" / f"{n}.wav").exists()
    assert files["intact.wav"].status is FileStatus.VERIFIED  # type: ignore[attr-defined]
    assert reads["intact.wav"] == 1  # the card read once, in one call
