"""The dock/taskbar entry: overall progress reaches the Unity LauncherEntry D-Bus signal that KDE Plasma,
Ubuntu Dock and others read; it goes away when nothing runs; a failure is urgent until the window is
activated; with no session bus nothing is sent and nothing is said. A private dbus-daemon per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import SLOT, QEvent, QObject, Slot
from PySide6.QtDBus import QDBusConnection
from PySide6.QtWidgets import QApplication, QWidget

from datawrangler.app.request import OffloadRequest
from datawrangler.gui.models.queue import QueueItem
from datawrangler.gui.taskbar import INTERFACE, TaskbarProgress
from datawrangler.gui.theme import Status

_names = count()


class Listener(QObject):
    """Every LauncherEntry.Update on the bus, as (app_uri, properties)."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[tuple[str, dict[str, Any]]] = []

    @Slot(str, "QVariantMap")
    def update(self, app_uri: str, props: dict[str, Any]) -> None:
        self.updates.append((app_uri, dict(props)))

    @property
    def last(self) -> dict[str, Any]:
        return self.updates[-1][1] if self.updates else {}


class Bus:
    def __init__(self, address: str) -> None:
        n = next(_names)
        self._names = (f"dw-test-sender-{n}", f"dw-test-listener-{n}")
        self.sender = QDBusConnection.connectToBus(address, self._names[0])
        listen = QDBusConnection.connectToBus(address, self._names[1])
        assert self.sender.isConnected() and listen.isConnected()
        self.listener = Listener()
        slot = SLOT("update(QString,QVariantMap)")  # a str at run time, though the stub says bytes
        assert listen.connect("", "", INTERFACE, "Update", self.listener, slot)  # type: ignore[call-overload]

    def close(self) -> None:
        for name in self._names:
            QDBusConnection.disconnectFromBus(name)


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[Bus]:
    if not shutil.which("dbus-daemon"):
        pytest.skip("needs dbus-daemon (apt-get install dbus) for a private session bus")
    daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert daemon.stdout is not None
    address = daemon.stdout.readline().strip()
    b = None
    try:
        assert address.startswith("unix:"), f"dbus-daemon printed no address ({address!r})"
        b = Bus(address)
        yield b
    finally:
        if b is not None:
            b.close()
        daemon.terminate()
        daemon.wait(10)
        daemon.stdout.close()


def test_overall_progress_reaches_the_launcher_entry_and_goes_away(env: Callable, profile_with: Callable,
                                                                   bus: Bus) -> None:
    e = env(profile_with())
    e.window.taskbar.bus = bus.sender  # the window's own wiring, on the private bus
    e.controller.progress_changed.emit(2, 0.4)
    e.wait(lambda: bus.listener.last.get("progress") == pytest.approx(0.4), 5000)
    uri, props = bus.listener.updates[-1]
    assert uri == "application://datawrangler.desktop"  # the file packaging/linux installs
    assert props["progress-visible"] is True and props["count"] == 2 and props["count-visible"] is True
    assert props["urgent"] is False
    assert e.window.windowTitle().startswith("40%")  # the title still says it too

    e.controller.progress_changed.emit(1, 0.75)
    e.wait(lambda: bus.listener.last.get("progress") == pytest.approx(0.75), 5000)
    assert bus.listener.last["count"] == 1

    e.controller.progress_changed.emit(0, 1.0)  # nothing runs
    e.wait(lambda: bus.listener.last.get("progress-visible") is False, 5000)
    assert bus.listener.last["count-visible"] is False


def test_a_real_offload_shows_and_then_hides_its_progress(env: Callable, profile_with: Callable, bus: Bus,
                                                          make_card: Callable, dest_dirs: Callable) -> None:
    e = env(profile_with(dest_dirs(2)))
    e.window.notifier.sound = False
    e.window.taskbar.bus = bus.sender
    card = make_card({"A001R2EC/A001C001_231014_R2EC.mov": 20_000_000, "SDINFO.TXT": 120}, name="A001R2EC")
    e.controller.add_source(str(card))
    e.wait(lambda: e.card(card) is not None and e.card(card).status is Status.NEW)
    item = e.controller.enqueue(str(card))
    assert item is not None
    e.wait(lambda: item.status in (Status.SAFE, Status.VERIFIED, Status.DONE, Status.FAILED), 60_000)
    e.wait(lambda: bus.listener.last.get("progress-visible") is False, 5000)
    shown = [p for _uri, p in bus.listener.updates if p["progress-visible"]]
    assert shown, "the running offload never showed on the launcher entry"
    assert all(p["count"] == 1 and 0.0 <= p["progress"] <= 1.0 for p in shown)


def _failed_item() -> QueueItem:
    return QueueItem("A002", OffloadRequest("/cards/A002R2EC", ()), status=Status.FAILED, error="card removed")


def test_a_failure_is_urgent_until_the_window_is_activated(qtbot: object, bus: Bus) -> None:
    window = QWidget()  # never shown, so never the active window
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    tb = TaskbarProgress(window, bus=bus.sender, badge=False)
    tb.progress(1, 0.5)
    tb.offload_ended(_failed_item())
    qtbot.waitUntil(lambda: bus.listener.last.get("urgent") is True, timeout=5000)  # type: ignore[attr-defined]
    tb.progress(0, 1.0)
    qtbot.waitUntil(lambda: bus.listener.last.get("progress-visible") is False, timeout=5000)  # type: ignore[attr-defined]
    assert bus.listener.last["urgent"] is True, "the failure stays marked after the queue ends"
    QApplication.sendEvent(window, QEvent(QEvent.Type.WindowActivate))
    qtbot.waitUntil(lambda: bus.listener.last.get("urgent") is False, timeout=5000)  # type: ignore[attr-defined]
    tb.close()


def test_closing_the_window_clears_the_entry(env: Callable, profile_with: Callable, bus: Bus) -> None:
    e = env(profile_with())
    e.window.taskbar.bus = bus.sender
    e.controller.progress_changed.emit(1, 0.3)
    e.wait(lambda: bus.listener.last.get("progress-visible") is True, 5000)
    e.window.close()
    e.wait(lambda: bus.listener.last.get("progress-visible") is False, 5000)
    assert bus.listener.last["count-visible"] is False


def test_without_a_session_bus_nothing_is_sent_or_said(tmp_path: Path) -> None:
    # its own process: this one may already hold a session bus connection, and Qt keeps the first one
    script = (
        "from PySide6.QtWidgets import QApplication, QWidget\n"
        "from datawrangler.gui.taskbar import TaskbarProgress\n"
        "app = QApplication([])\n"
        "w = QWidget()\n"
        "tb = TaskbarProgress(w, badge=True)  # the macOS/Windows path runs too\n"
        "assert tb.bus is None, tb.bus\n"
        "tb.progress(2, 0.5); tb.progress(0, 1.0); tb.close()\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY")}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(tmp_path))  # no $XDG_RUNTIME_DIR/bus either
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60,
                         check=False)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr
    assert run.stderr.strip() == "", f"it said something: {run.stderr}"
