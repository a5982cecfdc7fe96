"""The window's watch on a catalog that other stations share (a PostgreSQL server): every few seconds, off the
GUI thread, one cheap read (store.changes.last_change) says whether another station recorded something, and
whether the server answers at all.

- `changed`: the catalog holds something new (another station's offload began, ended, was resumed): the History
  tab reloads and the cards in the readers are judged again (the lab's RAID copy can make them safe).
- `online(bool, text)`: whether the catalog answers, with what to say when it does not, and how many results
  this station still keeps in its spool (app.spooled): until they are delivered no card is called safe on
  their strength, and the window says so. When the server answers again, the spool is delivered first.

A catalog in a file has no other writer than this station's own processes, whose ends the window hears: no
watch runs for it.
"""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QObject, QTimer, Signal

from datawrangler.app import spooled
from datawrangler.app.catalog import catalog_location, on_server
from datawrangler.gui.bridge import Bridge
from datawrangler.gui.jobs import open_db
from datawrangler.store.changes import last_change

log = logging.getLogger(__name__)

INTERVAL_MS = 10_000


def poll(catalog: str | os.PathLike[str] | None) -> tuple[int, int]:
    """Deliver what waits in the spool (when the server is back), then (the newest event id, results still
    spooled). Raises what opening the catalog raises when the server does not answer."""
    spooled.deliver(catalog)
    db = open_db(catalog)
    try:
        newest = last_change(db)
    finally:
        db.close()
    return newest, sum(w.results for w in spooled.waiting())


class CatalogWatch(QObject):
    changed = Signal()
    online = Signal(bool, str, str)  # answers, a short line for the status bar, the whole of what to say

    def __init__(self, bridge: Bridge, catalog: str | os.PathLike[str] | None, interval_ms: int = INTERVAL_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.catalog = catalog
        self.active = on_server(catalog)
        self._seen: int | None = None
        self._busy = False
        self._online: bool | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        if self.active:
            self.timer.start()

    def check(self) -> None:
        if self._busy or not self.active:
            return
        self._busy = True
        self.bridge.run(poll, self.catalog, on_done=self._polled, on_error=self._failed)

    def _polled(self, found: tuple[int, int]) -> None:
        self._busy = False
        newest, waiting = found
        where = catalog_location(self.catalog).split("@")[-1]
        if waiting:
            self._say(False, f"Catalog: {waiting} results wait to be delivered",
                      f"{waiting} results of this station wait to be delivered to the catalog server {where}; no card "
                      "is called safe to format on their strength until they are. They are delivered as soon as "
                      "the server takes them (or run 'datawrangler catalog deliver').")
        else:
            self._say(True, f"Catalog: {where} (shared)", f"The catalog on the server {where} answers.")
        if self._seen is not None and newest != self._seen:
            self.changed.emit()
        self._seen = newest

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        log.warning("the catalog server does not answer: %s", exc)
        self._say(False, "Catalog offline", f"The catalog server does not answer: {exc} Offloads go on: their "
                  "results wait on this station and no card is called safe on their strength until the server "
                  "has them.")

    def _say(self, ok: bool, short: str, text: str) -> None:
        if ok != self._online or not ok:
            self._online = ok
            self.online.emit(ok, short, text)
