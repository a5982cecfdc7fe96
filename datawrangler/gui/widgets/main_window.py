"""The main window: Cards, Destinations and Queue always visible; History, Reports, Settings and the
message log as tabs below. A banner under the header shows the latest message in its colour and words."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QModelIndex, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from datawrangler.core.words import plural
from datawrangler.gui.controller import Controller
from datawrangler.gui.dialogs import ConfirmQuit, CrashDialog
from datawrangler.gui.fmt import when
from datawrangler.gui.messages import Level, Message
from datawrangler.gui.notify import Notifier
from datawrangler.gui.taskbar import TaskbarProgress
from datawrangler.gui.theme import Status, app_icon
from datawrangler.gui.widgets.clips import ClipsPanel
from datawrangler.gui.widgets.history_tab import HistoryTab
from datawrangler.gui.widgets.panels import CardsPanel, DestinationsPanel, QueuePanel
from datawrangler.gui.widgets.reports_tab import ReportsTab
from datawrangler.gui.widgets.settings_tab import SettingsTab

LEVEL_WORD = {Level.INFO: "INFO", Level.SUCCESS: "OK", Level.WARNING: "WARNING", Level.ERROR: "ERROR"}


class MainWindow(QMainWindow):
    def __init__(self, controller: Controller, log_path: str = "") -> None:
        super().__init__()
        self.c = controller
        self.log_path = log_path
        self._quitting = False
        self.setWindowTitle("DataWrangler")
        self.setWindowIcon(app_icon())
        self.resize(1500, 940)

        title = QLabel("DataWrangler")
        title.setStyleSheet("font-size: 18px; font-weight: bold; letter-spacing: 1px;")
        self.preset_box = QComboBox()
        self.preset_box.setMinimumWidth(180)
        self.preset_box.setToolTip("The preset: destination drives, naming, hashes, verify mode")
        self.production = QLabel()
        self.production.setProperty("role", "hint")
        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(20)
        header.addWidget(self.production)
        header.addStretch(1)
        header.addWidget(QLabel("Preset"))
        header.addWidget(self.preset_box)

        self.banner = QLabel()
        self.banner.setProperty("role", "banner")
        self.banner.setWordWrap(True)
        self.banner.hide()

        self.cards = CardsPanel(controller)
        self.dests = DestinationsPanel(controller)
        self.queue = QueuePanel(controller)
        self.history = HistoryTab(controller)
        self.reports = ReportsTab(controller)
        self.settings = SettingsTab(controller)
        self.clips = ClipsPanel(controller)
        self.log = QListWidget()
        self.log.setAlternatingRowColors(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.log, "Messages")
        self.tabs.addTab(self.clips, "Clips")
        self.tabs.addTab(self.history, "History")
        self.tabs.addTab(self.reports, "Reports")
        self.tabs.addTab(self.settings, "Settings")

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.cards)
        top.addWidget(self.dests)
        top.setSizes([820, 680])
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(top)
        self.split.addWidget(self.queue)
        self.split.addWidget(self.tabs)
        self.split.setSizes([300, 230, 360])
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(10, 8, 10, 4)
        lay.addLayout(header)
        lay.addWidget(self.banner)
        lay.addWidget(self.split, 1)
        self.setCentralWidget(central)

        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.progress.setTextVisible(True)
        self.progress.setFormat("%p%")
        self.running_label = QLabel()
        self.progress.hide()
        self.state_label = QLabel("Ready.")
        self.statusBar().addWidget(self.state_label, 1)
        self.statusBar().addPermanentWidget(self.running_label)
        self.statusBar().addPermanentWidget(self.progress)
        # a catalog on a server: whether it answers, and results this station still holds for it (gui.catalog_watch)
        self.catalog_label = QLabel()
        self.catalog_label.hide()
        self._catalog_said = ""
        self.statusBar().addPermanentWidget(self.catalog_label)
        controller.catalog_watch.online.connect(self._catalog_online)

        self.notifier = Notifier(controller.bridge, self, self)
        self.notifier.sound = controller.profile.gui.sound
        self.taskbar = TaskbarProgress(self, parent=self)
        controller.messages.posted.connect(self.show_message)
        controller.messages.crashed.connect(self.show_crash)
        controller.bridge.failed.connect(controller.messages.exception)
        controller.offload_ended.connect(self.notifier.offload_ended)
        controller.offload_ended.connect(self.taskbar.offload_ended)
        controller.progress_changed.connect(self._progress)
        controller.settings_changed.connect(self._profile_changed)
        self.preset_box.activated.connect(self._preset_chosen)
        self.history.offload_selected.connect(self.reports.set_offload)
        # the Clips tab lists the card selected in Cards, or the offload selected in History (the last wins);
        # a click on a card brings the tab forward, a selection made in History leaves History in view
        self.cards.view.selectionModel().currentRowChanged.connect(self._card_selected)
        self.cards.view.clicked.connect(lambda _index: self.tabs.setCurrentWidget(self.clips))
        self.history.offload_selected.connect(self.clips.show_offload)
        self.clips.title_changed.connect(lambda text: self.tabs.setTabText(self.tabs.indexOf(self.clips), text))
        controller.history_changed.connect(self.clips.refresh)
        self._banner_timer = QTimer(self)
        self._banner_timer.setSingleShot(True)
        self._banner_timer.timeout.connect(self._fade_banner)
        self._profile_changed()
        self._restore()

    # -- messages: the one path ends here

    def show_message(self, msg: Message) -> None:
        word = LEVEL_WORD[msg.level]
        self.banner.setText(f"{word}  {msg.text}")
        self.banner.setProperty("level", msg.level.value)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)
        self.banner.show()
        if msg.level in (Level.INFO, Level.SUCCESS):
            self._banner_timer.start(15000)
        else:
            self._banner_timer.stop()  # warnings and errors stay until the next message
        item = QListWidgetItem(f"{when(msg.at, seconds=True)}  {word:<7}  {msg.text}")
        item.setForeground(Qt.GlobalColor.red if msg.level is Level.ERROR else
                           Qt.GlobalColor.yellow if msg.level is Level.WARNING else Qt.GlobalColor.lightGray)
        self.log.insertItem(0, item)
        while self.log.count() > 500:
            self.log.takeItem(self.log.count() - 1)
        self.state_label.setText(msg.text[:160])

    def _fade_banner(self) -> None:
        self.banner.hide()

    def show_crash(self, text: str) -> None:
        CrashDialog.ask(self, text, self.log_path)

    # -- state

    def _card_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.clips.show_card(self.c.cards.row(current.row()) if current.isValid() else None)

    def _progress(self, running: int, fraction: float) -> None:
        self.notifier.progress(running, fraction)
        self.taskbar.progress(running, fraction)
        self.progress.setVisible(bool(running))
        set_progress(self.progress, int(fraction * 100))
        self.running_label.setText(f"{running} offload{'s' if running != 1 else ''} running" if running else "")

    def _profile_changed(self) -> None:
        prof = self.c.profile
        self.preset_box.clear()
        self.preset_box.addItems([p.name for p in prof.presets])
        self.preset_box.setCurrentText(prof.preset.name)
        p = prof.preset
        bits = [x for x in (p.project or prof.settings.production, f"Day {p.day}" if p.day else "",
                            f"DIT {prof.settings.operator}" if prof.settings.operator else "",
                            f"{'+'.join(p.algorithms)} · verify {p.verify_mode} · "
                            + (f"rule {p.rule}" if p.rule else plural(p.copies_required, 'copy'))) if x]
        self.production.setText("   ·   ".join(bits))
        self.notifier.sound = prof.gui.sound

    def _preset_chosen(self) -> None:
        name = self.preset_box.currentText()
        if name and name != self.c.preset.name:
            self.c.apply_profile(self.c.profile.select(name), say=f"Preset “{name}” selected.")

    def _restore(self) -> None:
        geo = self.c.profile.gui.geometry
        if geo:
            self.restoreGeometry(QByteArray.fromBase64(geo.encode("ascii")))

    def geometry_text(self) -> str:
        return bytes(self.saveGeometry().toBase64().data()).decode("ascii")

    # -- quitting

    def closeEvent(self, event: QCloseEvent) -> None:
        running = len(self.c.queue.running)
        waiting = sum(q.stage == 2 and q.status is Status.QUEUED for q in self.c.queue.rows)
        if (running or waiting) and not self._quitting:
            ok, _ = ConfirmQuit.ask(self, running, **({"waiting": waiting} if waiting else {}))
            if not ok:
                event.ignore()
                return
        self._quitting = True
        self.c.shutdown()
        self.notifier.close()
        self.taskbar.close()
        event.accept()


    def _catalog_online(self, ok: bool, short: str, text: str) -> None:
        """The status bar says the shared catalog's state in a few words (the whole in its tooltip); a catalog
        that stops answering, or results that wait for it, are said once in Messages too."""
        self.catalog_label.setText(short if ok else f"⚠ {short}")
        self.catalog_label.setToolTip(text)
        self.catalog_label.setStyleSheet("" if ok else "color: #c0392b; font-weight: bold;")
        self.catalog_label.show()
        if not ok and text != self._catalog_said:
            self.c.messages.warning(text, "catalog_offline")
        self._catalog_said = "" if ok else text

def set_progress(bar: QProgressBar, value: int) -> None:
    """QProgressBar.setValue repaints at once (synchronously: ~7 ms of the GUI thread each time on a slow
    machine, with whatever else is dirty). With updates off, it only stores the value; update() then paints
    it with the next frame, together with the rest of the window."""
    if bar.value() == value:
        return
    bar.setUpdatesEnabled(False)
    bar.setValue(value)
    bar.setUpdatesEnabled(True)
    bar.update()

