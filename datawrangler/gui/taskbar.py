"""Overall progress where the desktop shell shows it: on the application's dock or taskbar entry.

- **Linux** (and other desktops with a D-Bus session bus): the Unity LauncherEntry API, the signal
  `com.canonical.Unity.LauncherEntry.Update(app_uri, properties)` on the session bus. KDE Plasma's task
  manager, GNOME's Ubuntu Dock / Dash to Dock, Plank and others draw `progress` as a bar on the icon,
  `count` as a badge, and `urgent` as a highlight (set here when an offload fails, cleared when the window
  is activated). The entry is named by the desktop file `packaging/linux/datawrangler.desktop` installs
  (`application://datawrangler.desktop`). With no session bus nothing is sent and nothing is said.
- **macOS**: `QGuiApplication.setBadgeNumber` puts the number of running offloads on the dock icon. A
  progress bar on the dock tile needs an NSDockTile content view (PyObjC): not done.
- **Windows**: `setBadgeNumber` shows the number of running offloads as an overlay on the taskbar button
  (Qt draws it with ITaskbarList3::SetOverlayIcon). The taskbar *progress bar* (ITaskbarList3::
  SetProgressValue) is not shown: Qt 6 has no API for it, and calling it through ctypes means calling a COM
  vtable slot by number, which nothing here tests (no Windows runner) and which crashes the process,
  mid-offload, if a slot is wrong. The percentage is in the window title, which the taskbar shows.

On Linux the count goes in the same LauncherEntry signal as the progress; `setBadgeNumber` is not called
there, because Qt would send a second Update of its own for the same entry.
"""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from datawrangler.gui.models.queue import QueueItem
from datawrangler.gui.theme import Status

try:
    from PySide6.QtDBus import QDBusConnection, QDBusMessage
except ImportError:  # a PySide6 build without QtDBus: no launcher entry, the rest still works
    QDBusConnection = QDBusMessage = None  # type: ignore[assignment,misc]

DESKTOP_FILE_NAME = "datawrangler"  # packaging/linux/datawrangler.desktop; also QGuiApplication.desktopFileName
INTERFACE = "com.canonical.Unity.LauncherEntry"
OBJECT_PATH = "/com/canonical/unity/launcherentry/datawrangler"
LAUNCHER_ENTRY = not sys.platform.startswith(("win", "darwin"))  # where the shell listens on D-Bus


def session_bus() -> Any:
    """The session bus, or None where there is none (or no QtDBus): the caller then sends nothing."""
    if QDBusConnection is None or not LAUNCHER_ENTRY:
        return None
    bus = QDBusConnection.sessionBus()
    return bus if bus.isConnected() else None


def _set_badge(number: int) -> None:
    """The number on the dock icon (macOS) or the taskbar button's overlay (Windows); 0 removes it."""
    app = QGuiApplication.instance()
    if isinstance(app, QGuiApplication):
        app.setBadgeNumber(number)


def launcher_properties(running: int, fraction: float, urgent: bool) -> dict[str, Any]:
    busy = running > 0
    return {"progress": min(1.0, max(0.0, float(fraction))) if busy else 0.0, "progress-visible": busy,
            "count": running, "count-visible": busy, "urgent": urgent}


class TaskbarProgress(QObject):
    """Shows `Controller.progress_changed` (running offloads, overall fraction) on the dock/taskbar entry
    of `window`; `offload_ended` marks a failure as urgent until the window is activated."""

    def __init__(self, window: QWidget, bus: Any = None, desktop_file: str = DESKTOP_FILE_NAME,
                 badge: bool = not LAUNCHER_ENTRY, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.bus = session_bus() if bus is None else bus  # a QDBusConnection; tests pass a private bus
        self.app_uri = f"application://{desktop_file}.desktop"
        self.badge = badge
        self.running = 0
        self.fraction = 0.0
        self.urgent = False
        self._sent: dict[str, Any] | None = None
        window.installEventFilter(self)

    def progress(self, running: int, fraction: float) -> None:
        if self.badge and running != self.running:
            _set_badge(running)
        self.running, self.fraction = running, fraction
        self._send()

    def offload_ended(self, item: QueueItem) -> None:
        if item.status in (Status.FAILED, Status.INTERRUPTED) and not self.window.isActiveWindow():
            self.urgent = True
            self._send()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.WindowActivate and self.urgent:
            self.urgent = False
            self._send()
        return False

    def close(self) -> None:
        """The entry back to a plain icon (the shell keeps the last state until the app leaves the bus)."""
        self.window.removeEventFilter(self)
        if self.badge and self.running:
            _set_badge(0)
        self.running, self.fraction, self.urgent = 0, 0.0, False
        self._send()

    def _send(self) -> None:
        if self.bus is None:
            return
        props = launcher_properties(self.running, self.fraction, self.urgent)
        if props == self._sent:
            return
        msg = QDBusMessage.createSignal(OBJECT_PATH, INTERFACE, "Update")
        msg.setArguments([self.app_uri, props])
        if self.bus.send(msg):
            self._sent = props
