"""Safe to format: true only when every file has >= N verified copies on distinct physical volumes, whoever
made them. Each test runs on both backends: the catalog in the test home's file, and on a PostgreSQL server
(DATAWRANGLER_CATALOG names it, as a station sharing a server catalog is set up)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datawrangler.config import Settings, save_settings
from tests.conftest import CardBuilder, write_file
from tests.store.conftest import RunCli


@pytest.fixture(autouse=True)
def _catalog(catalog_location: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every command of the test uses this catalog: a new file, or a new catalog on the test server."""
    monkeypatch.setenv("DATAWRANGLER_CATALOG", catalog_location)
    return catalog_location


def _status(dw: RunCli, card: str, *extra: str) -> tuple[int, dict]:
    code, events = dw("status", card, *extra)
    return code, events[-1]


def test_true_when_every_file_has_two_verified_copies_on_two_volumes(
        dw: RunCli, make_card: CardBuilder, tmp_path: Path, other_volume: Path) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    code, events = dw("offload", str(card), str(tmp_path / "d1"), str(other_volume))
    assert code == 0 and events[-1]["safe_to_format"] is True
    code, st = _status(dw, "A001")
    assert code == 0 and st["safe_to_format"] is True and st["min_copies"] == 2 and st["reasons"] == []
    assert len(st["disks"]) == 2
    code, st = _status(dw, str(card))  # the mounted card, rescanned
    assert code == 0 and st["safe_to_format"] is True
    code, st = _status(dw, "A001", "--copies", "3")  # the rule is N copies, not "some"
    assert code == 1 and st["safe_to_format"] is False and st["min_copies"] == 2


def test_false_when_two_destinations_are_folders_on_one_volume(
        dw: RunCli, make_card: CardBuilder, tmp_path: Path) -> None:
    card = make_card()
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    d2.mkdir()
    code, events = dw("offload", str(card), str(d1), str(d2))
    assert code == 0  # both copies verified...
    assert events[-1]["safe_to_format"] is False  # ...but on one drive
    code, st = _status(dw, "A001")
    assert code == 1 and st["min_copies"] == 1
    assert any("one drive" in r for r in st["reasons"]), st["reasons"]


def test_false_when_one_copy_failed(dw: RunCli, make_card: CardBuilder, tmp_path: Path, other_volume: Path) -> None:
    card = make_card()
    d1 = tmp_path / "d1"
    # a different file already sits at one destination under a card file's name: never overwritten, so it fails
    write_file(d1 / card.name / "SDINFO.TXT", 120, seed=999)
    code, _ = dw("offload", str(card), str(d1), str(other_volume))
    assert code == 1
    code, st = _status(dw, "A001")
    assert code == 1 and st["safe_to_format"] is False
    assert [f["rel_path"] for f in st["short"]] == ["SDINFO.TXT"]
    assert any("failed" in r for r in st["reasons"]), st["reasons"]


def test_false_when_a_file_was_added_to_the_card_later(
        dw: RunCli, make_card: CardBuilder, tmp_path: Path, other_volume: Path) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    assert dw("offload", str(card), str(tmp_path / "d1"), str(other_volume))[0] == 0
    assert _status(dw, str(card))[0] == 0
    write_file(card / "A001R2EC" / "A001C004_231014_R2EC.mov", 1000, seed=44)  # the camera shot more
    code, st = _status(dw, str(card))
    assert code == 1 and st["safe_to_format"] is False
    assert any("never offloaded" in r for r in st["reasons"]), st["reasons"]
    # an incremental offload copies only the new file, and then the card is safe again
    code, events = dw("offload", str(card), str(tmp_path / "d1"), str(other_volume), "--incremental")
    assert code == 0
    assert [e["path"] for e in events if e["event"] == "file"] == ["A001R2EC/A001C004_231014_R2EC.mov"]
    assert any(e["event"] == "known_card" and not e["exact"] and e["new_or_changed"] == 1 for e in events)
    code, st = _status(dw, str(card))
    assert code == 0 and st["safe_to_format"] is True


def test_false_in_size_mode(dw: RunCli, make_card: CardBuilder, tmp_path: Path, other_volume: Path) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    code, _ = dw("offload", str(card), str(tmp_path / "d1"), str(other_volume), "--verify", "size")
    assert code == 3
    code, st = _status(dw, "A001")
    assert code == 1 and any("sizes checked only" in r for r in st["reasons"])


def test_false_after_a_reverify_finds_a_copy_changed(
        dw: RunCli, make_card: CardBuilder, tmp_path: Path, other_volume: Path) -> None:
    card = make_card()
    d1 = tmp_path / "d1"
    d1.mkdir()
    assert dw("offload", str(card), str(d1), str(other_volume))[0] == 0
    clip = d1 / card.name / "A001R2EC" / "A001C002_231014_R2EC.mov"
    with open(clip, "r+b") as f:  # bit rot: same size, same time, one byte differs
        f.seek(1234)
        b = f.read(1)
        f.seek(1234)
        f.write(bytes([b[0] ^ 1]))
    st = os.stat(clip)
    os.utime(clip, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert dw("verify", str(d1))[0] == 1
    code, st2 = _status(dw, "A001")
    assert code == 1 and st2["short"][0]["rel_path"] == "A001R2EC/A001C002_231014_R2EC.mov"


def test_copies_made_by_two_stations_of_one_card_count_as_two_drives(
        dw: RunCli, make_card: CardBuilder, tmp_path: Path, other_volume: Path) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    save_settings(Settings(station="cart-a"))
    code, events = dw("offload", str(card), str(tmp_path / "d1"))
    assert code == 0 and events[-1]["safe_to_format"] is False  # one drive
    save_settings(Settings(station="cart-b"))  # the card goes to another station, which copies it to its drive
    code, events = dw("offload", str(card), str(other_volume))
    assert code == 0 and events[-1]["safe_to_format"] is True
    code, st = _status(dw, "A001")
    assert code == 0 and st["safe_to_format"] is True and st["min_copies"] == 2 and st["reasons"] == []
    assert sorted(tuple(d["stations"]) for d in st["disks"]) == [("cart-a",), ("cart-b",)]
