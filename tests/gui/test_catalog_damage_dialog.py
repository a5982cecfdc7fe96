"""The window's start on a damaged catalog (gui.catalog_damage): the dialog says what happened and chooses the
last good backup; "Restore this backup" puts it in place with the damaged file kept aside; "Quit" leaves the
file as it was; a new, empty catalog only on an explicit click, and only when no good backup exists.
Offscreen, with real catalog files damaged with real bytes."""

from __future__ import annotations

import os
import random
import sqlite3
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QPushButton

from datawrangler.core.words import when
from datawrangler.gui.catalog_damage import RESTORED, STARTED_NEW, CatalogDamageDialog, check_at_start
from datawrangler.store import backups
from datawrangler.store import db as dbmod
from datawrangler.store.db import CatalogDamaged, open_catalog

PAGE = 4096


@pytest.fixture(autouse=True)
def _first_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's damaged file is read as at a start (the quick check runs on a process's first open)."""
    monkeypatch.setattr(dbmod, "_checked", set())


def _record(cat: Path, *uuids: str) -> None:
    db = open_catalog(cat)
    try:
        with db.atomic():
            for u in uuids:
                db.conn.execute("INSERT INTO offloads (uuid, source, plan, state, started_at) "
                                "VALUES (?, '/media/A001', '{}', 'verified', 1.0)", (u,))
                db.conn.executemany("INSERT INTO files (offload_id, rel_path, size, mtime_ns, status) VALUES "
                                    "((SELECT id FROM offloads WHERE uuid = ?), ?, 1, 1, 'verified')",
                                    [(u, f"{u}/clip{i:04d}_with_a_long_enough_name.mov") for i in range(400)])
    finally:
        db.close()


def _offloads(cat: Path) -> list[str]:
    con = sqlite3.connect(f"{cat.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [r[0] for r in con.execute("SELECT uuid FROM offloads ORDER BY id")]
    finally:
        con.close()


def _damage(path: Path, page: int = 2) -> None:
    with open(path, "r+b") as f:
        f.seek((page - 1) * PAGE)
        f.write(random.Random(page).randbytes(PAGE))


def _catalog_with_backups(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(catalog, a good backup two days old, a newer backup that is damaged); the catalog is damaged too."""
    cat = tmp_path / "catalog.sqlite"
    _record(cat, "u-1")
    open_catalog(cat).close()  # the daily backup: u-1
    (good,) = backups.list_backups(cat)
    two_days_ago = time.time() - 2 * 86400
    good = good.path.rename(backups.daily_path(cat, two_days_ago))
    os.utime(good, (two_days_ago, two_days_ago))
    _record(cat, "u-2")
    open_catalog(cat).close()  # the next daily backup: u-1, u-2; then it is damaged
    newer = next(b.path for b in backups.list_backups(cat) if b.path != good)
    _damage(newer)
    _record(cat, "u-3")
    _damage(cat)
    dbmod._checked.clear()
    return cat, good, newer


def _damaged(cat: Path) -> CatalogDamaged:
    with pytest.raises(CatalogDamaged) as err:
        open_catalog(cat)
    return err.value


def _button(dlg: QDialog, text: str) -> QPushButton:
    found = [b for b in dlg.findChildren(QPushButton) if b.text() == text]
    assert len(found) == 1, [b.text() for b in dlg.findChildren(QPushButton)]
    return found[0]


def _click_when_shown(text: str, seen: list[CatalogDamageDialog]) -> None:
    """Click `text` in the dialog once its exec() shows it (polls: the click happens inside exec's loop)."""
    def poll() -> None:
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, CatalogDamageDialog):
            QTimer.singleShot(20, poll)
            return
        seen.append(dlg)
        _button(dlg, text).click()
    QTimer.singleShot(0, poll)


def test_the_dialog_says_what_happened_and_restores_the_last_good_backup(qtbot, tmp_path: Path) -> None:
    cat, good, newer = _catalog_with_backups(tmp_path)
    damaged = cat.read_bytes()
    dlg = CatalogDamageDialog(_damaged(cat))
    qtbot.addWidget(dlg)
    dlg.show()
    assert "What happened: pages of it are damaged" in dlg.what.text()
    assert "no new catalog was made in its place" in dlg.what.text()
    items = [dlg.choice.itemText(i) for i in range(dlg.choice.count())]
    assert len(items) == 2 and newer.name in items[0] and good.name in items[1], "newest first"
    assert dlg.chosen() == good, "the newest backup is damaged: the one before it is chosen"
    assert dlg.choice.currentText() == f"last good: {when(good.stat().st_mtime)} (2 days ago), daily: {good.name}"
    assert str(cat) in [w.text() for w in dlg.findChildren(QLabel)]
    assert dlg.new_button is None, "with a good backup, no empty catalog is offered"
    _button(dlg, "Restore this backup").click()
    assert dlg.result() == QDialog.DialogCode.Accepted and dlg.done_what == RESTORED
    assert dlg.set_aside is not None and dlg.set_aside.read_bytes() == damaged, "the damaged file, kept aside"
    assert _offloads(cat) == ["u-1"] and good.exists()
    open_catalog(cat).close()


def test_quit_leaves_the_damaged_catalog_as_it_was(qtbot, tmp_path: Path) -> None:
    cat, _good, _newer = _catalog_with_backups(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    damaged = cat.read_bytes()
    seen: list[CatalogDamageDialog] = []
    _click_when_shown("Quit", seen)
    assert check_at_start(cat) is False
    assert len(seen) == 1
    assert cat.read_bytes() == damaged
    assert not [n for n in os.listdir(tmp_path) if n not in before and not n.endswith(("-wal", "-shm"))]


def test_check_at_start_restores_then_goes_on(qtbot, tmp_path: Path) -> None:
    cat, good, _newer = _catalog_with_backups(tmp_path)
    seen: list[CatalogDamageDialog] = []
    _click_when_shown("Restore this backup", seen)
    assert check_at_start(cat) is True
    assert len(seen) == 1 and seen[0].done_what == RESTORED and seen[0].chosen() == good
    assert _offloads(cat) == ["u-1"]
    assert list(tmp_path.glob("catalog.sqlite.damaged-*")), "the damaged file kept"


def test_a_backup_that_cannot_be_restored_is_said_and_nothing_changes(qtbot, tmp_path: Path) -> None:
    cat, _good, newer = _catalog_with_backups(tmp_path)
    damaged = cat.read_bytes()
    dlg = CatalogDamageDialog(_damaged(cat))
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.choice.setCurrentIndex(dlg.choice.findData(str(newer)))
    _button(dlg, "Restore this backup").click()
    assert dlg.isVisible() and dlg.done_what == "", "still open: choose another or quit"
    assert "cannot be restored: it is damaged" in dlg.status.text() and "Nothing was changed" in dlg.status.text()
    assert cat.read_bytes() == damaged and not list(tmp_path.glob("*.damaged-*"))
    dlg.reject()


def test_without_a_good_backup_a_new_catalog_only_on_an_explicit_click(qtbot, tmp_path: Path) -> None:
    cat = tmp_path / "catalog.sqlite"
    _record(cat, "u-1")
    _damage(cat)
    damaged = cat.read_bytes()
    err = _damaged(cat)
    assert err.backup is None
    seen: list[CatalogDamageDialog] = []
    _click_when_shown("Set it aside and start a new, empty catalog", seen)
    assert check_at_start(cat) is True
    (dlg,) = seen
    assert dlg.restore_button is None and dlg.done_what == STARTED_NEW
    assert "There is no backup of it beside it" in " ".join(w.text() for w in dlg.findChildren(QLabel))
    assert dlg.set_aside is not None and dlg.set_aside.read_bytes() == damaged
    assert _offloads(cat) == [], "a new catalog, made only because it was asked for"


def test_a_healthy_catalog_shows_no_dialog(qtbot, tmp_path: Path) -> None:
    cat = tmp_path / "catalog.sqlite"
    _record(cat, "u-1")
    asked: list[CatalogDamaged] = []

    def ask(_parent: object, error: CatalogDamaged) -> tuple[str, bool]:
        asked.append(error)
        return "", False

    assert check_at_start(cat, ask=ask) is True and asked == []
    assert _offloads(cat) == ["u-1"]
    first = tmp_path / "first.sqlite"
    assert check_at_start(first, ask=ask) is True and asked == []  # a first start: a new catalog
    assert _offloads(first) == []


def test_the_window_on_a_damaged_catalog_asks_first_and_quit_starts_nothing(qtbot, tmp_path: Path) -> None:
    """gui.app.main checks the catalog before the window exists: the dialog comes first, and Quit ends the
    start with exit 2 and the file as it was (no window, no catalog written)."""
    from datawrangler.gui import app as gapp

    cat, _good, _newer = _catalog_with_backups(tmp_path)
    damaged = cat.read_bytes()
    seen: list[CatalogDamageDialog] = []
    _click_when_shown("Quit", seen)
    assert gapp.main(["datawrangler"], catalog=str(cat)) == 2
    assert len(seen) == 1
    assert cat.read_bytes() == damaged
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible() and not isinstance(w, QDialog)]
