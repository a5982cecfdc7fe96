"""The application: QApplication, dark theme, logging to a file, bugs to the crash dialog, `main(argv)`.

Startup order: logging, the profile (settings + presets; file I/O before the event loop runs), the
window, the source monitor, the resumable offloads, then what in the settings files could not be used (the
window starts anyway with the defaults for it: gui.startup_notes). Quit: the window confirms when offloads run, cancels
them, the workers finish, then the profile (geometry, last preset) is saved after the loop ends.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import logging.handlers
import os
import queue
import shutil
import sys
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from datawrangler import __version__
from datawrangler.app.catalog import catalog_location
from datawrangler.config import HOME_ENV, app_paths
from datawrangler.gui.bridge import Bridge
from datawrangler.gui.catalog_damage import check_at_start
from datawrangler.gui.controller import Controller
from datawrangler.gui.eject_after import EjectAfter
from datawrangler.gui.messages import Messages
from datawrangler.gui.prefs import Profile, save_profile
from datawrangler.gui.sources import make_monitor
from datawrangler.gui.startup_notes import show_startup_notes, startup_profile
from datawrangler.gui.taskbar import DESKTOP_FILE_NAME
from datawrangler.gui.theme import Status, app_icon, apply_dark

log = logging.getLogger("datawrangler.gui")


def setup_logging() -> tuple[str, logging.handlers.QueueListener | None]:
    """Log to <log dir>/datawrangler.log through a queue: the GUI thread never writes the file itself."""
    folder = app_paths().log_dir
    path = folder / "datawrangler.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3,
                                                                        encoding="utf-8")
    except OSError:
        return "", None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    q: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(q, handler)
    root = logging.getLogger()
    root.addHandler(logging.handlers.QueueHandler(q))
    root.setLevel(logging.INFO)
    listener.start()
    return str(path), listener


def stop_logging(listener: logging.handlers.QueueListener | None) -> None:
    """The log's end: what is queued is written, the file closed, the root logger's queue handler removed."""
    if listener is None:
        return
    listener.stop()
    for handler in listener.handlers:
        handler.close()
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, logging.handlers.QueueHandler) and h.queue is listener.queue:
            root.removeHandler(h)


def install_excepthooks(messages: Messages, bridge: Bridge) -> None:
    """Any uncaught exception, on the GUI thread or a worker, is a bug: the crash dialog shows it."""
    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        exc.__traceback__ = tb
        if QThread.currentThread() is QApplication.instance().thread():  # type: ignore[union-attr]
            messages.bug(exc)
        else:
            bridge.call_soon(messages.bug, exc)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            hook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = hook
    threading.excepthook = thread_hook


def make_app(argv: Sequence[str]) -> QApplication:
    app = QApplication.instance() or QApplication(list(argv))
    assert isinstance(app, QApplication)
    app.setApplicationName("DataWrangler")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("DataWrangler")
    # Wayland docks match the window to packaging/linux/datawrangler.desktop by this name (taskbar progress)
    app.setDesktopFileName(DESKTOP_FILE_NAME)
    app.setWindowIcon(app_icon())
    apply_dark(app)
    return app


def parse(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="datawrangler gui")
    p.add_argument("--demo", action="store_true", help="a synthetic card and two destination folders")
    p.add_argument("--demo-size", type=int, default=300, metavar="MB")
    p.add_argument("--start", action="store_true", help="demo: start the offload at once")
    p.add_argument("--catalog", help="the catalog: a file, or postgresql://USER@HOST/DATABASE (default: "
                   "DATAWRANGLER_CATALOG, the settings' catalog, else the file in the data folder)")
    args, _qt = p.parse_known_args(list(argv)[1:])
    return args


def main(argv: Sequence[str] | None = None, *, demo: bool = False, demo_size: int = 300, start: bool = False,
         catalog: str | None = None, quit_when_done: bool = False) -> int:
    argv = list(sys.argv if argv is None else argv)
    args = parse(argv)
    demo = demo or args.demo
    start = start or args.start
    demo_size = args.demo_size if args.demo else demo_size
    catalog = catalog or args.catalog
    demo_home = None
    home_before = os.environ.get(HOME_ENV)
    if demo:  # the demo keeps its own catalog, settings and log: its synthetic card never enters a real catalog
        import tempfile

        demo_home = tempfile.mkdtemp(prefix="datawrangler-demo-home-")
        os.environ[HOME_ENV] = demo_home
    # resolved once (--catalog, DATAWRANGLER_CATALOG, the settings, the data folder's file), after the demo's
    # home is set: every worker of the window then opens that location without reading the settings again
    catalog = catalog_location(catalog)
    log_path, listener = setup_logging()
    app = make_app(argv)
    if not demo and not check_at_start(catalog):  # a damaged catalog, and the user chose to quit: left as it was
        stop_logging(listener)
        return 2
    messages = Messages()
    bridge = Bridge()
    install_excepthooks(messages, bridge)
    profile, notes = startup_profile()
    from datawrangler.gui.widgets.main_window import MainWindow

    controller = make_controller(bridge, messages, profile, catalog)
    window = MainWindow(controller, log_path)
    window.show()
    if not demo:  # the demo watches its own folder, once it exists
        watch(controller, profile.settings.mount_roots, profile.gui.mount_roots_are_folders)
    controller.load_resumable()
    window.history.apply()
    show_startup_notes(window, messages, notes)  # last: the banner shows its summary
    if demo:
        start_demo(controller, demo_size, start)
    if quit_when_done:
        controller.offload_ended.connect(lambda _item: _quit_if_done(app, controller))
    log.info("DataWrangler %s started", __version__)
    code = app.exec()
    controller.shutdown()
    bridge.shutdown()
    final = dataclasses.replace(controller.profile,
                                gui=dataclasses.replace(controller.profile.gui, geometry=window.geometry_text()))
    with contextlib.suppress(Exception):  # the loop has ended: this I/O blocks nobody
        save_profile(final)
    window.deleteLater()
    stop_logging(listener)
    if demo_home is not None:  # the demo's own catalog, settings and log: synthetic, like its card
        shutil.rmtree(demo_home, ignore_errors=True)
        if home_before is None:
            del os.environ[HOME_ENV]
        else:
            os.environ[HOME_ENV] = home_before
    return code


def make_controller(bridge: Bridge, messages: Messages, profile: Profile, catalog: str | os.PathLike[str] | None = None,
                    **options: Any) -> Controller:
    """The controller and what rides on its signals: ejecting a card once it is safe (gui.eject_after).
    `options` go to Controller (drive_refresh_ms, isolate)."""
    controller = Controller(bridge, messages, profile, catalog, **options)
    EjectAfter(controller)  # a child of the controller: it lives as long as the controller
    return controller


def _quit_if_done(app: QApplication, controller: Controller) -> None:
    """--quit-when-done: once nothing runs or waits, end the loop; exit 0 only if every offload verified."""
    rows = controller.queue.rows
    if any(q.running or q.status is Status.QUEUED for q in rows):
        return
    ok = bool(rows) and all(q.status in (Status.VERIFIED, Status.SAFE, Status.RELEASED) for q in rows)
    log.info("every offload ended (%s): closing (--quit-when-done)", "all verified" if ok else "not all verified")
    app.exit(0 if ok else 1)


def watch(controller: Controller, roots: Sequence[str], folders: bool = False) -> None:
    try:
        controller.watch(make_monitor(roots, folders=folders))
    except OSError as exc:
        controller.messages.warning(f"Cards are not detected automatically ({exc}). Add them with “Add folder…”.")


def start_demo(controller: Controller, size_mb: int, start: bool) -> None:
    from datawrangler.core.presets import Preset
    from datawrangler.gui.demo import DemoSetup, build_demo

    controller.messages.info(f"Building a demo camera card ({size_mb} MB) and two destination drives…")

    def ready(setup: DemoSetup) -> None:
        preset = Preset("Demo", destinations=tuple(str(d) for d in setup.destinations), template="{date}/{card}",
                        project="Demo", day=1, handoff=("ascmhl",), auto_offload=start)
        profile = controller.profile.with_preset(preset)
        profile = dataclasses.replace(profile, settings=dataclasses.replace(
            profile.settings, mount_roots=(str(setup.root / "media"),)))
        gui = profile.gui
        for d, role in zip(setup.destinations, ("primary", "backup"), strict=True):
            gui = gui.with_role(str(d), role)
        profile = dataclasses.replace(profile, gui=gui)
        controller.apply_profile(profile, say="")
        watch(controller, (str(setup.root / "media"),), folders=True)
        controller.messages.info(f"Demo ready in {setup.root}: card A001R2EC and drives SHUTTLE_A, SHUTTLE_B. "
                                 "Click “Offload ▶” to copy and verify it. (The demo drives are two folders on "
                                 "one disk, so they count as one copy: the card ends verified, not safe to "
                                 "format. With two real drives it ends SAFE TO FORMAT.)")

    controller.bridge.run(build_demo, None, size_mb, on_done=ready,
                          on_error=lambda e: controller.messages.exception(e, "Demo"))
