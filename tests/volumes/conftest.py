"""Fixtures for volume tests: a "card" (an ext4 loop image, optionally pre-filled with a card tree) mounted
at a chosen path under a test mount root, the way a desktop mounts a card under /media/$USER.

Root only (skips with the reason elsewhere); whatever is mounted is unmounted and its loop device
detached at teardown, even when the test fails.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faultfs import KernelMount, mount_ext4_image, mount_tmpfs
from tests.integration.conftest import faultfs, mount_factory, require_loop_mounts, require_root, tmpfs_mount

__all__ = ["CardMountFactory", "card_mount", "faultfs", "no_leaked_threads", "tmpfs_at", "tmpfs_mount"]

CardMountFactory = Callable[..., KernelMount]


@pytest.fixture
def card_mount(tmp_path: Path) -> Iterator[CardMountFactory]:
    """``card_mount(mountpoint, *, label=None, fs_uuid=None, tree=None, size_mb=16) -> KernelMount``.

    Makes an ext4 image (filled from the folder ``tree`` when given: mkfs.ext4 -d), attaches it to a loop
    device and mounts it at ``mountpoint`` (created). ``.fs_uuid`` holds the filesystem UUID.
    """
    require_loop_mounts()
    count = itertools.count()
    images = tmp_path / "images"
    images.mkdir()

    def make(mountpoint: Path, *, label: str | None = None, fs_uuid: str | None = None,
             tree: Path | None = None, size_mb: int = 16) -> KernelMount:
        fs_uuid = fs_uuid or str(uuid.uuid4())
        mount = mount_ext4_image(images / f"{next(count)}.ext4", mountpoint, size_mb, label, fs_uuid=fs_uuid,
                                 tree=tree)
        mount.fs_uuid = fs_uuid  # type: ignore[attr-defined]
        return mount

    yield from mount_factory(make, KernelMount.cleanup)


@pytest.fixture
def tmpfs_at() -> Iterator[Callable[[Path], KernelMount]]:
    """``tmpfs_at(mountpoint) -> KernelMount``: a small tmpfs mounted at a chosen path (created): a mount with
    no disk behind it, as a RAM scratch space or a container's mounts are."""
    require_root()
    yield from mount_factory(lambda mountpoint: mount_tmpfs(mountpoint, 4 << 20), KernelMount.cleanup)


@pytest.fixture
def no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"
