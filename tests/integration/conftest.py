"""Fixtures for real-filesystem and fault tests: FaultFS (FUSE), tmpfs and loop-mounted ext4.

Every fixture here is a factory; whatever it mounts is unmounted at teardown, even when the test
fails.  They skip (with the reason) when the machine cannot provide them: not root, no /dev/fuse,
no libfuse2, no mkfs.ext4/losetup.  Tests using them are marked ``root`` (and ``fuse``) automatically.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.faultfs import FaultMount, KernelMount, fuse_unavailable_reason, mount_ext4_image, mount_tmpfs

FaultFSFactory = Callable[..., FaultMount]
TmpfsFactory = Callable[[int], KernelMount]
Ext4Factory = Callable[..., KernelMount]

_ROOT_FIXTURES = {"faultfs", "tmpfs_mount", "ext4_loop_mount"}

M = TypeVar("M")


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (mounts)")


def require_tools(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


def require_loop_mounts() -> None:
    """Root, the ext4 and loop tools, and loop devices: what an ext4 image mount needs."""
    require_root()
    require_tools("mkfs.ext4", "losetup", "mount", "umount")
    if not os.path.exists("/dev/loop-control"):
        pytest.skip("no loop devices (/dev/loop-control missing)")


def mount_factory(mount_one: Callable[..., M], teardown: Callable[[M], None]) -> Iterator[Callable[..., M]]:
    """The body of a mount fixture: yields a factory that mounts with ``mount_one`` and remembers the
    mount; at teardown (even when the test failed) ``teardown`` undoes them, last first."""
    mounts: list[M] = []

    def make(*args: Any, **kwargs: Any) -> M:
        mount = mount_one(*args, **kwargs)
        mounts.append(mount)
        return mount

    try:
        yield make
    finally:
        for mount in reversed(mounts):
            teardown(mount)


def require_fuse() -> None:
    reason = fuse_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & _ROOT_FIXTURES:
            item.add_marker(pytest.mark.root)
        if "faultfs" in used:
            item.add_marker(pytest.mark.fuse)


def _fresh_dir(base: Path, name: str) -> Path:
    path, n = base / name, 1
    while path.exists():
        n += 1
        path = base / f"{name}{n}"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def faultfs(tmp_path: Path) -> Iterator[FaultFSFactory]:
    """``faultfs(name="fuse", *, files=None, options=None) -> FaultMount``.

    Mounts FaultFS at ``tmp_path/<name>/mnt`` over a fresh ``tmp_path/<name>/backing``, which is
    filled first with ``files`` ({relative path: bytes}).  ``options`` override libfuse options
    (see ``faultfs.DEFAULT_OPTIONS``).
    """
    require_fuse()

    def make(
        name: str = "fuse", *, files: Mapping[str, bytes] | None = None, options: Mapping[str, Any] | None = None
    ) -> FaultMount:
        root = _fresh_dir(tmp_path, name)
        backing = root / "backing"
        backing.mkdir()
        for rel, data in (files or {}).items():
            target = backing / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return FaultMount(backing, root / "mnt", root / "work", options=options)

    yield from mount_factory(make, FaultMount.stop)


@pytest.fixture
def tmpfs_mount(tmp_path: Path) -> Iterator[TmpfsFactory]:
    """``tmpfs_mount(size_bytes) -> KernelMount``: a real tmpfs of that size (a small "drive" that
    fills up: ENOSPC)."""
    require_root()
    yield from mount_factory(lambda size_bytes: mount_tmpfs(_fresh_dir(tmp_path, "tmpfs"), size_bytes),
                             KernelMount.cleanup)


@pytest.fixture
def ext4_loop_mount(tmp_path: Path) -> Iterator[Ext4Factory]:
    """``ext4_loop_mount(size_mb, label=None) -> KernelMount``: an ext4 image (no reserved blocks)
    on a loop device, mounted; ``.device``, ``.label``, ``.unmount(lazy=...)`` to yank it mid-test."""
    require_loop_mounts()

    def make(size_mb: int, label: str | None = None) -> KernelMount:
        root = _fresh_dir(tmp_path, f"ext4-{label}" if label else "ext4")
        return mount_ext4_image(root / "image.ext4", root / "mnt", size_mb, label)

    yield from mount_factory(make, KernelMount.cleanup)
