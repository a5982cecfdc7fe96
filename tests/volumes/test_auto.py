"""Auto-offload: a mounted card is recognised, named by the preset, offloaded, recorded, and ejected once
verified; cards that must not be copied without the DIT are not. (Eject and keep-awake themselves:
tests/platform.)"""

from __future__ import annotations

import filecmp
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler.app.auto import AutoOffloader, AutoStatus
from datawrangler.config import app_paths
from datawrangler.core.presets import Preset
from datawrangler.platform import EjectResult, Volume
from datawrangler.store.db import open_catalog
from datawrangler.volumes.monitor import VolumeMonitor, VolumeMounted, VolumeUnmounted
from tests.conftest import CardBuilder, write_file
from tests.volumes.conftest import CardMountFactory


def dated(parent: Path) -> Path:
    """The one day folder an offload made under parent: the day it ran, which is not always the day the tests
    started (a run that crosses midnight)."""
    days = [p for p in parent.iterdir() if p.is_dir() and p.name != "lost+found"]  # an ext4 image's own folder
    assert len(days) == 1 and time.strptime(days[0].name, "%Y-%m-%d"), days
    return days[0]


def _volume(path: Path, label: str | None = None) -> Volume:
    return Volume(str(path), label, "exfat", "/dev/sdz1", None, None, None, True, "8:1")


def _same_tree(a: Path, b: Path) -> None:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and "ascmhl" not in p.parts)
    assert files_a == files_b
    for rel in files_a:
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


class Ejector:
    def __init__(self) -> None:
        self.ejected: list[Volume] = []

    def __call__(self, v: Volume) -> EjectResult:
        self.ejected.append(v)
        return EjectResult(True, f"{v.name} was ejected")


def _auto(preset: Preset, statuses: list[AutoStatus], **kw: object) -> AutoOffloader:
    return AutoOffloader(preset, app_paths().catalog_file, on_status=statuses.append, **kw)  # type: ignore[arg-type]


def test_a_recognised_card_is_offloaded_recorded_handed_off_and_ejected(
        make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]]) -> None:
    card = make_card(name="A001R2EC")
    dests = dest_dirs(2)
    preset = Preset("main", destinations=tuple(map(str, dests)), template="{project}/{date}/{card}", project="NS",
                    auto_offload=True, eject_after=True, keep_awake=True, copies_required=1, day=15,  # one test disk
                    clips=False)  # the card's .mov files are random bytes: their clips would be said damaged
    statuses: list[AutoStatus] = []
    ejector = Ejector()
    auto = _auto(preset, statuses, ejector=ejector)
    final = auto.handle(_volume(card, "A001R2EC"))
    warnings = [s.message for s in statuses if s.kind == "warning"]  # preflight: test folders share one disk
    assert warnings and all("drive" in w for w in warnings), warnings
    statuses[:] = [s for s in statuses if s.kind != "warning"]
    kinds = [s.kind for s in statuses]
    assert kinds == ["recognised", "started", "finished", "handoff", "ejected"], statuses
    handoff = statuses[3]
    assert "2 handoff files written." in handoff.message and "Report: " in handoff.message, handoff
    assert final.kind == "ejected" and final.state == "verified" and final.safe_to_format is True
    assert ejector.ejected == [_volume(card, "A001R2EC")]
    for d in dests:
        _same_tree(card, dated(d / "NS") / "A001R2EC")
    db = open_catalog(app_paths().catalog_file)
    try:
        row = db.conn.execute("SELECT o.reel, o.camera, o.project, o.state, c.vendor, o.shooting_day FROM offloads o "
                              "JOIN cards c ON c.id = o.card_id WHERE o.id = ?", (final.offload_id,)).fetchone()
    finally:
        db.close()
    assert row == ("A001", "A", "NS", "verified", "ARRI", 15)  # the preset's day, for the reports
    for d in dests:  # the preset's handoff files (ASC MHL) and the offload report, as from the CLI and window
        assert len(list((dated(d / "NS") / "A001R2EC" / "ascmhl").glob("0001_A001R2EC_*.mhl"))) == 1
    assert list(app_paths().reports_dir.rglob(f"offload-{final.offload_id:04d}_A001_*.pdf"))
    # the same card inserted again: already safe, not copied again
    statuses.clear()
    again = auto.handle(_volume(card, "A001R2EC"))
    assert again.kind == "skipped" and "safe to format" in again.message


def test_a_card_without_a_reel_gets_the_next_reel_of_its_camera(
        tmp_path: Path, dest_dirs: Callable[[int], list[Path]]) -> None:
    dests = dest_dirs(2)
    preset = Preset("fx3", destinations=tuple(map(str, dests)), template="{reel}_{vendor}", auto_offload=True,
                    camera="C", keep_awake=False)
    statuses: list[AutoStatus] = []
    auto = _auto(preset, statuses)
    for n in (1, 2):
        fx3 = tmp_path / f"fx3-{n}"
        write_file(fx3 / "PRIVATE/M4ROOT/CLIP/C0001.MP4", 1000 * n, seed=n)
        done = auto.handle(_volume(fx3))
        assert done.kind == "finished" and done.state == "verified", statuses
        assert done.reel == f"C00{n}"
        assert (dests[0] / f"C00{n}_Sony" / "PRIVATE/M4ROOT/CLIP/C0001.MP4").stat().st_size == 1000 * n


def test_cards_that_need_the_dit_are_not_copied(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]],
                                                tmp_path: Path) -> None:
    dests = dest_dirs(2)
    preset = Preset("main", destinations=tuple(map(str, dests)), template="{card}", auto_offload=True,
                    keep_awake=False)
    statuses: list[AutoStatus] = []
    auto = _auto(preset, statuses)
    assert auto.handle(_volume(make_card(name="A001R2EC"))).kind == "finished"
    # another card that calls itself A001: flagged before copying
    other = make_card(name="A001R9ZZ", files={"A001R9ZZ/A001C001_231016_R9ZZ.mov": 777}, root=tmp_path / "b")
    flagged = auto.handle(_volume(other))
    assert flagged.kind == "flagged" and "Reel A001 was already offloaded" in flagged.message
    assert not (dests[0] / "A001R9ZZ").exists()
    # not a camera card
    docs = tmp_path / "USB" / "stick"
    write_file(docs / "notes.txt", 10)
    assert auto.handle(_volume(docs)).kind == "skipped"
    # auto-offload off
    manual = _auto(Preset("manual", destinations=tuple(map(str, dests))), statuses)
    card_b = make_card(name="B001R1AA", files={"B001R1AA/B001C001_231014_R1AA.mov": 10}, root=tmp_path / "c")
    assert manual.handle(_volume(card_b)).kind == "skipped"
    # preflight refuses: a destination drive is missing
    gone = _auto(Preset("gone", destinations=(str(tmp_path / "no-drive"),), auto_offload=True,
                        keep_awake=False), statuses)
    refused = gone.handle(_volume(card_b))
    assert refused.kind == "refused" and "does not exist" in refused.message


def test_a_failed_verification_does_not_eject(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]]) -> None:
    card = make_card(name="A001R2EC")
    d1, d2 = dest_dirs(2)
    preset = Preset("main", destinations=(str(d1), str(d2)), template="{card}", auto_offload=True,
                    eject_after=True, verify_mode="size", keep_awake=False)
    statuses: list[AutoStatus] = []
    ejector = Ejector()
    final = _auto(preset, statuses, ejector=ejector).handle(_volume(card))
    assert ejector.ejected == []
    assert [s.kind for s in statuses][-3:] == ["finished", "handoff", "skipped"]
    assert final.state == "copied (not verified)"


def test_a_verified_card_that_is_not_safe_to_format_is_not_ejected(
        make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]]) -> None:
    # every file verified on both destinations, but they are two folders of one drive: one copy, not the two
    # the preset requires. eject_after promises an eject once the card is safe to format, so no eject.
    card = make_card(name="A001R2EC")
    d1, d2 = dest_dirs(2)
    preset = Preset("main", destinations=(str(d1), str(d2)), template="{card}", auto_offload=True,
                    eject_after=True, keep_awake=False, copies_required=2)
    statuses: list[AutoStatus] = []
    ejector = Ejector()
    final = _auto(preset, statuses, ejector=ejector).handle(_volume(card))
    assert ejector.ejected == []
    assert [s.kind for s in statuses][-3:] == ["finished", "handoff", "skipped"], statuses
    assert final.kind == "finished" and final.state == "verified" and final.safe_to_format is False
    why = statuses[-1]
    assert why.safe_to_format is False and why.offload_id == final.offload_id
    assert "is not ejected: it is not safe to format" in why.message, why.message
    assert "several folders of one drive" in why.message, why.message  # the store's reason, passed on


def test_the_worker_thread_queues_cards_and_stops_cleanly(make_card: CardBuilder,
                                                          dest_dirs: Callable[[int], list[Path]],
                                                          no_leaked_threads: None) -> None:
    dests = dest_dirs(2)
    preset = Preset("main", destinations=tuple(map(str, dests)), template="{card}", auto_offload=True,
                    keep_awake=False)
    done: queue.Queue[AutoStatus] = queue.Queue()
    auto = AutoOffloader(preset, app_paths().catalog_file,
                         on_status=lambda s: done.put(s) if s.kind in ("finished", "skipped") else None)
    a = make_card(name="A001R2EC")
    b = make_card(name="B001R1AA", files={"B001R1AA/B001C001_231014_R1AA.mov": 10})
    c = make_card(name="C001R1AA", files={"C001R1AA/C001C001_231014_R1AA.mov": 10})
    with auto:
        auto(VolumeMounted(_volume(a)))
        auto(VolumeMounted(_volume(b)))
        auto(VolumeMounted(_volume(c)))
        auto(VolumeUnmounted(_volume(c)))  # pulled before its turn: dropped
        got = [done.get(timeout=30).reel for _ in range(2)]
        time.sleep(0.3)
        assert done.empty()
    assert got == ["A001", "B001"]
    assert not (dests[0] / "C001R1AA").exists()


# -- end to end with a real mount (root)


@pytest.mark.root
def test_a_newly_mounted_card_is_offloaded_end_to_end_and_ejected(
        tmp_path: Path, card_mount: CardMountFactory, make_card: CardBuilder, no_leaked_threads: None) -> None:
    tree = make_card(name="A007R4XY", files={
        "A007R4XY/A007C001_231014_R4XY.mov": 2_000_000, "A007R4XY/A007C002_231014_R4XY.mov": 1_500_000,
        "SDINFO.TXT": 120}, root=tmp_path / "staging")
    root = tmp_path / "media" / "dit"
    root.mkdir(parents=True)
    # two destination drives of their own (outside the watched root): two copies on distinct disks
    dests = [card_mount(tmp_path / "drives" / f"RAID{i}", label=f"RAID{i}", size_mb=32).mountpoint for i in (1, 2)]
    preset = Preset("main", destinations=tuple(map(str, dests)), template="{date}/{card}", auto_offload=True,
                    eject_after=True, keep_awake=True, clips=False)  # random-byte .mov files: no clips to read
    statuses: queue.Queue[AutoStatus] = queue.Queue()
    events: queue.Queue[object] = queue.Queue()
    auto = AutoOffloader(preset, app_paths().catalog_file, on_status=statuses.put)
    lost = threading.Event()

    def on_volume(e: object) -> None:
        events.put(e)
        auto(e)  # type: ignore[arg-type]

    with auto, VolumeMonitor(on_volume, [str(root)]):
        mount = card_mount(root / "A007R4XY", label="A007R4XY", tree=tree)
        seen = []
        while True:
            try:
                s = statuses.get(timeout=60)
            except queue.Empty:
                lost.set()
                break
            seen.append(s)
            if s.kind in ("ejected", "eject_failed", "refused", "flagged", "error"):
                break
        assert not lost.is_set(), seen
        assert [s.kind for s in seen] == ["recognised", "started", "finished", "handoff", "ejected"], seen
        assert seen[0].card is not None and seen[0].card.vendor == "ARRI" and seen[0].card.reel == "A007"
        assert seen[2].state == "verified" and seen[2].safe_to_format is True
        mounted = events.get(timeout=5)
        unmounted = events.get(timeout=5)  # the eject, seen by the monitor
        assert isinstance(mounted, VolumeMounted) and mounted.volume.label == "A007R4XY"
        assert isinstance(unmounted, VolumeUnmounted) and unmounted.volume == mounted.volume
    assert not os.path.ismount(mount.mountpoint)
    for d in dests:
        _same_tree(tree, dated(d) / "A007R4XY")


def test_a_card_being_read_when_auto_offload_stops_is_not_offloaded(
        make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]]) -> None:
    """Ctrl-C in `watch --auto` while a card is still being inspected: it does not start a whole offload
    after the stop (nothing was running to cancel yet)."""
    card = make_card(name="A001R2EC")
    preset = Preset("main", destinations=tuple(map(str, dest_dirs(2))), template="{card}", auto_offload=True,
                    keep_awake=False)
    statuses: list[AutoStatus] = []
    auto = _auto(preset, statuses)
    auto.stop(cancel=True)  # arrives while handle() below is reading the card
    final = auto.handle(_volume(card))
    assert final.kind == "skipped" and "auto-offload is stopping" in final.message, statuses
    assert "started" not in [s.kind for s in statuses]
    assert not any(any(d.iterdir()) for d in dest_dirs(2))
