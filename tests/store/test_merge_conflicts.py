"""Records both catalogs hold and that disagree: station B starts as a copy of station A's catalog (as after an
earlier merge or an export), then one of them records something the other did not. A newer read that found a
copy bad is taken; a copy is never made verified by a merge; other differences keep this catalog's word and
are reported. A merge that fails part way leaves this catalog as it was."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datawrangler.store.db import open_catalog
from datawrangler.store.merge import MergeError, merge
from datawrangler.store.redundancy import card_redundancy
from tests.store.test_merge import identities, offload, raw


def _copy(a: Path, b: Path) -> None:
    src, dst = sqlite3.connect(a), sqlite3.connect(b)
    src.backup(dst)
    src.close()
    dst.close()


def _sql(catalog: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(catalog)
    try:
        with conn:
            return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _reverified(catalog: Path, rel_path: str, at: float, result: str, state: str) -> None:
    """What `datawrangler reverify` records for a copy: a verification, and the copy's new state."""
    (cid,) = _sql(catalog, "SELECT c.id FROM copies c JOIN files f ON f.id = c.file_id WHERE f.rel_path = ?",
                  rel_path)[0]
    _sql(catalog, "INSERT INTO verifications (copy_id, at, method, cache_bypassed, result) VALUES (?, ?, 'reverify',"
         " 1, ?)", cid, at, result)
    _sql(catalog, "UPDATE copies SET state = ? WHERE id = ?", state, cid)


def _state(catalog: Path, rel_path: str) -> str:
    return _sql(catalog, "SELECT c.state FROM copies c JOIN files f ON f.id = c.file_id WHERE f.rel_path = ?",
                rel_path)[0][0]


CLIP = "A001R2EC/A001C002_231014_R2EC.mov"


@pytest.fixture
def station(make_card: Callable[..., Path], tmp_path: Path) -> tuple[Path, Path, int]:
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    done = offload(make_card(), tmp_path / "shuttle", a, "Day01/A001")
    _copy(a, b)
    return a, b, done.card_id


def test_a_newer_read_that_found_a_copy_changed_downgrades_it(station: tuple[Path, Path, int]) -> None:
    a, b, card = station
    _reverified(b, CLIP, time.time() + 60, "changed", "changed")
    result = merge(a, b)
    assert result.downgraded == 1 and result.added["verifications"] == 1 and not result.conflicts
    assert _state(a, CLIP) == "changed"
    db = open_catalog(a)
    try:
        red = card_redundancy(db, card, 1)
        assert not red.safe and any("failed" in r for r in red.reasons), red.reasons
    finally:
        db.close()
    assert any("no longer" in line for line in result.lines())
    again = merge(a, b)
    assert again.nothing_new and again.downgraded == 0


def test_a_copy_verified_elsewhere_is_never_made_verified_here(station: tuple[Path, Path, int]) -> None:
    a, b, card = station
    now = time.time()
    _reverified(a, CLIP, now + 10, "missing", "missing")  # this station found it missing
    _reverified(b, CLIP, now + 20, "verified", "verified")  # later, the other read it fine
    result = merge(a, b)
    assert _state(a, CLIP) == "missing" and result.downgraded == 0
    [conflict] = result.conflicts
    assert conflict.kind == "copy_not_promoted" and conflict.example == CLIP
    assert "re-verify" in conflict.sentence() and "missing" in conflict.sentence()
    assert result.added["verifications"] == 1  # the other's read is history: kept, without its verdict
    db = open_catalog(a)
    try:
        assert not card_redundancy(db, card, 1).safe
    finally:
        db.close()
    # the other way round, this station's later "verified" stands against the older "missing": no downgrade
    back = merge(b, a)
    assert _state(b, CLIP) == "verified" and back.downgraded == 0 and not back.conflicts


def test_an_older_failure_does_not_downgrade_a_later_verified_copy(station: tuple[Path, Path, int]) -> None:
    a, b, _ = station
    now = time.time()
    _reverified(b, CLIP, now + 10, "changed", "changed")
    _reverified(a, CLIP, now + 20, "verified", "verified")
    result = merge(a, b)
    assert _state(a, CLIP) == "verified" and result.downgraded == 0 and result.added["verifications"] == 1


def test_a_different_reel_and_state_are_reported_and_ours_kept(station: tuple[Path, Path, int]) -> None:
    a, b, _ = station
    _sql(b, "UPDATE cards SET reel = 'Z999'")
    _sql(b, "UPDATE offloads SET state = 'completed with errors'")
    result = merge(a, b)
    kinds = {c.kind: c for c in result.conflicts}
    assert set(kinds) == {"card_reel", "offload_state"}
    assert "'Z999'" in kinds["card_reel"].sentence() and "kept" in kinds["card_reel"].sentence()
    assert _sql(a, "SELECT reel, (SELECT state FROM offloads) FROM cards") == [("A001", "verified")]
    assert result.nothing_new and any("differ" in line for line in result.lines())


def test_a_merge_that_fails_part_way_leaves_this_catalog_as_it_was(station: tuple[Path, Path, int],
                                                                  make_card: Callable[..., Path],
                                                                  tmp_path: Path) -> None:
    """The other catalog holds a new offload whose files go in before one of its copies turns out to name a
    destination that catalog does not hold (damage): the merge stops and nothing of it stays."""
    a, b, _ = station
    offload(make_card({"B001C001.mov": 5000, "B001C002.mov": 7000}, name="B001R2EC"), tmp_path / "raid", b,
            "Day01/B001")
    _sql(b, "UPDATE copies SET destination_id = 9999 WHERE id = (SELECT MAX(id) FROM copies)")
    before, ids_before = raw(a), identities(a)
    with pytest.raises(MergeError, match=r"inconsistent.*Nothing was merged"):
        merge(a, b)
    assert raw(a) == before and identities(a) == ids_before


def test_the_row_by_row_path_stops_at_the_same_damage(station: tuple[Path, Path, int],
                                                      make_card: Callable[..., Path], tmp_path: Path) -> None:
    """What a server on either side takes (rows read and written by the merge, not copied inside SQLite): the
    copy naming a destination the other catalog does not hold stops it, this catalog unchanged."""
    from datawrangler.store.merge import merge_engines
    from datawrangler.store.merge_open import location, other_engine, writable_engine

    a, b, _ = station
    offload(make_card({"B001C001.mov": 5000}, name="B001R2EC"), tmp_path / "raid", b, "Day01/B001")
    _sql(b, "UPDATE copies SET destination_id = 9999 WHERE id = (SELECT MAX(id) FROM copies)")
    before = raw(a)
    with other_engine(location(b)) as (src, _path):
        dst = writable_engine(a)
        try:
            with pytest.raises(MergeError, match=r"inconsistent: a copy is on the destination 9999"):
                merge_engines(dst, src, str(a), str(b))  # no file to attach: row by row
        finally:
            dst.dispose()
            src.dispose()
    assert raw(a) == before


def test_a_drives_media_kind_is_filled_in_or_reported(station: tuple[Path, Path, int]) -> None:
    a, b, _ = station
    _sql(b, "UPDATE volumes SET media_kind = 'lto'")
    assert merge(a, b).nothing_new  # filled in: nothing added, no conflict
    assert {r[0] for r in _sql(a, "SELECT media_kind FROM volumes")} == {"lto"}
    _sql(b, "UPDATE volumes SET media_kind = 'hdd'")
    [conflict] = merge(a, b).conflicts
    assert conflict.kind == "volume_media_kind" and "'lto'" in conflict.sentence()
    assert {r[0] for r in _sql(a, "SELECT media_kind FROM volumes")} == {"lto"}
