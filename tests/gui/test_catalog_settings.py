"""Settings → Catalog against a real PostgreSQL server: Test connection says exactly what is wrong (a wrong
password, a database that does not exist, nothing listening, a database with no catalog yet), never shows the
password, offers Create catalog only when it can help and creates it; the location is saved with the settings
and is what the next start (and every command) uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from datawrangler.app.catalog import catalog_location
from datawrangler.config import load_settings
from datawrangler.gui.prefs import Profile
from datawrangler.gui.widgets.settings_tab import SettingsTab
from tests.gui.conftest import Env
from tests.pg import PgCluster, free_port


def _test(tab: SettingsTab, qtbot: Any, location: str) -> str:
    box = tab.catalog
    box.edit.setText(location)
    box.test_btn.click()
    qtbot.waitUntil(lambda: not box.busy, timeout=30_000)
    return box.result.text()


def test_test_connection_says_what_is_wrong_and_creates_the_catalog(
        env: Callable[..., Env], profile_with: Callable[..., Profile], pg_cluster: PgCluster, qtbot: Any) -> None:
    e = env(profile_with())
    assert e.window is not None
    tab = e.window.settings
    box = tab.catalog
    empty = pg_cluster.create_database()

    said = _test(tab, qtbot, pg_cluster.url(empty, password="wrong-password"))
    assert said.startswith("✗") and "refused the user" in said and "wrong-password" not in said
    assert box.create_btn.isHidden()

    said = _test(tab, qtbot, pg_cluster.url("no_such_database"))
    assert said.startswith("✗") and "no database 'no_such_database'" in said

    said = _test(tab, qtbot, f"postgresql://dw_test:x@127.0.0.1:{free_port()}/dw")
    assert said.startswith("✗") and "Nothing answers" in said

    url = pg_cluster.url(empty)
    said = _test(tab, qtbot, url)
    assert said.startswith("✗") and pg_cluster.password not in said
    assert not box.create_btn.isHidden()  # an empty database: creating the catalog there helps
    box.create_btn.click()
    qtbot.waitUntil(lambda: not box.busy, timeout=60_000)
    assert box.result.text().startswith("✓") and "ready" in box.result.text()
    assert _test(tab, qtbot, url).startswith("✓")

    assert tab.save()
    qtbot.waitUntil(lambda: load_settings().catalog == url, timeout=10_000)  # saved off the GUI thread
    assert catalog_location(None) == url  # the next start, and every command, use it


def test_an_empty_location_is_this_stations_file(env: Callable[..., Env], profile_with: Callable[..., Profile],
                                                 qtbot: Any) -> None:
    e = env(profile_with())
    assert e.window is not None
    said = _test(e.window.settings, qtbot, "")
    assert "catalog.sqlite" in said
