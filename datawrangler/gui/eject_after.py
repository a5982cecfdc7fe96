"""The window's side of the preset's "Eject the card once it is safe to format" (`Preset.eject_after`).

`EjectAfter` listens to `Controller.offload_ended`. When an offload ended SAFE TO FORMAT (every file verified
on the required number of distinct drives) and the current preset says eject_after, it looks up the mounted
volume at the card's path and ejects it on a worker (`Bridge.run`: the mount table, `blkid` and the eject
tool are I/O). Never after a failed, cancelled or not-yet-safe offload. A plain folder (or a folder inside a
volume) is not ejected: it says so once per folder. The result reaches the user through `Messages` and the
card's row (`CardRow.eject`).

`ejector` and `find_volume` are injectable, like `AutoOffloader(ejector=...)`: tests pass recording fakes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QObject

from datawrangler.core.events import OffloadState
from datawrangler.gui.controller import Controller
from datawrangler.gui.messages import is_known
from datawrangler.gui.models.cards import EjectMark
from datawrangler.gui.models.queue import QueueItem
from datawrangler.gui.theme import Status
from datawrangler.platform import EjectResult, Volume, eject, volume_at

log = logging.getLogger(__name__)

Ejector = Callable[[Volume], EjectResult]
FindVolume = Callable[[str], "Volume | None"]

WHAT_TO_DO = "close files open on the card, then eject it from the desktop"


@dataclass(frozen=True)
class EjectReport:
    path: str
    volume: Volume | None  # None: no volume is mounted at the path
    result: EjectResult | None  # None: nothing was ejected
    gone: bool = False  # the path no longer exists (the card was pulled already)


def eject_card(path: str, find_volume: FindVolume, ejector: Ejector) -> EjectReport:
    """Runs on a worker: find the volume mounted at the card's path and eject it."""
    volume = find_volume(path)
    if volume is None:
        return EjectReport(path, None, None, gone=not os.path.exists(path))
    return EjectReport(path, volume, ejector(volume))


def should_eject(item: QueueItem, eject_after: bool) -> bool:
    """Only a card that ended SAFE TO FORMAT, and only when the preset asks for it. A RELEASED card (stage 1
    of a cascading copy verified, stage 2 not yet) is not safe to format: it is ejected when its stage 2 ends
    safe, if the window knows the card (a stage-2 job reads a stage-1 drive, never the card: without the
    card's path there is nothing to eject)."""
    o = item.outcome
    return (eject_after and item.status is Status.SAFE and o is not None and o.safe
            and o.result.state is OffloadState.VERIFIED and bool(eject_path(item)))


def eject_path(item: QueueItem) -> str:
    """The card an offload read: its path in the window, else its request's source. For stage 2 the source is
    a stage-1 roll folder on a destination drive, which is never ejected."""
    if item.stage == 2:
        return item.card_path
    return item.card_path or item.request.source


class EjectAfter(QObject):
    def __init__(self, controller: Controller, *, ejector: Ejector = eject, find_volume: FindVolume = volume_at,
                 parent: QObject | None = None) -> None:
        super().__init__(parent if parent is not None else controller)  # lives as long as the controller
        self.controller = controller
        self.ejector = ejector
        self.find_volume = find_volume
        self._told_folder: set[str] = set()
        controller.offload_ended.connect(self._ended)

    @classmethod
    def of(cls, controller: Controller) -> EjectAfter | None:
        """The one attached to this controller (app.make_controller attaches it), if any."""
        return controller.findChild(cls)

    def _ended(self, item: QueueItem) -> None:
        if not should_eject(item, bool(self.controller.preset.eject_after)):
            return
        path = eject_path(item)
        # long=True: a hung eject tool (up to its 60 s timeout) must not hold a thread the catalog reads need
        self.controller.bridge.run(eject_card, path, self.find_volume, self.ejector, long=True,
                                   on_done=partial(self._done, item), on_error=partial(self._failed, item))

    def _done(self, item: QueueItem, report: EjectReport) -> None:
        messages, label = self.controller.messages, item.label
        if report.result is None:
            if report.gone:
                log.info("%s: not ejected, %s is gone already", label, report.path)
            elif report.path not in self._told_folder:
                self._told_folder.add(report.path)
                messages.info(f"{label} is a folder, not a mounted card: it is not ejected. (The preset ejects "
                              "cards once they are safe to format.)", "not_ejected")
            return
        r = report.result
        if r.ok:
            log.info("%s: %s", label, r.message)
            messages.info(f"{label} ejected: you can remove the card.", "ejected")
        else:
            messages.warning(f"{label} is safe to format but was not ejected. {r.message}", "eject_failed")
        self._mark(item, r.ok, r.message)

    def _failed(self, item: QueueItem, exc: BaseException) -> None:
        if not is_known(exc):  # a bug: the crash dialog, with the log
            self.controller.messages.bug(exc)
            return
        text = f"Could not eject {item.label} ({exc}): {WHAT_TO_DO}."
        self.controller.messages.warning(f"{item.label} is safe to format but was not ejected. {text}", "eject_failed")
        self._mark(item, False, text)

    def _mark(self, item: QueueItem, ok: bool, message: str) -> None:
        self.controller.cards.update(item.card_path, eject=EjectMark(item.id, ok, message))
