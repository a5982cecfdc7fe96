"""Shared fixtures: every test gets its own DATAWRANGLER_HOME, a builder for synthetic cards, and for the few
tests that write hundreds of MB or more: a free-space check that skips, and removal of their bulk data."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datawrangler.config import HOME_ENV
from tests.pg import catalog_db, catalog_location, own_pg_cluster, pg_cluster, pg_url

# a throwaway PostgreSQL server (tests/pg.py) for the tests of the catalog on a server, in every folder
__all__ = ["catalog_db", "catalog_location", "own_pg_cluster", "pg_cluster", "pg_url"]

GB = 1_000_000_000
# what a big test leaves free besides its own data: the catalog, logs and other processes need some room
HEADROOM = 256 << 20


def _mount_point(path: Path) -> Path:
    path = path.resolve()
    while not os.path.ismount(path):
        path = path.parent
    return path


def require_free_space(path: str | os.PathLike[str], nbytes: int) -> None:
    """Skip the test, saying why, unless the filesystem holding `path` has `nbytes` free and some headroom
    besides. For tests that write more than a few hundred MB: CI machines can have far less disk than this."""
    path = Path(path)
    while not path.exists():
        path = path.parent
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    needed = nbytes + HEADROOM
    if free < needed:
        pytest.skip(f"needs {needed / GB:.1f} GB free on {_mount_point(path)} ({nbytes / GB:.1f} GB of test data"
                    f" + {HEADROOM / GB:.1f} GB headroom), only {free / GB:.1f} GB free")


class BigData:
    """A test's bulk data (cards, destination copies): a free-space check up front, and removal at teardown
    whether the test passed or failed (the catalog and logs in the test's home are kept)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self._paths: list[Path] = []

    def need(self, nbytes: int) -> None:
        """The most this test holds on disk at once; skips when the filesystem of tmp_path is too small."""
        require_free_space(self.tmp_path, nbytes)

    def remove_later(self, *paths: Path) -> None:
        """Removed at teardown, pass or fail."""
        self._paths.extend(paths)

    def remove_now(self, *paths: Path) -> None:
        """Removed now: a test that runs many trials frees each one's copies before the next."""
        for p in paths:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)

    def cleanup(self) -> None:
        self.remove_now(*reversed(self._paths))
        self._paths.clear()


@pytest.fixture
def big_data(tmp_path: Path) -> Iterator[BigData]:
    """For a test that writes more than ~300 MB: ``big_data.need(nbytes)`` skips when the disk lacks room,
    ``big_data.remove_later(card, *dests)`` frees them at teardown even when the test fails."""
    data = BigData(tmp_path)
    try:
        yield data
    finally:
        data.cleanup()


@pytest.fixture(autouse=True)
def _home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("dwhome")
    monkeypatch.setenv(HOME_ENV, str(home))
    yield home


def process_alive(pid: int) -> bool:
    """True while the process runs (Linux /proc; a zombie counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def write_file(path: Path, size: int, seed: int = 0) -> Path:
    """A file of `size` pseudo-random bytes (reproducible from seed), with a fixed mtime."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(rnd.randbytes(n))
            left -= n
    os.utime(path, ns=(1_697_280_000_000_000_000 + seed, 1_697_280_000_000_000_000 + seed))
    return path


CardBuilder = Callable[..., Path]


@pytest.fixture
def make_card(tmp_path: Path) -> CardBuilder:
    """make_card(files={"A001C001.mov": 3_000_000, ...}, name="A001R2EC") -> the card folder."""

    def build(files: dict[str, int] | None = None, name: str = "A001R2EC", root: Path | None = None) -> Path:
        card = (root or tmp_path / "cards") / name
        card.mkdir(parents=True, exist_ok=True)
        default = {
            f"{name}/A001C001_231014_R2EC.mov": 3_000_000,
            f"{name}/A001C002_231014_R2EC.mov": 5_000_000,
            f"{name}/A001C003_231014_R2EC.mov": 0,
            "SDINFO.TXT": 120,
        }
        for i, (rel, size) in enumerate((files if files is not None else default).items()):
            write_file(card / rel, size, seed=i + 1)
        return card

    return build


@pytest.fixture
def dest_dirs(tmp_path: Path) -> Callable[[int], list[Path]]:
    def make(n: int = 2) -> list[Path]:
        out = []
        for i in range(n):
            d = tmp_path / f"drive{i + 1}"
            d.mkdir(exist_ok=True)
            out.append(d)
        return out

    return make


@pytest.fixture
def raid_and_shuttle(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """Two tmpfs drives, 'raid' and 'shuttle' (distinct physical volumes: a cascading copy's two stages);
    skipped without root."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount two tmpfs drives (distinct physical volumes)")
    from tests.faultfs import KernelMount, mount_tmpfs

    mounts: list[KernelMount] = []
    try:
        for name in ("raid", "shuttle"):
            mounts.append(mount_tmpfs(tmp_path / name, 64 << 20))
        yield tmp_path / "raid", tmp_path / "shuttle"
    finally:
        for m in mounts:
            m.cleanup()
