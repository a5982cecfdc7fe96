"""The reel counter and reel collisions, against a catalog written by real offloads (the CLI's)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler.app.naming import name_card, next_reel_number, reel_collision
from datawrangler.cli import main
from datawrangler.config import app_paths
from datawrangler.core.cards import recognise
from datawrangler.core.presets import Preset
from datawrangler.core.scan import scan_source
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder, write_file


def _offload(card: Path, dests: list[Path], *extra: str) -> None:
    assert main(["offload", str(card), *map(str, dests), "-q", *extra]) == 0


def _m4root(root: Path, seed: int) -> Path:
    for i in range(2):
        write_file(root / f"PRIVATE/M4ROOT/CLIP/C000{i + 1}.MP4", 1000 + seed, seed=seed * 10 + i)
    write_file(root / "PRIVATE/M4ROOT/MEDIAPRO.XML", 50, seed=seed)
    return root


@pytest.fixture
def catalog_with_offloads(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]], tmp_path: Path):  # type: ignore[no-untyped-def]
    dests = dest_dirs(2)
    # day 1: A001, A002 and B001 (ARRI, reels from the clip names); an M4ROOT card named by hand as A003
    _offload(make_card(name="A001R2EC"), dests, "--project", "NS")
    _offload(make_card(name="A002R3FD", files={"A002R3FD/A002C001_231014_R3FD.mov": 1000}), dests,
             "--project", "NS")
    _offload(make_card(name="B001R1AA", files={"B001R1AA/B001C001_231014_R1AA.mov": 1000}), dests,
             "--project", "NS")
    _offload(_m4root(tmp_path / "fx3-day1", 1), dests, "--project", "NS", "--reel", "A003")
    return open_catalog(app_paths().catalog_file)


def test_the_reel_counter_continues_per_camera_across_days(catalog_with_offloads) -> None:  # type: ignore[no-untyped-def]
    db = catalog_with_offloads
    try:
        assert next_reel_number(db, "A") == 4
        assert next_reel_number(db, "B") == 2
        assert next_reel_number(db, "C") == 1
        assert next_reel_number(db, "A", project="Other film") == 1
    finally:
        db.close()


def test_a_card_without_a_reel_is_named_by_the_counter(catalog_with_offloads, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = catalog_with_offloads
    try:
        fx3 = _m4root(tmp_path / "fx3-day2", 2)  # the next day, another FX3 card
        scan = scan_source(fx3)
        card = recognise(fx3, scan=scan)
        assert card.reel is None and card.vendor == "Sony"
        preset = Preset("main", destinations=("/x",), template="{date}/{reel}_{vendor}", project="NS")
        name = name_card(db, preset, card, scan.files, when=dt.date(2023, 10, 15))
        assert (name.reel, name.counter, name.from_counter, name.collision) == ("A004", 4, True, None)
        assert name.roll == "2023-10-15/A004_Sony"
        # the same card inserted again keeps the name it was offloaded under
        day1 = tmp_path / "fx3-day1"
        s1 = scan_source(day1)
        again = name_card(db, preset, recognise(day1, scan=s1), s1.files)
        assert again.reel == "A003" and again.known is not None and again.collision is None
    finally:
        db.close()


def test_a_different_card_with_an_offloaded_reel_is_flagged(catalog_with_offloads, make_card: CardBuilder,
                                                            tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = catalog_with_offloads
    try:
        # a second A001 card (the camera was reset): different files, same reel
        other = make_card(name="A001R9ZZ", files={"A001R9ZZ/A001C001_231016_R9ZZ.mov": 777},
                          root=tmp_path / "other")
        scan = scan_source(other)
        card = recognise(other, scan=scan)
        assert card.reel == "A001"
        name = name_card(db, Preset("main", project="NS"), card, scan.files)
        assert name.collision is not None and name.known is None
        assert name.collision.reel == "A001"
        assert "already offloaded" in name.collision.message and "different card" in name.collision.message
        # the same A001 card again, and the same card after it shot more, are not collisions
        first = tmp_path / "cards" / "A001R2EC"
        s = scan_source(first)
        assert reel_collision(db, "A001", recognise(first, scan=s).fingerprint, s.files) is None
        write_file(first / "A001R2EC/A001C004_231014_R2EC.mov", 500, seed=99)
        s = scan_source(first)
        grown = name_card(db, Preset("main"), recognise(first, scan=s), s.files)
        assert grown.collision is None and grown.known is not None and not grown.known.exact
        # a reel nobody used is free
        assert reel_collision(db, "C001", "0" * 64, []) is None
    finally:
        db.close()
    assert os.path.exists(app_paths().catalog_file)
