"""A studio's rule (3-2-1) judged on real offloads: copies on three tmpfs drives (distinct physical volumes),
each drive's media kind said with `datawrangler drive kind`, each offload's station and site taken from the
settings at the time (a station moves). The N-copies rule gives the answers it always gave. Each test runs
with the catalog in a file and on a PostgreSQL server (DATAWRANGLER_CATALOG names it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from datawrangler.config import Settings, save_settings
from tests.conftest import CardBuilder
from tests.store.conftest import RunCli

pytestmark = pytest.mark.root


@pytest.fixture
def drives(tmp_path: Path) -> Iterator[list[Path]]:
    """Three tmpfs drives: three physical volumes."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount three tmpfs drives (distinct physical volumes)")
    from tests.faultfs import KernelMount, mount_tmpfs

    mounts: list[KernelMount] = []
    try:
        for name in ("raid", "shuttle", "lto"):
            mounts.append(mount_tmpfs(tmp_path / name, 64 << 20))
        yield [tmp_path / "raid", tmp_path / "shuttle", tmp_path / "lto"]
    finally:
        for m in mounts:
            m.cleanup()


@pytest.fixture(autouse=True)
def _catalog(catalog_location: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every command of the test uses this catalog: a new file, or one on the test server."""
    monkeypatch.setenv("DATAWRANGLER_CATALOG", catalog_location)
    return catalog_location


def _station(name: str, site: str) -> None:
    save_settings(Settings(station=name, site=site))


def _status(dw: RunCli, *args: str) -> tuple[int, dict]:
    code, events = dw("status", "A001", *args)
    return code, events[-1]


def test_two_drives_at_one_site_meet_two_copies_but_not_3_2_1(
        dw: RunCli, make_card: CardBuilder, drives: list[Path]) -> None:
    _station("cart-a", "Stage 4")
    card = make_card()
    code, events = dw("offload", str(card), str(drives[0]), str(drives[1]))
    assert code == 0 and events[-1]["safe_to_format"] is True and events[-1]["rule"] == "2"
    code, st = _status(dw)  # the settings' rule: 2 copies on distinct drives, as before
    assert code == 0 and st["rule"] == "2" and st["reasons"] == []
    assert st["judgement"] == "2 copies: meets the rule 2"
    code, st = _status(dw, "--rule", "3-2-1")
    assert code == 1 and st["safe_to_format"] is False and st["rule"] == "3-2-1"
    assert st["judgement"] == "2 copies, 1 media kind, 1 site: needs a copy on another media kind at another site"
    assert any(st["judgement"] in r and "4 files do not meet the rule 3-2-1" in r for r in st["reasons"]), st
    assert {d["stations"][0] for d in st["disks"]} == {"cart-a"}
    assert all(d["sites"] == ["Stage 4"] and d["media_kind"] is None for d in st["disks"])
    code, st = _status(dw, "--rule", "3")  # a number is N copies: the reasons are the N-copies ones
    assert code == 1 and st["reasons"] == ["4 files have fewer than 3 verified copies on distinct drives."]


def test_a_third_copy_at_another_site_on_another_media_kind_meets_3_2_1(
        dw: RunCli, make_card: CardBuilder, drives: list[Path]) -> None:
    _station("cart-a", "Stage 4")
    card = make_card()
    assert dw("offload", str(card), str(drives[0]), str(drives[1]))[0] == 0
    _station("lab-1", "Lab")  # the card travels to the lab; its station makes the third copy there
    assert dw("offload", str(card), str(drives[2]))[0] == 0
    code, st = _status(dw, "--rule", "3-2-1")
    # two sites, but no drive says what it is: an unknown kind never counts as another
    assert code == 1 and st["judgement"] == "3 copies, 1 media kind, 2 sites: needs a copy on another media kind"
    assert any("datawrangler drive kind PATH KIND" in r for r in st["reasons"]), st["reasons"]
    for drive, kind in zip(drives, ("raid", "shuttle", "lto"), strict=True):
        assert dw("drive", "kind", str(drive), kind)[0] == 0
    code, st = _status(dw, "--rule", "3-2-1")
    assert code == 0 and st["safe_to_format"] is True and st["reasons"] == []
    assert st["judgement"] == "3 copies, 3 media kinds, 2 sites: meets the rule 3-2-1"
    made = {d["media_kind"]: (d["stations"], d["sites"]) for d in st["disks"]}
    assert made == {"raid": (["cart-a"], ["Stage 4"]), "shuttle": (["cart-a"], ["Stage 4"]),
                    "lto": (["lab-1"], ["Lab"])}
    offloads = st["card"]["offloads"]
    assert [(o["station"], o["site"]) for o in offloads] == [("cart-a", "Stage 4"), ("lab-1", "Lab")]


def test_three_copies_of_two_kinds_at_one_site_need_a_copy_elsewhere(
        dw: RunCli, make_card: CardBuilder, drives: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    _station("cart-a", "")  # no site said: it can never prove another place
    card = make_card()
    assert dw("offload", str(card), *map(str, drives))[0] == 0
    assert dw("drive", "kind", str(drives[0]), "raid")[0] == 0
    assert dw("drive", "kind", str(drives[2]), "lto")[0] == 0
    code, st = _status(dw, "--rule", "3-2-1")
    assert code == 1 and st["judgement"] == "3 copies, 2 media kinds, 1 site: needs a copy at another site"
    assert any("set each station's site" in r for r in st["reasons"]), st["reasons"]
    from datawrangler.cli import main

    capsys.readouterr()
    assert main(["status", "A001", "--rule", "3-2-1"]) == 1  # the words the DIT reads
    text = capsys.readouterr().out
    assert "meeting the rule 3-2-1 (3 verified copies on distinct drives, on at least 2 kinds of media" in text
    assert "Weakest file: 3 copies, 2 media kinds, 1 site: needs a copy at another site" in text
    assert "(RAID), copies made by cart-a:" in text and "(kind not said), copies made by cart-a:" in text


def test_files_on_different_drives_are_judged_one_by_one(
        dw: RunCli, make_card: CardBuilder, drives: list[Path]) -> None:
    """A copy lost on one drive (found missing by a re-verify): that file alone is the weakest; the others
    meet the rule."""
    _station("cart-a", "Stage 4")
    card = make_card()
    assert dw("offload", str(card), str(drives[0]), str(drives[1]))[0] == 0
    _station("lab-1", "Lab")
    assert dw("offload", str(card), str(drives[2]))[0] == 0
    for drive, kind in zip(drives, ("raid", "shuttle", "lto"), strict=True):
        assert dw("drive", "kind", str(drive), kind)[0] == 0
    (drives[2] / card.name / "SDINFO.TXT").unlink()  # the lab's copy of one file is gone
    assert dw("verify", str(drives[2]))[0] == 1
    code, st = _status(dw, "--rule", "3-2-1")
    assert code == 1 and st["files_ok"] == 3
    assert st["judgement"] == "2 copies, 2 media kinds, 1 site: needs a copy at another site"
    assert [f["rel_path"] for f in st["short"]] == ["SDINFO.TXT"]
    code, st = _status(dw, "--rule", "2")  # two copies on distinct drives: still there
    assert code == 0 and st["judgement"] == "2 copies: meets the rule 2"
