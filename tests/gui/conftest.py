"""GUI tests: offscreen, every test marked `gui`, and no test may leave a thread, a worker process or a window
open."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before any Qt import

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datawrangler.config import Settings
from datawrangler.core.presets import Preset
from datawrangler.gui.prefs import GuiPrefs, Profile

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.gui)
            # the offscreen platform says so for every shown window; nothing to fix on our side
            item.add_marker(pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"))


def _python_threads() -> set[threading.Thread]:
    # QThreadPool workers that ran Python show up as _DummyThread and are never removed: not ours to count
    return {t for t in threading.enumerate() if not isinstance(t, threading._DummyThread)}  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _no_leaks(qapp: object) -> Iterator[None]:
    from PySide6.QtWidgets import QApplication

    threads = _python_threads()
    windows = {id(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
    yield
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        extra = _python_threads() - threads
        if not extra:
            break
        time.sleep(0.05)
    assert not extra, f"threads left running: {sorted(t.name for t in extra)}"
    import multiprocessing

    procs = multiprocessing.active_children()  # offload worker processes (app.isolated); this also reaps them
    assert not procs, f"worker processes left running: {[p.name for p in procs]}"
    QApplication.processEvents()
    left = [w for w in QApplication.topLevelWidgets() if w.isVisible() and id(w) not in windows]
    assert not left, f"windows left open: {left}"


@pytest.fixture
def profile_with(tmp_path: Path) -> Callable[..., Profile]:
    def make(destinations: list[Path] | tuple[Path, ...] = (), **preset: object) -> Profile:
        p = Preset("Test", destinations=tuple(str(d) for d in destinations), template=str(preset.pop(
            "template", "{date}/{card}")), handoff=tuple(preset.pop("handoff", ("ascmhl",))), **preset)  # type: ignore[arg-type]
        return Profile(Settings(), (p,), GuiPrefs(last_preset="Test"))
    return make


class Env:
    """A window on a real bridge (real threads), its controller and messages; torn down cleanly."""

    def __init__(self, qtbot: object, profile: Profile, catalog: Path, window: bool = True) -> None:
        from datawrangler.gui.app import make_controller
        from datawrangler.gui.bridge import Bridge
        from datawrangler.gui.messages import Messages

        self.qtbot = qtbot
        self.messages = Messages()
        self.bridge = Bridge()
        self.catalog = catalog
        self.controller = make_controller(self.bridge, self.messages, profile, catalog, drive_refresh_ms=500)
        self.crashes: list[str] = []
        self.messages.crashed.connect(self.crashes.append)
        self.window = None
        if window:
            from datawrangler.gui.widgets.main_window import MainWindow

            self.window = MainWindow(self.controller)
            self.messages.crashed.disconnect(self.window.show_crash)  # no modal dialog in tests
            self.window._quitting = True  # no quit confirmation in tests unless a test asks for it
            qtbot.addWidget(self.window)  # type: ignore[attr-defined]
            self.window.show()

    def wait(self, cond: Callable[[], bool], timeout: int = 60_000) -> None:
        self.qtbot.waitUntil(cond, timeout=timeout)  # type: ignore[attr-defined]

    def card(self, path: Path | str) -> object:
        i = self.controller.cards.by_path(os.path.normpath(str(path)))
        return self.controller.cards.row(i) if i >= 0 else None

    def close(self) -> None:
        if self.window is not None:
            self.window._quitting = True
            self.window.close()
        self.controller.shutdown()
        assert self.bridge.shutdown(60_000), "workers did not finish"
        from PySide6.QtWidgets import QApplication

        QApplication.processEvents()
        assert not self.crashes, "a bug reached the crash dialog:\n" + "\n".join(self.crashes)


@pytest.fixture
def env(qtbot: object, tmp_path: Path) -> Iterator[Callable[..., Env]]:
    made: list[Env] = []

    def make(profile: Profile, window: bool = True) -> Env:
        e = Env(qtbot, profile, tmp_path / "catalog.sqlite", window)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()
