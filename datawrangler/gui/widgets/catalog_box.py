"""Settings → Catalog: where this station's catalog is (the file in the data folder, another file, or a
PostgreSQL server several stations share), a "Test connection" that says exactly what is wrong (host
unreachable, authentication failed, database missing, schema too new...), and "Create catalog" when the
database there holds none yet (or an older one). The check runs off the GUI thread: an unreachable host takes
seconds. The location is saved with the settings and used from the next start; DATAWRANGLER_CATALOG (or
--catalog) comes before it, which the box says when one is set. No password is ever shown: the check's words
name the server without it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from datawrangler.app.catalog import check_location, create_at
from datawrangler.config import CATALOG_ENV, app_paths
from datawrangler.gui.bridge import Bridge
from datawrangler.gui.widgets.panels import button

if TYPE_CHECKING:
    from datawrangler.store.server import ConnectionCheck


class CatalogBox(QWidget):
    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(f"this station's file: {app_paths().catalog_file}")
        self.edit.setToolTip("A catalog file, sqlite:///PATH, or postgresql://USER@HOST:PORT/DATABASE for a catalog "
                             "several stations share. Keep the password in ~/.pgpass (or PGPASSWORD) rather than in "
                             "the URL: the location is saved in the settings file as typed. Empty: the file in "
                             "DataWrangler's data folder.")
        self.test_btn = button("Test connection")
        self.create_btn = button("Create catalog")
        self.create_btn.hide()
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.hide()
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setProperty("role", "hint")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.test_btn)
        row.addWidget(self.create_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.result)
        lay.addWidget(self.note)
        self.test_btn.clicked.connect(self.test)
        self.create_btn.clicked.connect(self.create_catalog)
        self.edit.textChanged.connect(self._edited)
        self.busy = False
        self._say_note()

    def location(self) -> str:
        return self.edit.text().strip()

    def set_location(self, text: str) -> None:
        self.edit.setText(text)
        self._edited()

    def _say_note(self) -> None:
        env = os.environ.get(CATALOG_ENV, "").strip()
        text = "A change takes effect when DataWrangler starts again."
        if env:
            text += (f" {CATALOG_ENV} is set in this environment: the catalog it names comes before this setting "
                     "(and --catalog before both).")
        self.note.setText(text)

    def _edited(self) -> None:
        self.result.hide()
        self.create_btn.hide()

    def test(self) -> None:
        self._run(check_location, "Checking…")

    def create_catalog(self) -> None:
        self._run(create_at, "Creating the catalog…")

    def _run(self, fn: object, doing: str) -> None:
        if self.busy:
            return
        self.busy = True
        self.test_btn.setEnabled(False)
        self.create_btn.setEnabled(False)
        self._show(None, doing)
        self.bridge.run(fn, self.location(), on_done=self._checked, on_error=self._failed)  # type: ignore[arg-type]

    def _checked(self, check: ConnectionCheck) -> None:
        self._done()
        self._show(check.ok, check.message)
        self.create_btn.setVisible(check.can_create)

    def _failed(self, exc: BaseException) -> None:
        self._done()
        self._show(False, str(exc))

    def _done(self) -> None:
        self.busy = False
        self.test_btn.setEnabled(True)
        self.create_btn.setEnabled(True)

    def _show(self, ok: bool | None, text: str) -> None:
        mark = "" if ok is None else ("✓ " if ok else "✗ ")
        self.result.setText(mark + text)
        self.result.setStyleSheet("" if ok is None else ("color: #1e8449;" if ok else "color: #c0392b;"))
        self.result.show()
