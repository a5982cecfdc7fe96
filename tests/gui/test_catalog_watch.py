"""The window on a catalog that other stations share (a real PostgreSQL server): another station's offload of
the card in this station's reader makes it SAFE TO FORMAT here without touching anything, the History shows it,
and a server that stops answering is said in the status bar and said again when it is back. A catalog in a
file is not watched."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from datawrangler.app.offload import run_offload
from datawrangler.app.request import OffloadRequest
from datawrangler.gui.prefs import Profile
from datawrangler.gui.theme import Status
from tests.gui.conftest import Env
from tests.pg import PgCluster


@pytest.fixture
def station(qtbot: Any) -> Iterator[Callable[[Profile, str], Env]]:
    made: list[Env] = []

    def make(profile: Profile, catalog: str) -> Env:
        e = Env(qtbot, profile, catalog)  # type: ignore[arg-type]
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()


def test_another_stations_copies_make_the_card_in_this_reader_safe(
        station: Callable[[Profile, str], Env], profile_with: Callable[..., Profile], pg_cluster: PgCluster,
        make_card: Any, raid_and_shuttle: tuple[Path, Path], qtbot: Any) -> None:
    url = pg_cluster.url(pg_cluster.catalog_database())
    card = make_card()
    e = station(profile_with(), url)
    watch = e.controller.catalog_watch
    assert watch.active
    e.controller.add_source(str(card))
    e.wait(lambda: getattr(e.card(card), "status", None) is Status.NEW)
    with qtbot.waitSignal(watch.online, timeout=30_000):
        watch.check()  # the first look: the catalog answers
    assert e.window is not None and "(shared)" in e.window.catalog_label.text()

    raid, shuttle = raid_and_shuttle  # the lab offloads the same card to its two drives
    done = run_offload(OffloadRequest(str(card), (str(raid), str(shuttle)), roll="A001R2EC", report=False,
                                      clips=None), catalog=url)
    assert done.safe

    with qtbot.waitSignal(e.controller.history_changed, timeout=30_000):
        watch.check()
    e.wait(lambda: getattr(e.card(card), "status", None) is Status.SAFE)
    history = e.window.history.model
    e.wait(lambda: history.rowCount() == 1 and not history.loading)


def test_a_server_that_stops_answering_is_said(station: Callable[[Profile, str], Env],
                                               profile_with: Callable[..., Profile],
                                               own_pg_cluster: PgCluster, qtbot: Any) -> None:
    url = own_pg_cluster.url(own_pg_cluster.catalog_database())
    e = station(profile_with(), url)
    watch = e.controller.catalog_watch
    said: list[tuple[bool, str, str]] = []
    watch.online.connect(lambda ok, short, text: said.append((ok, short, text)))
    with qtbot.waitSignal(watch.online, timeout=30_000):
        watch.check()
    own_pg_cluster.pause()
    with qtbot.waitSignal(watch.online, timeout=60_000):
        watch.check()
    assert said[-1][0] is False and said[-1][1] == "Catalog offline" and "does not answer" in said[-1][2]
    assert e.window is not None and e.window.catalog_label.text() == "⚠ Catalog offline"
    assert "does not answer" in e.window.catalog_label.toolTip()
    assert own_pg_cluster.password not in e.window.catalog_label.toolTip()
    assert any("does not answer" in m.text for m in e.messages.history)  # said once in Messages too
    own_pg_cluster.resume()
    with qtbot.waitSignal(watch.online, timeout=60_000):
        watch.check()
    assert said[-1][0] is True


def test_a_catalog_in_a_file_is_not_watched(env: Callable[..., Env], profile_with: Callable[..., Profile]) -> None:
    e = env(profile_with())
    assert not e.controller.catalog_watch.active and not e.controller.catalog_watch.timer.isActive()
    assert e.window is not None and e.window.catalog_label.isHidden()
