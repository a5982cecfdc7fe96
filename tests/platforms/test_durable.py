"""Durable I/O ("on the medium") as the platform package gives it: the portable fallbacks never claim a
read-back bypassed the cache, Windows' folder sync is a no-op, and on Linux the cache drop is proven by
cachestat, or mincore on a kernel without it (a file's pages are resident after a write, none after sync and
drop)."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from datawrangler import platform
from datawrangler.platform import base, windows

DURABLE = ("sync_file", "have_syncfs", "sync_filesystem", "sync_dir", "drop_cache", "resident_pages",
           "open_for_verify")


def test_the_durable_api_is_the_packages() -> None:
    for name in DURABLE:
        assert name in platform.__all__ and callable(getattr(platform, name))


def test_the_portable_fallbacks_say_unknown(tmp_path: Path) -> None:
    f = tmp_path / "clip.mov"
    f.write_bytes(b"x" * 10_000)
    fd, bypassed = base.open_for_verify(str(f))
    try:
        assert bypassed is False  # never claimed without proof
        assert os.read(fd, 3) == b"xxx"
        assert base.drop_cache(fd) is False
        assert base.resident_pages(fd, 10_000) is None and base.resident_pages(fd, 0) == 0
        base.sync_file(fd)
    finally:
        os.close(fd)
    assert base.have_syncfs() is False
    with pytest.raises(OSError) as err:
        base.sync_filesystem(0)
    assert err.value.errno == errno.ENOSYS


def test_windows_folder_sync_is_a_no_op(tmp_path: Path) -> None:
    assert windows.sync_dir(str(tmp_path / "not even there")) is True


def test_open_for_verify_closes_its_descriptor_when_the_check_fails(tmp_path: Path) -> None:
    f = tmp_path / "clip.mov"
    f.write_bytes(b"x")
    seen: list[int] = []

    def boom(fd: int) -> bool:
        seen.append(fd)
        raise OSError(errno.EIO, "I/O error")

    with pytest.raises(OSError):
        base.open_checked(str(f), boom)
    with pytest.raises(OSError) as err:
        os.fstat(seen[0])
    assert err.value.errno == errno.EBADF


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mincore proves the drop on Linux")
def test_linux_proves_the_pages_are_gone(tmp_path: Path) -> None:
    if platform.fstype(str(tmp_path)) in ("tmpfs", "ramfs"):
        pytest.skip("tmpfs keeps its pages: they are the medium")
    f = tmp_path / "clip.mov"
    f.write_bytes(os.urandom(1 << 20))
    fd = os.open(f, os.O_RDONLY)
    try:
        platform.sync_file(fd)
        while os.read(fd, 1 << 16):  # read: in the page cache
            pass
        assert (platform.resident_pages(fd, 1 << 20) or 0) > 0
    finally:
        os.close(fd)
    fd, bypassed = platform.open_for_verify(str(f))
    try:
        assert bypassed is True and platform.resident_pages(fd, 1 << 20) == 0
    finally:
        os.close(fd)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="cachestat is Linux's")
def test_cachestat_counts_the_same_pages_as_mincore(tmp_path: Path) -> None:
    from datawrangler.platform import linux

    if platform.fstype(str(tmp_path)) in ("tmpfs", "ramfs"):
        pytest.skip("tmpfs keeps its pages: they are the medium")
    f = tmp_path / "frame.ari"
    f.write_bytes(os.urandom(300_000))  # 74 pages
    fd = os.open(f, os.O_RDONLY)
    try:
        if linux.cached_pages(fd) is None:
            pytest.skip("this kernel has no cachestat (older than 6.5): mincore alone proves the drop")
        platform.sync_file(fd)
        while os.read(fd, 1 << 16):
            pass
        assert linux.cached_pages(fd) == platform.resident_pages(fd, 300_000) == 74
        assert platform.drop_cache(fd)
        assert linux.cached_pages(fd) == platform.resident_pages(fd, 300_000) == 0
    finally:
        os.close(fd)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the drop's proof is Linux's")
def test_without_cachestat_mincore_still_proves_the_drop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel older than 6.5 says ENOSYS: the proof falls back to mincore, once for the process."""
    from datawrangler.platform import linux

    if platform.fstype(str(tmp_path)) in ("tmpfs", "ramfs"):
        pytest.skip("tmpfs keeps its pages: they are the medium")
    monkeypatch.setattr(linux, "_NR_CACHESTAT", 0x7FFF_FFFF)  # no such syscall: ENOSYS, as an old kernel says
    monkeypatch.setattr(linux, "_cachestat_works", True)
    f = tmp_path / "frame.ari"
    f.write_bytes(os.urandom(100_000))
    fd = os.open(f, os.O_RDONLY)
    try:
        platform.sync_file(fd)
        os.read(fd, 100_000)
    finally:
        os.close(fd)
    fd, bypassed = platform.open_for_verify(str(f))
    try:
        assert bypassed is True and platform.resident_pages(fd, 100_000) == 0
        assert linux._cachestat_works is False  # not asked again for the next file
    finally:
        os.close(fd)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the drop's proof is Linux's")
def test_pages_that_stay_are_never_called_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whichever call counts them, pages still cached (dirty ones, or a filesystem that ignores the advice)
    mean the read-back is not said to bypass the cache."""
    from datawrangler.platform import linux

    f = tmp_path / "frame.ari"
    f.write_bytes(os.urandom(100_000))
    fd = os.open(f, os.O_RDONLY)
    try:
        os.read(fd, 100_000)
    finally:
        os.close(fd)
    monkeypatch.setattr(linux, "drop_cache", lambda fd: True)  # the advice "taken" but nothing evicted
    fd, bypassed = platform.open_for_verify(str(f))
    try:
        assert bypassed is False
    finally:
        os.close(fd)
    monkeypatch.setattr(linux, "_cachestat_works", False)
    fd, bypassed = platform.open_for_verify(str(f))
    try:
        assert bypassed is False
    finally:
        os.close(fd)
