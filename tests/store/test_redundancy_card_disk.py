"""Safe to format never counts a copy that formatting the card erases.

When the offload's source is the card's whole volume (its mount point), copies on the card's own physical
disk do not count. When the source is a folder inside a bigger disk, copies on that disk count as before
(the catalog cannot tell what "format" would erase; preflight warns `same_volume`).

The card is a real tmpfs. A destination "on the card's own disk" goes through a second mount of that
same tmpfs (a bind mount, like a device mounted at two places): a folder inside the card's mount point is
refused by preflight, so that is how a copy lands on the card's disk without being inside the source.
Each test runs with the catalog in a file and on a PostgreSQL server (DATAWRANGLER_CATALOG names it).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datawrangler.app.offload import run_offload
from datawrangler.app.request import OffloadRequest
from datawrangler.cli import main
from datawrangler.reports import redundancy as redundancy_report
from datawrangler.store import redundancy
from datawrangler.store.location import open_location
from tests.conftest import CardBuilder
from tests.faultfs import KernelMount, mount_tmpfs
from tests.store.conftest import RunCli

Mount = Callable[[str], Path]

OWN_DRIVE = "the card's own drive, which formatting the card erases"
ONE_DRIVE = "several folders of one drive"


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[Mount]:
    """``mounts(name) -> path``: a fresh 64 MB tmpfs at tmp_path/name; ``mounts("alias=card")`` bind-mounts
    the mount at tmp_path/card again at tmp_path/alias (the same filesystem, at a second place).
    Everything is unmounted at teardown, the bind mounts first."""
    if os.geteuid() != 0:
        pytest.skip("needs root: mounts tmpfs filesystems (the card and a second drive)")
    made: list[KernelMount] = []

    def make(name: str) -> Path:
        alias, _, target = name.partition("=")
        path = tmp_path / alias
        if target:
            path.mkdir(parents=True)
            subprocess.run(["mount", "--bind", str(tmp_path / target), str(path)], check=True, capture_output=True)
            made.append(KernelMount(path, "bind"))
        else:
            made.append(mount_tmpfs(path, 64 << 20))
        return path

    try:
        yield make
    finally:
        for m in reversed(made):
            m.cleanup()


@pytest.fixture(autouse=True)
def _catalog(catalog_location: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every command and use case of the test uses this catalog: a new file, or one on the test server."""
    monkeypatch.setenv("DATAWRANGLER_CATALOG", catalog_location)
    return catalog_location


def _status(dw: RunCli, *args: str) -> tuple[int, dict]:
    code, events = dw("status", *args)
    return code, events[-1]


@pytest.mark.root
def test_a_copy_on_the_card_s_own_disk_does_not_count(
        dw: RunCli, make_card: CardBuilder, mounts: Mount, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], catalog_location: str) -> None:
    card = mounts("A001R2EC")  # the card: the whole tmpfs, offloaded from its mount point
    make_card(name="A001R2EC", root=tmp_path)
    same = mounts("same-disk=A001R2EC") / "BACKUP"  # a folder on the card's own tmpfs
    same.mkdir()
    other = mounts("drive2")  # another drive
    code, events = dw("offload", str(card), str(same), str(other))
    assert code == 0 and events[-1]["state"] == "verified"  # every copy verified...
    assert any(e["event"] == "warning" and e["code"] == "same_volume" for e in events), events  # (preflight said)
    assert events[-1]["safe_to_format"] is False  # ...but one of the two is on the card (copies_required 2)

    code, st = _status(dw, "A001", "--copies", "2")
    assert code == 1 and st["safe_to_format"] is False and st["min_copies"] == 1
    assert len(st["reasons"]) == 1, st["reasons"]
    assert f"4 files have copies on {OWN_DRIVE}" in st["reasons"][0], st["reasons"]
    assert "Copy them to another drive" in st["reasons"][0]
    assert not any(ONE_DRIVE in r for r in st["reasons"])  # not 'two folders of one drive': it is the card
    assert sorted((d["card_disk"], d["files_verified"]) for d in st["disks"]) == [(False, 4), (True, 4)]
    assert all(f["on_card_disk"] == 1 and f["disks"] == 1 for f in st["short"])

    # one copy required: safe, thanks to the other drive alone
    code, st = _status(dw, "A001", "--copies", "1")
    assert code == 0 and st["safe_to_format"] is True and st["min_copies"] == 1 and st["reasons"] == []

    # the text output names the card's drive as not counted
    capsys.readouterr()
    assert main(["status", "A001"]) == 1
    out = capsys.readouterr().out
    assert "(not counted)" in out and "NOT SAFE TO FORMAT" in out and OWN_DRIVE in out

    # the redundancy report counts as the store does
    db = open_location(catalog_location)
    try:
        rep = redundancy_report.build(db, required=2)
    finally:
        db.close()
    (c,) = rep.cards
    assert c.files_short == 4 and not c.verdict.safe and {n for _p, n in c.short_sample} == {1}


@pytest.mark.root
def test_copies_only_on_the_card_s_own_disk_leave_it_unsafe_even_for_one_copy(
        make_card: CardBuilder, mounts: Mount, tmp_path: Path) -> None:
    from datawrangler.core.plan import OffloadPlan, preflight
    from datawrangler.core.scan import scan_source

    card = mounts("A001R2EC")
    make_card(name="A001R2EC", root=tmp_path)
    same = mounts("same-disk=A001R2EC") / "BACKUP"
    same.mkdir()
    plan = OffloadPlan.create(str(card), [str(same)])
    scan = scan_source(plan.source)
    assert [w.code.value for w in preflight(plan, scan).warnings] == ["same_volume"]
    done = run_offload(OffloadRequest(str(card), (str(same),), reel="A001", copies_required=1))
    assert done.result.state.value == "verified" and done.safe is False
    assert done.reasons == ("4 files have copies only on the card's own drive, which formatting the card erases, "
                            "so those copies do not count, e.g. A001R2EC/A001C001_231014_R2EC.mov. Copy them to "
                            "another drive.",)


@pytest.mark.root
def test_a_folder_source_keeps_today_s_answer(dw: RunCli, make_card: CardBuilder, mounts: Mount) -> None:
    # a card dumped into a folder of a shuttle drive (not its mount point), offloaded from there to a folder
    # on that drive and one on another: the catalog cannot tell what "format" would erase, both count
    shuttle = mounts("shuttle")
    card = make_card(name="A001R2EC", root=shuttle / "dump")
    (shuttle / "BACKUP").mkdir()
    other = mounts("drive2")
    code, events = dw("offload", str(card), str(shuttle / "BACKUP"), str(other))
    assert code == 0 and events[-1]["safe_to_format"] is True
    code, st = _status(dw, "A001")
    assert code == 0 and st["min_copies"] == 2 and not any(d["card_disk"] for d in st["disks"])

    # a card folder (not a mount point) with both copies in two folders of one other drive: as before
    card_b = make_card(name="B001R1AA", files={"B001R1AA/B001C001_231014_R1AA.mov": 1000})
    drive3 = mounts("drive3")
    (drive3 / "x").mkdir()
    (drive3 / "y").mkdir()
    code, events = dw("offload", str(card_b), str(drive3 / "x"), str(drive3 / "y"))
    assert code == 0 and events[-1]["safe_to_format"] is False
    code, st = _status(dw, "B001", "--copies", "2")
    assert code == 1 and st["min_copies"] == 1
    assert any(ONE_DRIVE in r for r in st["reasons"]) and not any(OWN_DRIVE in r for r in st["reasons"])
    assert _status(dw, "B001", "--copies", "1")[0] == 0


def test_the_rule_reads_the_catalog_card_volume_mount_point(
        dw: RunCli, make_card: CardBuilder, tmp_path: Path, other_volume: Path, catalog_location: str) -> None:
    """Without root: the same rule on a recorded offload whose card volume is then said to be mounted exactly
    at the source (what begin_offload records for a card offloaded from its mount point)."""
    card = make_card()
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    d2.mkdir()
    assert dw("offload", str(card), str(d1), str(d2), str(other_volume))[0] == 0
    code, st = _status(dw, "A001")
    assert code == 0 and st["min_copies"] == 2  # a folder source: the card's disk counts
    db = open_location(catalog_location)
    try:
        with db.atomic():
            db.run("UPDATE volumes SET last_mount_point = :mount WHERE id = (SELECT volume_id FROM cards)",
                   {"mount": str(card) + "/"})  # a trailing slash is the same place
        card_id, disk = db.row("SELECT c.id, v.disk FROM cards c JOIN volumes v ON v.id = c.volume_id")
        assert redundancy.card_disks(db, card_id) == [disk]
    finally:
        db.close()
    code, st = _status(dw, "A001")
    assert code == 1 and st["min_copies"] == 1
    # two folders on the card's own disk: said once, as the card's drive, not as 'several folders of one drive'
    assert len(st["reasons"]) == 1 and f"4 files have copies on {OWN_DRIVE}" in st["reasons"][0], st["reasons"]
    assert all(f["on_card_disk"] == 2 and f["verified"] == 3 for f in st["short"])
    assert _status(dw, "A001", "--copies", "1")[0] == 0
