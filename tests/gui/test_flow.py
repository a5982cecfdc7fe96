"""The whole flow through the window, with real offloads into tmp_path: a card appears under a watched
mount root, is recognised, offloaded to two destinations, verified, safe to format, and reported."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from datawrangler.gui.messages import Level
from datawrangler.gui.sources import RootWatcher, VolumesAdapter
from datawrangler.gui.theme import Status
from tests.faultfs import KernelMount, mount_tmpfs

ARRI = {"A001R2EC/A001C001_231014_R2EC.mov": 3_000_000, "A001R2EC/A001C002_231014_R2EC.mov": 5_000_000,
        "A001R2EC/A001C003_231014_R2EC.mov": 1_000_000, "SDINFO.TXT": 120}


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[Callable[..., KernelMount]]:
    if os.geteuid() != 0:
        pytest.skip("needs root (mounts)")
    made: list[KernelMount] = []
    binds: list[Path] = []

    def tmpfs(name: str, size: int = 64 << 20) -> KernelMount:
        m = mount_tmpfs(tmp_path / name, size)
        made.append(m)
        return m

    def bind(src: Path, dst: Path) -> Path:
        dst.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "--bind", str(src), str(dst)], check=True, capture_output=True)
        binds.append(dst)
        return dst

    tmpfs.bind = bind  # type: ignore[attr-defined]
    yield tmpfs
    for b in reversed(binds):
        subprocess.run(["umount", "-l", str(b)], capture_output=True, check=False)
    for m in reversed(made):
        m.cleanup()


@pytest.mark.root
def test_card_in_mount_root_to_safe_to_format_and_report(env: Callable, profile_with: Callable, mounts: Callable,
                                                          make_card: Callable, tmp_path: Path,
                                                          qtbot: object) -> None:
    media = tmp_path / "media"
    media.mkdir()
    d1, d2 = mounts("SHUTTLE_A"), mounts("SHUTTLE_B")
    e = env(profile_with([d1.mountpoint, d2.mountpoint]))
    c = e.controller
    e.window.notifier.sound = False
    c.watch(VolumesAdapter([str(media)], interval=0.2))

    card_src = make_card(ARRI, name="A001R2EC")
    card = mounts.bind(card_src, media / "A001R2EC")  # the card "mounts" under the watched root
    e.wait(lambda: e.card(card) is not None and e.card(card).status is Status.NEW, 20_000)
    row = e.card(card)
    assert row.info.vendor == "ARRI" and row.info.reel == "A001" and row.info.clips == 3 and row.auto
    assert e.window.cards.offload_btn.isEnabled()

    qtbot.mouseClick(e.window.cards.offload_btn, Qt.MouseButton.LeftButton)
    e.wait(lambda: c.queue.rowCount() == 1 and c.queue.row(0).status is Status.SAFE, 60_000)
    item = c.queue.row(0)
    assert item.outcome.result.files_verified == 4 and item.outcome.copies == 2
    assert e.card(card).status is Status.SAFE
    assert c.cards.data(c.cards.index(0, 4)).startswith("SAFE TO FORMAT")
    assert any(m.level is Level.SUCCESS and "SAFE TO FORMAT" in m.text for m in e.messages.history)
    assert e.window.notifier.sent[-1][2] is False  # a success notification, not a failure
    for d in (d1, d2):
        rolls = list(Path(d.mountpoint).glob("*/A001R2EC"))
        assert len(rolls) == 1 and (rolls[0] / "A001R2EC/A001C002_231014_R2EC.mov").stat().st_size == 5_000_000
        assert list((rolls[0] / "ascmhl").glob("0001_*.mhl")), "the ASC MHL generation was written"

    # History shows it; its files have a verification history per copy
    h = e.window.history
    h.apply()
    e.wait(lambda: h.model.rowCount() == 1)
    assert h.model.row(0).state == "verified"

    # the report of this card, saved as PDF and CSV
    r = e.window.reports
    assert r.offload.value() == item.offload_id
    pdf, csv = tmp_path / "out" / "report.pdf", tmp_path / "out" / "report.csv"
    r.save(pdf=str(pdf), csv=str(csv))
    e.wait(lambda: bool(r.saved), 60_000)
    assert pdf.read_bytes()[:5] == b"%PDF-" and "A001C002_231014_R2EC.mov" in csv.read_text()

    # the card is pulled: it leaves the list
    subprocess.run(["umount", str(card)], check=True, capture_output=True)
    e.wait(lambda: e.card(card) is None, 20_000)


def test_plain_folder_root_two_folders_on_one_disk_are_not_safe(env: Callable, profile_with: Callable,
                                                                  make_card: Callable, dest_dirs: Callable,
                                                                  tmp_path: Path) -> None:
    """Without mounts: a folder moved into a watched ingest folder; two destination folders on one disk
    verify, but count as one copy: the card says so and is NOT safe to format."""
    ingest = tmp_path / "ingest"
    ingest.mkdir()
    e = env(profile_with(dest_dirs(2)))
    c = e.controller
    e.window.notifier.sound = False
    c.watch(RootWatcher([str(ingest)], interval=0.1))
    src = make_card(ARRI, name="A002R2EC")
    card = ingest / "A002R2EC"
    os.rename(src, card)
    e.wait(lambda: e.card(card) is not None and e.card(card).status is Status.NEW, 20_000)
    item = c.enqueue(str(card))
    assert item is not None
    e.wait(lambda: item.status in (Status.VERIFIED, Status.SAFE, Status.FAILED), 60_000)
    assert item.status is Status.VERIFIED and item.outcome.copies == 1
    assert e.card(card).status is Status.VERIFIED
    assert "one drive" in e.card(card).detail or "one copy" in e.card(card).detail
    assert c.cards.data(c.cards.index(0, 4)) == "VERIFIED ON 1 · NOT SAFE"
    shutil.rmtree(card)
    e.wait(lambda: e.card(card) is None, 20_000)
