"""The Clips tab: the clips of the card selected in Cards, or of the offload selected in History.

It shows what the catalog holds (read by the bridge, off the GUI thread), so it says so in a sentence when
there is nothing to list: no selection, a card not offloaded yet, or an offload whose clips were not read
(with the command that reads them). Whatever was asked last wins: a late answer to an earlier selection
is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QLineEdit, QVBoxLayout, QWidget

from datawrangler.gui import catalog_reads as reads
from datawrangler.gui.controller import Controller
from datawrangler.gui.models.cards import CardRow
from datawrangler.gui.models.clip_text import summary
from datawrangler.gui.models.clips import FORMAT, NAME, NOTES, THUMB, THUMB_SIZE, ClipFilter, ClipsModel
from datawrangler.gui.widgets.panels import table

NOTHING = "Select a card above, or an offload in History, to list its clips."


@dataclass(frozen=True)
class Subject:
    """What the tab lists: a card (by its path in Cards) or one offload (History)."""

    label: str
    card_path: str | None = None
    offload_id: int | None = None


class ClipsPanel(QWidget):
    title_changed = Signal(str)  # the tab's title: "Clips · A001R2EC"

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.c = controller
        self.model = ClipsModel(controller.bridge, self)
        self.proxy = ClipFilter(self)
        self.proxy.setSourceModel(self.model)
        self.subject: Subject | None = None
        self._gen = 0
        self.loading = False

        self.title = QLabel()
        bold = self.title.font()
        bold.setBold(True)
        self.title.setFont(bold)  # a font, not a style sheet: the label keeps following the palette
        self.search = QLineEdit(placeholderText="Search clip, reel, codec, camera, scene, take…")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(self.search.fontMetrics().horizontalAdvance(self.search.placeholderText()) + 40)
        self.summary = QLabel()
        self.summary.setProperty("role", "hint")
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addSpacing(12)
        head.addWidget(self.summary, 1)
        head.addWidget(self.search)

        self.view = table(self.proxy)
        self.view.setIconSize(THUMB_SIZE)
        self.view.verticalHeader().setDefaultSectionSize(THUMB_SIZE.height() + 4)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
        h = self.view.horizontalHeader()
        h.setStretchLastSection(False)
        h.setMaximumSectionSize(360)  # a long name or format takes its width, not the notes'
        for col in range(self.model.columnCount()):
            mode = QHeaderView.ResizeMode.Stretch if col == NOTES else QHeaderView.ResizeMode.ResizeToContents
            h.setSectionResizeMode(col, mode)
        h.setSectionResizeMode(THUMB, QHeaderView.ResizeMode.Fixed)
        h.resizeSection(THUMB, THUMB_SIZE.width() + 12)
        h.setSectionResizeMode(FORMAT, QHeaderView.ResizeMode.Interactive)  # set to its contents on each list
        self.empty = QLabel(NOTHING)
        self.empty.setProperty("role", "hint")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # the command to copy

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 4)
        lay.addLayout(head)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.empty, 1)
        self.search.textChanged.connect(self._search)
        controller.cards.dataChanged.connect(self._card_changed)
        self._ids: tuple[int | None, int | None, bool] | None = None  # the shown card's, as last resolved
        self._show_empty(NOTHING)

    # -- what to list

    def show_card(self, row: CardRow | None) -> None:
        """The clips of a card in Cards (every offload of it). None (no card selected any more) clears a
        card's list, not an offload's from History."""
        if row is not None:
            self._set(Subject(row.label, card_path=row.path))
        elif self.subject is None or self.subject.card_path is not None:
            self._set(None)

    def show_offload(self, offload_id: int) -> None:
        """The clips of one offload (History)."""
        self._set(Subject(f"offload {offload_id}", offload_id=offload_id))

    def refresh(self) -> None:
        """Read again what is shown (an offload ended: its clips may just have been read)."""
        self._set(self.subject, keep_list=True)

    def _card_ids(self, path: str) -> tuple[int | None, int | None, CardRow | None]:
        """The card's catalog id and its latest offload: the queue knows the offload it just made (a new card
        had no id when it was inspected), the inspection the offloads before."""
        i = self.c.cards.by_path(path)
        if i < 0:
            return None, None, None
        row = self.c.cards.row(i)
        offload_id = row.info.last_offload_id if row.info else None
        # (the queue's offload is newer than the inspection's: the card was offloaded since it was read)
        if row.queue_id is not None:
            q = self.c.queue.find(lambda item: item.id == row.queue_id)
            if q >= 0 and self.c.queue.row(q).offload_id is not None:
                offload_id = self.c.queue.row(q).offload_id
        return (row.info.card_id if row.info else None), offload_id, row

    def _set(self, subject: Subject | None, keep_list: bool = False) -> None:
        self._gen += 1
        self.subject = subject
        self.title_changed.emit(f"Clips · {subject.label}" if subject else "Clips")
        if subject is None:
            self.title.setText("")
            self.model.set_list(None)
            self._show_empty(NOTHING)
            return
        self.title.setText(subject.label)
        if not keep_list:
            self.model.set_list(None)
        gen = self._gen
        if subject.offload_id is not None:
            self._read(gen, reads.offload_clip_list, self.c.catalog, subject.offload_id)
            return
        assert subject.card_path is not None
        card_id, offload_id, row = self._card_ids(subject.card_path)
        self._ids = (card_id, offload_id, row is not None and row.info is None)
        if card_id is None and offload_id is None:
            scanning = row is not None and row.info is None
            self._show_empty(f"Reading {subject.label}…" if scanning else
                             f"{subject.label} has not been offloaded yet. Its clips are listed here once an "
                             "offload has copied and verified it (they are read from a verified copy, never "
                             "from the card).")
            return
        self._read(gen, reads.card_clip_list, self.c.catalog, card_id, offload_id)

    def _card_changed(self, *_: object) -> None:
        """The shown card was inspected, or offloaded: list it again once what identifies it has changed (not
        on every progress tick of its offload)."""
        if self.subject is None or self.subject.card_path is None:
            return
        card_id, offload_id, row = self._card_ids(self.subject.card_path)
        if (card_id, offload_id, row is not None and row.info is None) != self._ids:
            self.refresh()

    def _read(self, gen: int, fn: Callable[..., reads.ClipList], *args: object) -> None:
        self.loading = True
        if not self.model.rowCount():
            self._show_empty("Reading the catalog…")
        self.c.bridge.run(fn, *args, on_done=partial(self._got, gen),
                          on_error=partial(self._failed, gen))

    # -- answers

    def _got(self, gen: int, got: reads.ClipList) -> None:
        if gen != self._gen or self.subject is None:
            return
        self.loading = False
        if got.label and self.subject.offload_id is not None:
            self.title.setText(f"{got.label} · offload {self.subject.offload_id}")
        self.model.set_list(got)
        if not got.clips:
            self._show_empty(self._no_clips(got))
            return
        self.view.show()
        self.empty.hide()
        self.view.resizeColumnToContents(FORMAT)
        self._summarise()

    def _no_clips(self, got: reads.ClipList) -> str:
        assert self.subject is not None
        last = got.offloads[-1] if got.offloads else self.subject.offload_id
        command = f"datawrangler clips {last} --read" if last is not None else "datawrangler clips OFFLOAD --read"
        return (f"No clips of {self.subject.label} are in the catalog. Either its files hold no clip (no video, "
                "sound or image sequence), or the clips were not read: reading clips is off in Settings, or the "
                f"copies were not verified. To read them from a verified copy now, run: {command}")

    def _failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._gen:
            return
        self.loading = False
        self.model.set_list(None)
        self._show_empty(f"The clips could not be read from the catalog ({exc}). Select the card again to retry; "
                         "the Messages tab has the details.")
        self.c.messages.exception(exc, "Reading the clips")

    def _search(self, text: str) -> None:
        self.proxy.set_search(text)
        self._summarise()

    def _summarise(self) -> None:
        rows = self.model.rows
        if not rows:
            self.summary.setText("")
            return
        shown = self.proxy.rowCount()
        text = summary(rows, shown)
        if not shown:
            text += f" · no clip matches “{self.search.text().strip()}”"
        self.summary.setText(text)

    def _show_empty(self, sentence: str) -> None:
        self.empty.setText(sentence)
        self.empty.show()
        self.view.hide()
        self.summary.setText("")

    def shown_names(self) -> list[str]:
        """The clips as listed, in the view's order (tests, screenshots)."""
        return [str(self.proxy.index(i, NAME).data()) for i in range(self.proxy.rowCount())]
