"""Durable I/O ("on the medium") as the platform package gives it: the portable fallbacks never claim a
read-back bypassed the cache, Windows' folder sync is a no-op, and on Linux the cache drop is proven by
mincore (a file's pages are resident after a write, none after sync and drop)."""

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
