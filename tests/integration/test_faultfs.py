"""The fault fixtures themselves work: each fault does what the engine tests rely on."""

from __future__ import annotations

import errno
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faultfs import FaultMount, KernelMount, cache_drops, mount_points

PAGE = 4096
MiB = 1024 * 1024
WRITE_REQUEST = 128 * 1024  # libfuse2 max_write with big_writes

FaultFSFactory = Callable[..., FaultMount]

pytestmark = pytest.mark.timeout(120)


def copy_like_the_engine(data: bytes, final: Path) -> None:
    """temp file -> write -> fsync -> utime -> rename -> fsync the directory."""
    temp = final.with_name(final.name + ".dwtmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.utime(temp, ns=(1_500_000_000_000_000_000, 1_500_000_000_000_000_000))
    os.rename(temp, final)
    dfd = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def read_all(fd: int, size: int) -> bytes:
    chunks, pos = [], 0
    while pos < size:
        chunk = os.pread(fd, size - pos, pos)
        if not chunk:
            break
        chunks.append(chunk)
        pos += len(chunk)
    return b"".join(chunks)


# -- (a) corrupt_on_store + kernel_cache --------------------------------------------------------


@pytest.mark.fuse
@pytest.mark.root
def test_corrupt_on_store_is_hidden_by_the_page_cache_until_the_pages_are_dropped(
    faultfs: FaultFSFactory,
) -> None:
    fs = faultfs("dest")
    fs.corrupt_on_store("A001/*")
    (fs / "A001").mkdir()
    data = os.urandom(MiB)  # whole pages: a partial last page is never kept cached by FUSE
    for attempt in range(5):
        drops = cache_drops()
        final = fs / "A001" / f"clip{attempt}.mov"
        copy_like_the_engine(data, final)

        stored = (fs.backing / "A001" / final.name).read_bytes()
        assert len(stored) == len(data)
        diffs = [i for i in range(len(data)) if stored[i] != data[i]]
        assert diffs == list(range(0, len(data), WRITE_REQUEST))  # first byte of every WRITE
        assert all(stored[i] == data[i] ^ 0xFF for i in diffs)

        fetched = fs.bytes_read()
        fd = os.open(final, os.O_RDONLY)
        try:
            naive = read_all(fd, len(data))
            naive_fetched = fs.bytes_read() - fetched
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            from_medium = read_all(fd, len(data))
        finally:
            os.close(fd)
        if cache_drops() != drops:
            continue  # someone ran `echo 3 > drop_caches` meanwhile: the naive read proves nothing
        assert naive_fetched == 0, "the plain re-read should have been served from the page cache"
        assert naive == data
        assert from_medium == stored != data
        assert fs.bytes_read() - fetched == len(data)
        assert os.stat(final).st_mtime_ns == 1_500_000_000_000_000_000
        return
    pytest.skip("another process kept dropping the system caches (drop_caches) during the test")


@pytest.mark.fuse
@pytest.mark.root
def test_corrupt_on_store_at_given_offsets(faultfs: FaultFSFactory) -> None:
    fs = faultfs()
    fs.corrupt_on_store("*.wav*", offsets=[10, 70_000], xor=0x01)
    data = bytes(200_000)
    copy_like_the_engine(data, fs / "take.wav")
    stored = (fs.backing / "take.wav").read_bytes()
    assert [i for i, b in enumerate(stored) if b] == [10, 70_000]
    copy_like_the_engine(data, fs / "other.mov")
    assert (fs.backing / "other.mov").read_bytes() == data


# -- (b) eio_on_read -----------------------------------------------------------------------------


@pytest.mark.fuse
@pytest.mark.root
def test_eio_on_read_fails_at_the_offset(faultfs: FaultFSFactory) -> None:
    data = os.urandom(MiB)
    fs = faultfs("card", files={"A001/clip.mxf": data, "A001/good.mxf": data})
    bad = 300_000
    fs.eio_on_read("A001/clip.mxf", offset=bad)
    fd = os.open(fs / "A001" / "clip.mxf", os.O_RDONLY)
    try:
        assert os.pread(fd, PAGE, 0) == data[:PAGE]
        before = os.pread(fd, MiB, 0)  # the kernel turns the failure into a short read ...
        assert before == data[: len(before)] and len(before) <= bad
        with pytest.raises(OSError) as exc:  # ... and the next read at the bad spot fails
            os.pread(fd, PAGE, len(before))
        assert exc.value.errno == errno.EIO
        with pytest.raises(OSError) as exc:
            os.pread(fd, PAGE, bad + 200_000)
        assert exc.value.errno == errno.EIO
    finally:
        os.close(fd)
    assert (fs / "A001" / "good.mxf").read_bytes() == data
    assert fs.events("read", "A001/clip.mxf", fault="eio_on_read")


@pytest.mark.fuse
@pytest.mark.root
def test_eio_on_read_times_lets_a_retry_succeed(faultfs: FaultFSFactory) -> None:
    data = os.urandom(256 * 1024)
    fs = faultfs(files={"clip.r3d": data})
    fs.eio_on_read("clip.r3d", offset=0, times=2)  # readahead + one-page retry = one failed read()
    fd = os.open(fs / "clip.r3d", os.O_RDONLY)
    try:
        with pytest.raises(OSError) as exc:
            os.pread(fd, 64 * 1024, 0)
        assert exc.value.errno == errno.EIO
        assert read_all(fd, len(data)) == data
    finally:
        os.close(fd)


@pytest.mark.fuse
@pytest.mark.root
def test_eio_on_read_opens_fails_only_the_first_handles(faultfs: FaultFSFactory) -> None:
    data = os.urandom(256 * 1024)
    fs = faultfs(files={"clip.braw": data})
    fs.eio_on_read("clip.braw", offset=100_000, opens=1)
    fd = os.open(fs / "clip.braw", os.O_RDONLY)
    try:
        for _ in range(3):  # the same handle keeps failing
            with pytest.raises(OSError) as exc:
                os.pread(fd, PAGE, 100_000)
            assert exc.value.errno == errno.EIO
    finally:
        os.close(fd)
    assert (fs / "clip.braw").read_bytes() == data  # a new handle reads it fine


# -- (c) flaky_read ------------------------------------------------------------------------------


@pytest.mark.fuse
@pytest.mark.root
def test_flaky_read_returns_different_bytes_the_second_time(faultfs: FaultFSFactory) -> None:
    data = os.urandom(MiB)
    fs = faultfs("card", files={f"clip{i}.mov": data for i in range(5)})
    fs.flaky_read("*.mov")
    for attempt in range(5):
        drops = cache_drops()
        fd = os.open(fs / f"clip{attempt}.mov", os.O_RDONLY)
        try:
            first = read_all(fd, len(data))
            cached = read_all(fd, len(data))
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            second = read_all(fd, len(data))
        finally:
            os.close(fd)
        if cache_drops() != drops:
            continue
        assert first == data
        assert cached == data  # served from the page cache: the reader was not asked again
        assert second != data
        assert [i for i in range(len(data)) if second[i] != data[i]] == list(range(0, len(data), PAGE))
        return
    pytest.skip("another process kept dropping the system caches (drop_caches) during the test")


# -- (d) vanish ----------------------------------------------------------------------------------


@pytest.mark.fuse
@pytest.mark.root
def test_vanish_makes_every_operation_fail_until_cleared(faultfs: FaultFSFactory) -> None:
    fs = faultfs("card", files={"A001/clip.mov": b"x" * 10})
    rule = fs.vanish(errno=errno.ENODEV)
    with pytest.raises(OSError) as exc:
        open(fs / "A001" / "clip.mov", "rb").close()
    assert exc.value.errno == errno.ENODEV
    with pytest.raises(OSError) as exc:
        os.listdir(fs / "A001")
    assert exc.value.errno == errno.ENODEV
    fs.remove(rule)
    assert (fs / "A001" / "clip.mov").read_bytes() == b"x" * 10


@pytest.mark.fuse
@pytest.mark.root
def test_vanish_mid_copy_unmounts_the_filesystem(faultfs: FaultFSFactory) -> None:
    fs = faultfs("dest")
    fs.vanish("roll/*", after_bytes=256 * 1024, unmount=True)
    (fs / "roll").mkdir()
    chunk = os.urandom(64 * 1024)
    written = 0
    fd = os.open(fs / "roll" / "clip.mov", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        with pytest.raises(OSError) as exc:
            for _ in range(16):
                written += os.write(fd, chunk)
        assert exc.value.errno == errno.ENODEV
    finally:
        with pytest.raises(OSError) as exc:  # the descriptor is gone all the same
            os.close(fd)
        assert exc.value.errno == errno.ENODEV  # close() flushes, and flush fails too
    assert written == 256 * 1024
    deadline = time.monotonic() + 10
    while fs.is_mounted and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not fs.is_mounted
    with pytest.raises(FileNotFoundError):
        open(fs / "roll" / "clip.mov", "rb").close()
    assert fs.process.wait(10) == 0  # the filesystem process ends once nothing holds the mount


# -- stall ---------------------------------------------------------------------------------------


@pytest.mark.fuse
@pytest.mark.root
def test_stall_delays_reads_and_ends_when_cleared(faultfs: FaultFSFactory) -> None:
    data = os.urandom(64 * 1024)
    fs = faultfs(files={"a.mov": data, "b.mov": data})
    fs.stall("a.mov", 0.5, ops=["read"])
    start = time.monotonic()
    assert (fs / "a.mov").read_bytes() == data
    assert time.monotonic() - start >= 0.5

    fs.stall("b.mov", 60, ops=["read"])
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append((fs / "b.mov").read_bytes()))
    start = time.monotonic()
    reader.start()
    time.sleep(0.3)
    assert reader.is_alive()
    fs.clear()
    reader.join(10)
    assert not reader.is_alive()
    assert result == [data]
    assert time.monotonic() - start < 10


# -- plain passthrough ---------------------------------------------------------------------------


@pytest.mark.fuse
@pytest.mark.root
def test_passthrough_supports_what_a_copy_tool_does(faultfs: FaultFSFactory) -> None:
    fs = faultfs()
    roll = fs / "Day01" / "A001"
    roll.mkdir(parents=True)
    data = os.urandom(300_001)
    copy_like_the_engine(data, roll / "clip.mov")
    assert (roll / "clip.mov").read_bytes() == data
    assert (fs.backing / "Day01" / "A001" / "clip.mov").read_bytes() == data
    assert os.stat(roll / "clip.mov").st_mtime_ns == 1_500_000_000_000_000_000
    os.chmod(roll / "clip.mov", 0o444)
    assert os.stat(roll / "clip.mov").st_mode & 0o777 == 0o444
    os.truncate(roll / "clip.mov", 10)
    assert (roll / "clip.mov").read_bytes() == data[:10]
    assert sorted(os.listdir(roll)) == ["clip.mov"]
    vfs = os.statvfs(fs)
    assert vfs.f_blocks > 0 and vfs.f_bavail > 0
    os.unlink(roll / "clip.mov")
    os.rmdir(roll)
    assert os.listdir(fs / "Day01") == []
    kinds = [e["op"] for e in fs.events()]
    assert {"create", "write", "fsync", "utimens", "rename", "fsyncdir"} <= set(kinds)


# -- (e) tmpfs -----------------------------------------------------------------------------------


@pytest.mark.root
def test_small_tmpfs_fills_up(tmpfs_mount: Callable[[int], KernelMount]) -> None:
    drive = tmpfs_mount(MiB)
    assert drive.is_mounted
    vfs = os.statvfs(drive)
    assert vfs.f_blocks * vfs.f_frsize == MiB
    fd = os.open(drive / "big.bin", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        with pytest.raises(OSError) as exc:
            for _ in range(32):
                os.write(fd, bytes(64 * 1024))
        assert exc.value.errno == errno.ENOSPC
    finally:
        os.close(fd)


# -- (f) ext4 on a loop device -------------------------------------------------------------------


@pytest.mark.root
def test_ext4_loop_mount_has_its_label_and_unmounts(ext4_loop_mount: Callable[..., KernelMount]) -> None:
    drive = ext4_loop_mount(16, label="SHUTTLE_A")
    assert drive.device is not None
    assert str(drive.mountpoint) in mount_points()
    probed = subprocess.run(
        ["blkid", "-p", "-o", "value", "-s", "LABEL", drive.device], capture_output=True, text=True, check=True
    )
    assert probed.stdout.strip() == "SHUTTLE_A"
    by_label = Path("/dev/disk/by-label/SHUTTLE_A")
    if by_label.exists():  # only where udev runs
        assert os.path.realpath(by_label) == os.path.realpath(drive.device)
    (drive / "clip.mov").write_bytes(b"frame")

    held = os.open(drive / "clip.mov", os.O_RDONLY)  # busy: only a lazy unmount goes through
    try:
        with pytest.raises(OSError):
            drive.unmount()
        drive.unmount(lazy=True)
        assert not drive.is_mounted
        assert os.pread(held, 5, 0) == b"frame"  # open files outlive a lazy unmount
    finally:
        os.close(held)
    assert not (drive / "clip.mov").exists()
