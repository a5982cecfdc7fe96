"""Fixtures for volume tests: a "card" (an ext4 loop image, optionally pre-filled with a card tree) mounted
at a chosen path under a test mount root, the way a desktop mounts a card under /media/$USER.

Root only (skips with the reason elsewhere); whatever is mounted is unmounted and its loop device
detached at teardown, even when the test fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faultfs import KernelMount

CardMountFactory = Callable[..., KernelMount]


def _skip_unless_mounts_possible() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: mounts a loop-device ext4 image")
    missing = [n for n in ("mkfs.ext4", "losetup", "mount", "umount") if shutil.which(n) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    if not os.path.exists("/dev/loop-control"):
        pytest.skip("no loop devices (/dev/loop-control missing)")


@pytest.fixture
def card_mount(tmp_path: Path) -> Iterator[CardMountFactory]:
    """``card_mount(mountpoint, *, label=None, fs_uuid=None, tree=None, size_mb=16) -> KernelMount``.

    Makes an ext4 image (filled from the folder ``tree`` when given: mkfs.ext4 -d), attaches it to a loop
    device and mounts it at ``mountpoint`` (created). ``.fs_uuid`` holds the filesystem UUID.
    """
    _skip_unless_mounts_possible()
    mounts: list[KernelMount] = []
    images = tmp_path / "images"
    images.mkdir()

    def make(mountpoint: Path, *, label: str | None = None, fs_uuid: str | None = None,
             tree: Path | None = None, size_mb: int = 16) -> KernelMount:
        fs_uuid = fs_uuid or str(uuid.uuid4())
        image = images / f"{len(mounts)}.ext4"
        with open(image, "wb") as f:
            f.truncate(size_mb << 20)
        mkfs = ["mkfs.ext4", "-q", "-F", "-m", "0", "-U", fs_uuid, "-E", "lazy_itable_init=0,lazy_journal_init=0"]
        if label:
            mkfs += ["-L", label]
        if tree is not None:
            mkfs += ["-d", str(tree)]
        subprocess.run([*mkfs, str(image)], check=True, capture_output=True)
        device = subprocess.run(["losetup", "--find", "--show", str(image)], check=True, capture_output=True,
                                text=True).stdout.strip()
        mount = KernelMount(mountpoint, "ext4", device=device, image=image, label=label)
        mount.fs_uuid = fs_uuid  # type: ignore[attr-defined]
        mounts.append(mount)
        mountpoint.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "ext4", device, str(mountpoint)], check=True, capture_output=True)
        return mount

    try:
        yield make
    finally:
        for mount in reversed(mounts):
            mount.cleanup()


@pytest.fixture
def no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"
