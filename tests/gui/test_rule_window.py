"""The rule in the window: the Settings form's station, site and protection rule (saved, and carried by the
window's offloads), a drive's media kind said in Destinations (recorded in the catalog), and the card's row
saying what the rule still needs after a real offload to two tmpfs drives."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datawrangler.app.request import from_preset
from datawrangler.config import load_presets, load_settings
from datawrangler.gui.theme import Status
from tests.faultfs import KernelMount, mount_tmpfs

NEEDS = "2 copies, 1 media kind, 1 site: needs a copy on another media kind at another site"


@pytest.fixture
def two_drives(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    if os.geteuid() != 0:
        pytest.skip("needs root (mounts)")
    made: list[KernelMount] = [mount_tmpfs(tmp_path / n, 64 << 20) for n in ("RAID_A", "SHUTTLE_B")]
    try:
        yield tmp_path / "RAID_A", tmp_path / "SHUTTLE_B"
    finally:
        for m in made:
            m.cleanup()


def test_station_site_and_rule_are_saved_and_reach_the_offload(env: Callable, profile_with: Callable,
                                                               dest_dirs: Callable) -> None:
    e = env(profile_with(dest_dirs(1)))
    s = e.window.settings
    assert s.rule.currentData() == "" and s.station.text() == "" and s.site.text() == ""
    s.rule.setCurrentIndex(s.rule.findData("3-2-1"))
    s.station.setText("cart-a")
    s.site.setText("Stage 4")
    assert s.save()
    e.wait(lambda: any(m.text == "Settings saved." for m in e.messages.history))
    saved, settings = load_presets()[0], load_settings()
    assert saved.rule == "3-2-1" and (settings.station, settings.site) == ("cart-a", "Stage 4")
    req = from_preset("/media/A001", saved, settings)
    assert req.rule == "3-2-1" and req.protection.name == "3-2-1"
    assert (req.settings.station_name, req.settings.site_name) == ("cart-a", "Stage 4")


@pytest.mark.root
def test_the_card_row_says_what_the_rule_needs_and_a_drive_kind_is_recorded(
        env: Callable, profile_with: Callable, two_drives: tuple[Path, Path], make_card: Callable) -> None:
    raid, shuttle = two_drives
    e = env(profile_with([raid, shuttle], rule="3-2-1"))
    c = e.controller
    card = make_card()
    c.add_source(str(card))
    e.wait(lambda: e.card(card) is not None and e.card(card).status is Status.NEW, 20_000)
    c.enqueue(str(card))
    e.wait(lambda: c.queue.rowCount() == 1 and c.queue.row(0).outcome is not None, 60_000)
    item = c.queue.row(0)
    assert item.outcome.result.files_verified == 4 and item.outcome.safe is False
    assert item.outcome.verdict.rule == "3-2-1" and item.outcome.verdict.sentence == NEEDS
    row = e.card(card)
    assert row.status is Status.VERIFIED and row.judgement == NEEDS
    i = c.cards.by_path(os.path.normpath(str(card)))
    assert c.cards.data(c.cards.index(i, 4)) == "VERIFIED ON 2 · NOT 3-2-1"
    panel = e.window.cards
    assert panel.rule.isVisibleTo(e.window) and panel.rule.text() == f"✗ {row.label} · rule 3-2-1: {NEEDS}"

    panel = e.window.dests
    e.wait(lambda: all(r.info is not None and r.info.present for r in c.destinations.rows), 20_000)
    panel.view.selectRow(0)
    assert panel.media.isEnabled() and panel.media.currentData() == ""
    panel.media.setCurrentIndex(panel.media.findData("raid"))
    panel.media.activated.emit(panel.media.currentIndex())
    e.wait(lambda: c.destinations.row(0).info is not None and c.destinations.row(0).info.media_kind == "raid",
           20_000)
    assert c.destinations.data(c.destinations.index(0, 1)).endswith("· raid")
    con = sqlite3.connect(e.catalog)
    try:
        kinds = dict(con.execute("SELECT last_mount_point, media_kind FROM volumes WHERE kind = 'destination'"))
    finally:
        con.close()
    assert kinds == {str(raid): "raid", str(shuttle): None}
