"""Shared fixtures: every test gets its own DATAWRANGLER_HOME, and a builder for synthetic cards."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datawrangler.config import HOME_ENV


@pytest.fixture(autouse=True)
def _home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("dwhome")
    monkeypatch.setenv(HOME_ENV, str(home))
    yield home


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
