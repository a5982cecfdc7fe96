"""The three panels that are always visible: Cards, Destinations, Queue."""

from __future__ import annotations

import dataclasses
import os

from PySide6.QtCore import QModelIndex, Qt, QUrl, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from datawrangler.core.protection import MEDIA_WORDS, MediaKind
from datawrangler.core.words import plural
from datawrangler.gui.controller import Controller
from datawrangler.gui.models.queue import ACTIVE
from datawrangler.gui.prefs import ROLES
from datawrangler.gui.theme import Status
from datawrangler.gui.widgets.delegates import ProgressDelegate, StatusDelegate


def table(model: object, status_col: int | None = None) -> QTableView:
    v = QTableView()
    v.setModel(model)  # type: ignore[arg-type]
    v.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    v.setAlternatingRowColors(True)
    v.setShowGrid(False)
    v.verticalHeader().setVisible(False)
    v.verticalHeader().setDefaultSectionSize(34)
    v.horizontalHeader().setHighlightSections(False)
    v.setWordWrap(False)
    v.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    if status_col is not None:
        v.setItemDelegateForColumn(status_col, StatusDelegate(v))
    return v


def button(text: str, *, primary: bool = False, danger: bool = False, tip: str = "") -> QPushButton:
    b = QPushButton(text)
    if primary:
        b.setProperty("primary", True)
    if danger:
        b.setProperty("danger", True)
    if tip:
        b.setToolTip(tip)
    return b


class CardsPanel(QGroupBox):
    """Every mounted or added card. Drop a folder on it to add it."""

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__("CARDS", parent)
        self.c = controller
        self.setAcceptDrops(True)
        self.view = table(controller.cards, status_col=4)
        h = self.view.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, w in ((1, 70), (2, 60), (3, 90)):
            h.resizeSection(col, w)
        h.resizeSection(4, 300)
        self.view.setIconSize(self.view.iconSize().expandedTo(self.view.iconSize().__class__(48, 24)))
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.doubleClicked.connect(self._double_clicked)
        self.empty = QLabel("Insert a card, drop a folder here, or click “Add folder…”.")
        self.empty.setProperty("role", "hint")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # the cascading copy: what RELEASED means for each released card, in words, where the DIT looks
        self.released = QLabel()
        self.released.setWordWrap(True)
        self.released.setProperty("role", "banner")
        self.released.setProperty("level", "released")
        # a studio's rule (3-2-1): per card, what is met and what is missing, in the words of core.protection
        self.rule = QLabel()
        self.rule.setWordWrap(True)
        self.rule.setProperty("role", "hint")
        self.add_btn = button("Add folder…", tip="Add a card or a folder to offload (or drop it here)")
        self.offload_btn = button("Offload ▶", primary=True, tip="Queue the selected cards (or every new card) "
                                  "to the destinations of the preset")
        self.forget_btn = button("Forget", tip="Remove the card from this list (nothing is deleted)")
        row = QHBoxLayout()
        row.addWidget(self.add_btn)
        row.addWidget(self.forget_btn)
        row.addStretch(1)
        row.addWidget(self.offload_btn)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view)
        lay.addWidget(self.empty)
        lay.addWidget(self.released)
        lay.addWidget(self.rule)
        lay.addLayout(row)
        self.add_btn.clicked.connect(self._add)
        self.offload_btn.clicked.connect(self.offload_selected)
        self.forget_btn.clicked.connect(self._forget)
        for sig in (controller.cards.rowsInserted, controller.cards.rowsRemoved, controller.cards.modelReset,
                    controller.cards.dataChanged):
            sig.connect(self._update)
        self.view.selectionModel().selectionChanged.connect(self._update)
        self._update()

    def _update(self, *_: object) -> None:
        rows = self.c.cards.rows
        self.empty.setVisible(not rows)
        self.view.setVisible(bool(rows))
        released = [f"⏏ {r.label}: {r.detail}" for r in rows if r.status is Status.RELEASED and r.detail]
        self.released.setText("\n".join(released))
        self.released.setVisible(bool(released))
        judged = [f"{'✓' if r.status is Status.SAFE else '✗'} {r.label} · rule {r.rule}: {r.judgement}"
                  for r in rows if r.rule and r.judgement]
        self.rule.setText("\n".join(judged))
        self.rule.setVisible(bool(judged))
        self.offload_btn.setEnabled(bool(self._targets()))
        self.forget_btn.setEnabled(bool(self._selected()))

    def _selected(self) -> list[str]:
        return [self.c.cards.row(i.row()).path for i in self.view.selectionModel().selectedRows()]

    def _targets(self) -> list[str]:
        ready = (Status.NEW, Status.KNOWN, Status.FAILED, Status.VERIFIED, Status.CANCELLED)
        sel = self._selected()
        rows = [r for r in self.c.cards.rows if (r.path in sel if sel else r.status is Status.NEW)]
        return [r.path for r in rows if r.status in ready]

    def offload_selected(self) -> None:
        for path in self._targets():
            self.c.enqueue(path)

    def _add(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a card or folder")
        if path:
            self.c.add_source(path)

    def _forget(self) -> None:
        for p in self._selected():
            self.c.forget_card(p)

    def _double_clicked(self, index: QModelIndex) -> None:
        row = self.c.cards.row(index.row())
        if row.status in (Status.NEW, Status.KNOWN):
            self.c.enqueue(row.path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if isinstance(url, QUrl) and url.isLocalFile():
                self.c.add_source(url.toLocalFile())
        event.acceptProposedAction()


class DestinationsPanel(QGroupBox):
    """The drives of the current preset, with free space (live) and the warnings."""

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__("DESTINATIONS", parent)
        self.c = controller
        self.view = table(controller.destinations, status_col=5)
        h = self.view.horizontalHeader()
        h.setSectionResizeMode(4, QHeaderView.ResizeMode.Interactive)
        h.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        for col, w in ((0, 110), (1, 120), (2, 80), (3, 80), (4, 160)):
            h.resizeSection(col, w)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setProperty("role", "banner")
        self.warning.setProperty("level", "warning")
        self.stage2 = QLabel()  # the cascading copy's second stage, edited in Settings
        self.stage2.setProperty("role", "hint")
        self.stage2.setWordWrap(True)
        self.add_btn = button("Add drive…", tip="Add a destination folder to the preset")
        self.remove_btn = button("Remove")
        self.role = QComboBox()
        self.role.addItems(ROLES)
        self.role.setToolTip("The role of the selected drive")
        self.media = QComboBox()  # what the drive is: a 3-2-1 rule counts kinds of media (store.volumes)
        self.media.addItem("kind not said", "")
        for kind in MediaKind:
            self.media.addItem(MEDIA_WORDS[kind], kind.value)
        self.media.setToolTip("What the selected drive is (shuttle, RAID, LTO...): a 3-2-1 rule needs copies on two "
                              "kinds of media, and a drive whose kind is not said never counts as another kind")
        row = QHBoxLayout()
        row.addWidget(self.add_btn)
        row.addWidget(self.remove_btn)
        row.addStretch(1)
        row.addWidget(QLabel("Role"))
        row.addWidget(self.role)
        row.addWidget(QLabel("Media"))
        row.addWidget(self.media)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view)
        lay.addWidget(self.warning)
        lay.addWidget(self.stage2)
        lay.addLayout(row)
        self.add_btn.clicked.connect(self._add)
        self.remove_btn.clicked.connect(self._remove)
        self.role.activated.connect(self._set_role)
        self.media.activated.connect(self._set_media)
        controller.destinations.dataChanged.connect(self._update)
        controller.destinations.modelReset.connect(self._update)
        controller.settings_changed.connect(self._update)
        self.view.selectionModel().selectionChanged.connect(self._update)
        self._update()

    def _update(self, *_: object) -> None:
        self.setTitle(f"DESTINATIONS · preset “{self.c.preset.name}”")
        warnings = self.c.destinations.warnings
        stage2 = self.c.preset.stage2
        n, need = len(self.c.destinations.rows), self.c.preset.protection.copies  # 3 for a 3-2-1 rule
        if not n:
            warnings = ["No destination drive yet: click “Add drive…” (two drives make a card safe to format)."]
        elif n + len(stage2) < need:  # stage-2 copies count toward safe to format
            warnings.append(f"{plural(n + len(stage2), 'drive')} in the preset, {need} copies required: cards will not "
                            "be safe to format.")
        self.warning.setText("⚠ " + "\n⚠ ".join(warnings) if warnings else "")
        self.warning.setVisible(bool(warnings))
        self.stage2.setText(f"⇢ Stage 2, once the card is released (from a verified copy above): {', '.join(stage2)}"
                            if stage2 else "")
        self.stage2.setVisible(bool(stage2))
        sel = self.view.selectionModel().selectedRows()
        self.remove_btn.setEnabled(bool(sel))
        self.role.setEnabled(bool(sel))
        first = self.c.destinations.row(sel[0].row()) if sel else None
        self.media.setEnabled(bool(first and first.info and first.info.present))
        if first is not None:
            self.role.setCurrentText(first.spec.role)
            self.media.setCurrentIndex(max(0, self.media.findData(first.info.media_kind if first.info else "")))

    def _edit(self, dests: tuple[str, ...], role: tuple[str, str] | None = None) -> None:
        profile = self.c.profile
        preset = dataclasses.replace(profile.preset, destinations=dests)
        if not dests and preset.auto_offload:
            preset = dataclasses.replace(preset, auto_offload=False)
        profile = profile.with_preset(preset)
        if role is not None:
            profile = dataclasses.replace(profile, gui=profile.gui.with_role(*role))
        self.c.apply_profile(profile, say="")

    def add_destination(self, path: str, role: str | None = None) -> None:
        dests = self.c.preset.destinations
        if any(os.path.normpath(d) == os.path.normpath(path) for d in dests):
            self.c.messages.warning(f"{path} is already a destination of this preset.")
            return
        self._edit((*dests, path), (path, role or ("primary" if not dests else "backup")))

    def _add(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a destination drive or folder")
        if path:
            self.add_destination(path)

    def _remove(self) -> None:
        sel = {i.row() for i in self.view.selectionModel().selectedRows()}
        self._edit(tuple(d for i, d in enumerate(self.c.preset.destinations) if i not in sel))

    def _set_media(self) -> None:
        kind = str(self.media.currentData() or "") or None
        for i in self.view.selectionModel().selectedRows():
            self.c.set_media_kind(self.c.destinations.row(i.row()).spec.path, kind)

    def _set_role(self) -> None:
        for i in self.view.selectionModel().selectedRows():
            self._edit(self.c.preset.destinations, (self.c.destinations.row(i.row()).spec.path,
                                                    self.role.currentText()))


class QueuePanel(QGroupBox):
    """One row per offload; pause, resume, cancel, retry."""

    selected_changed = Signal()

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__("QUEUE", parent)
        self.c = controller
        self.view = table(controller.queue, status_col=1)
        self.view.setItemDelegateForColumn(2, ProgressDelegate(self.view))
        h = self.view.horizontalHeader()
        for col, w in ((0, 170), (1, 320), (2, 100), (3, 170), (4, 70), (5, 90), (6, 60), (7, 300)):
            h.resizeSection(col, w)
        h.setStretchLastSection(True)
        self.pause_btn = button("Pause")
        self.resume_btn = button("Resume", tip="Resume a paused offload, or finish an interrupted one")
        self.cancel_btn = button("Cancel", danger=True)
        self.retry_btn = button("Retry failed", tip="Copy again only what is not verified yet")
        self.clear_btn = button("Clear finished")
        row = QHBoxLayout()
        for b in (self.pause_btn, self.resume_btn, self.cancel_btn, self.retry_btn):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.clear_btn)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view)
        lay.addLayout(row)
        self.pause_btn.clicked.connect(lambda: self._each(self.c.pause))
        self.resume_btn.clicked.connect(self._resume)
        self.cancel_btn.clicked.connect(lambda: self._each(self.c.cancel))
        self.retry_btn.clicked.connect(lambda: self._each(self.c.retry))
        self.clear_btn.clicked.connect(self._clear)
        for sig in (controller.queue.dataChanged, controller.queue.rowsInserted, controller.queue.rowsRemoved):
            sig.connect(self._update)
        self.view.selectionModel().selectionChanged.connect(self._update)
        self._update()

    def selected(self) -> list[int]:
        return [self.c.queue.row(i.row()).id for i in self.view.selectionModel().selectedRows()]

    def _items(self) -> list:
        ids = self.selected()
        return [q for q in self.c.queue.rows if q.id in ids]

    def _each(self, fn: object) -> None:
        for item_id in self.selected():
            fn(item_id)  # type: ignore[operator]

    def _resume(self) -> None:
        for q in self._items():
            if q.status is Status.PAUSED:
                self.c.resume(q.id)
            elif q.status in (Status.INTERRUPTED, Status.CANCELLED):
                self.c.retry(q.id)

    def _clear(self) -> None:
        for q in self.c.queue.rows:
            if q.status in (Status.SAFE, Status.RELEASED, Status.VERIFIED, Status.DONE, Status.CANCELLED) and \
                    q.offload_id is not None:
                self.c.remove(q.id)

    def _update(self, *_: object) -> None:
        items = self._items()
        self.pause_btn.setEnabled(any(q.status in (Status.COPYING, Status.VERIFYING, Status.PREPARING) for q in items))
        self.resume_btn.setEnabled(any(q.status in (Status.PAUSED, Status.INTERRUPTED, Status.CANCELLED)
                                       for q in items))
        self.cancel_btn.setEnabled(any(q.status in (*ACTIVE, Status.QUEUED) for q in items))
        self.retry_btn.setEnabled(any(q.status is Status.FAILED for q in items))
        self.clear_btn.setEnabled(any(q.status in (Status.SAFE, Status.RELEASED, Status.VERIFIED, Status.CANCELLED)
                                      for q in self.c.queue.rows))
