"""At start, a damaged catalog: what happened, its backups with the last good one chosen, and restoring it.

    if not check_at_start(catalog):   # before the controller and the window are made
        return 2                      # the user chose to quit: the damaged file is as it was

`check_at_start` opens the catalog once, as every front end does (store.db.open_catalog: the quick check of
the first open, a migration if one is due, the daily backup). A damaged catalog shows CatalogDamageDialog:
what happened, the file's path, its backups newest first with the last good one chosen, and "Restore this
backup" (the damaged file is moved aside, never deleted) or "Quit". Only when no good backup exists does it
offer "Set it aside and start a new, empty catalog", and only on that click: nothing is ever made empty in
the damaged file's place without being asked. Any other catalog problem (a newer version, a full disk while
migrating) is not the dialog's: the window starts and says it through its messages, as before.

The restore is a file copy on the GUI thread (44 MB, a 100,000-file catalog: well under a second) while
nothing else runs yet: the window does not exist.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from datawrangler.app.catalog import catalog_file, catalog_location
from datawrangler.core.words import when
from datawrangler.store import backups
from datawrangler.store.db import CatalogDamaged, CatalogError, is_server, open_catalog

log = logging.getLogger(__name__)

RESTORED, STARTED_NEW = "restored", "started new"


class CatalogDamageDialog(QDialog):
    """The catalog is damaged: restore a backup, or quit (or, without a good backup, start a new one)."""

    def __init__(self, error: CatalogDamaged, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.error = error
        self.done_what = ""  # RESTORED or STARTED_NEW once it is done
        self.set_aside: Path | None = None  # where the damaged file went
        self.setWindowTitle("DataWrangler: the catalog is damaged")
        self.setMinimumWidth(680)
        lay = QVBoxLayout(self)
        head = QLabel("<b>The catalog is damaged.</b> DataWrangler cannot record or list offloads until it is "
                      "repaired.")
        head.setWordWrap(True)
        lay.addWidget(head)
        where = QLabel(str(error.catalog))
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(where)
        self.what = QLabel(f"What happened: {error.what}. The file was left as it is: nothing was written to it, "
                           "and no new catalog was made in its place.")
        self.what.setWordWrap(True)
        self.what.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.what)
        self.backups = backups.list_backups(error.catalog)
        self.choice = QComboBox()
        buttons = QDialogButtonBox()
        self.restore_button: QPushButton | None = None
        self.new_button: QPushButton | None = None
        if error.backup is not None:
            lay.addWidget(QLabel("Restore a backup in its place (the damaged file is moved aside, not deleted):"))
            for b in self.backups:
                good = "last good: " if b.path == error.backup.path else ""
                self.choice.addItem(f"{good}{when(b.taken_at)} ({backups.age(b.taken_at)}), {b.kind}: {b.path.name}",
                                    str(b.path))
            self.choice.setCurrentIndex(self.choice.findData(str(error.backup.path)))
            lay.addWidget(self.choice)
            note = QLabel("Offloads recorded after the backup are not in it; their copies on the drives are not "
                          "affected. 'datawrangler import DRIVE' adds each drive's ASC MHL histories back.")
            note.setWordWrap(True)
            lay.addWidget(note)
            self.restore_button = buttons.addButton("Restore this backup", QDialogButtonBox.ButtonRole.AcceptRole)
            self.restore_button.setDefault(True)
            self.restore_button.clicked.connect(self.restore)
        else:
            none = (f"None of its {len(self.backups)} backups beside it can be read whole." if self.backups
                    else "There is no backup of it beside it.")
            text = QLabel(f"{none} If you have a copy of the catalog elsewhere, quit and run 'datawrangler catalog "
                          "restore PATH'. Otherwise set the damaged file aside (it is kept) and start a new, empty "
                          "catalog; 'datawrangler import DRIVE' then adds each drive's ASC MHL histories to it.")
            text.setWordWrap(True)
            lay.addWidget(text)
            self.new_button = buttons.addButton("Set it aside and start a new, empty catalog",
                                                QDialogButtonBox.ButtonRole.AcceptRole)
            self.new_button.clicked.connect(self.start_new)
        self.quit_button = buttons.addButton("Quit", QDialogButtonBox.ButtonRole.RejectRole)
        self.quit_button.clicked.connect(self.reject)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.status)
        lay.addWidget(buttons)
        self.adjustSize()

    def chosen(self) -> Path | None:
        data = self.choice.currentData()
        return Path(data) if data else None

    def restore(self) -> None:
        backup = self.chosen()
        if backup is None:
            return
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.set_aside = backups.restore(self.error.catalog, backup, reason="damaged")
        except backups.BackupFailed as exc:
            self._failed(f"⚠ {exc} Nothing was changed. Choose another backup, or quit.")
            return
        except OSError as exc:
            self._failed(f"⚠ {backup.name} could not be copied into place ({exc.strerror or exc}). Nothing was "
                         "changed. Free space on the catalog's disk, then try again, or quit.")
            return
        finally:
            QApplication.restoreOverrideCursor()
        log.warning("catalog %s restored from %s at start; the damaged file was moved to %s", self.error.catalog,
                    backup, self.set_aside)
        self.done_what = RESTORED
        self.accept()

    def start_new(self) -> None:
        try:
            self.set_aside = backups.set_aside(self.error.catalog, "damaged")
        except OSError as exc:
            self._failed(f"⚠ The damaged catalog could not be moved aside ({exc.strerror or exc}). Nothing was "
                         "changed. Check that its folder is writable, or quit.")
            return
        log.warning("damaged catalog %s moved to %s at start; a new catalog begins", self.error.catalog,
                    self.set_aside)
        self.done_what = STARTED_NEW
        self.accept()

    def _failed(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #ffb3ad;")

    @classmethod
    def ask(cls, parent: QWidget | None, error: CatalogDamaged) -> tuple[str, bool]:
        """(what was done: RESTORED / STARTED_NEW, accepted); not accepted: the user chose to quit."""
        dlg = cls(error, parent)
        try:
            ok = dlg.exec() == QDialog.DialogCode.Accepted
            return dlg.done_what, ok
        finally:
            dlg.deleteLater()


Ask = Callable[[QWidget | None, CatalogDamaged], tuple[str, bool]]


def check_at_start(catalog: str | os.PathLike[str] | None, parent: QWidget | None = None,
                   ask: Ask = CatalogDamageDialog.ask) -> bool:
    """Open the catalog once before the window exists. True: go on starting (the catalog is fine, was
    restored or started anew, or has a problem the window's messages will say); False: the user chose to quit
    with the damaged catalog as it was."""
    where = catalog_location(catalog)
    if is_server(where):  # a server's catalog is not a file that can be damaged: its problems are said where it is used
        return True
    path = catalog_file(where)
    while True:
        try:
            open_catalog(path).close()
            return True
        except CatalogDamaged as exc:
            log.error("%s", exc)
            _, accepted = ask(parent, exc)
            if not accepted:
                return False
        except CatalogError as exc:  # not damage: the window says it where it uses the catalog
            log.warning("%s", exc)
            return True
