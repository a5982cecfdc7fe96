"""Telling the user an offload ended when they are not looking: a tray message and a sound (different for
a failure), and the overall progress in the window title."""

from __future__ import annotations

import importlib.resources
import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget

from datawrangler.gui.bridge import Bridge
from datawrangler.gui.models.queue import QueueItem, released_text
from datawrangler.gui.theme import Status, app_icon

SOUNDS = {"done": "done.wav", "failed": "failed.wav"}


def sound_path(kind: str) -> Path | None:
    try:
        p = importlib.resources.files("datawrangler.resources").joinpath("sounds", SOUNDS[kind])
        return Path(str(p)) if p.is_file() else None
    except (ModuleNotFoundError, FileNotFoundError, KeyError):
        return None


def play(kind: str) -> bool:
    """Play a sound (on a worker: it may block for its length). False when nothing could play it."""
    path = sound_path(kind)
    if path is None:
        return False
    if sys.platform == "darwin":
        players = [["afplay", str(path)]]
    elif sys.platform.startswith("win"):
        import winsound  # type: ignore[import-not-found]

        winsound.PlaySound(str(path), winsound.SND_FILENAME)
        return True
    else:
        players = [["paplay", str(path)], ["aplay", "-q", str(path)], ["pw-play", str(path)]]
    for cmd in players:
        if shutil.which(cmd[0]):
            try:
                return subprocess.run(cmd, capture_output=True, timeout=10, check=False).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                continue
    return False


class Notifier(QObject):
    def __init__(self, bridge: Bridge, window: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.window = window
        self.sound = True
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(app_icon(), self)
            self.tray.setToolTip("DataWrangler")
            self.tray.show()
        self.sent: list[tuple[str, str, bool]] = []  # (title, text, failure): what was said, for tests

    def offload_ended(self, item: QueueItem) -> None:
        failure = item.status in (Status.FAILED, Status.INTERRUPTED)
        if item.status is Status.SAFE:
            title, text = f"{item.label}: SAFE TO FORMAT", "Every file verified on every destination."
        elif item.status is Status.RELEASED:
            title, text = f"{item.label}: RELEASED, not safe to format yet", released_text(item.stage2_to)
        elif item.status is Status.VERIFIED:
            title, text = f"{item.label}: verified, not safe to format", " ".join(
                item.outcome.reasons if item.outcome else ())
        elif item.status is Status.CANCELLED:
            title, text = f"{item.label}: cancelled", "Resume it from the queue."
        else:
            title, text = f"{item.label}: FAILED", item.error or (item.outcome.result.message if item.outcome else "")
        self.sent.append((title, text, failure))
        if self.tray is not None:
            icon = QSystemTrayIcon.MessageIcon.Critical if failure else QSystemTrayIcon.MessageIcon.Information
            self.tray.showMessage(title, text, icon, 8000)
        if self.sound:
            kind = "failed" if failure else "done"
            self.bridge.run(play, kind, on_done=lambda ok: ok or QApplication.beep(), on_error=lambda _e: None)
        if not self.window.isActiveWindow():
            QApplication.alert(self.window)

    def progress(self, running: int, fraction: float) -> None:
        base = "DataWrangler"
        title = f"{fraction * 100:.0f}% · {running} offload{'s' if running != 1 else ''} · {base}" if running else base
        self.window.setWindowTitle(title)
        if self.tray is not None:
            self.tray.setToolTip(title)

    def close(self) -> None:
        if self.tray is not None:
            self.tray.hide()
            self.tray.deleteLater()
            self.tray = None
