"""Screenshots of the main states for docs/ (run as root under Xvfb: it mounts small tmpfs "drives").

    Xvfb :99 -screen 0 1600x1000x24 &  DISPLAY=:99 .venv/bin/python tests/gui/make_screenshots.py docs/

Not a test: it builds cards, mounts two tmpfs drives (so the copies are on distinct volumes and a card can
become SAFE TO FORMAT), and a small one that fills up, then grabs the window in each state.

Its working folder (about 2 GB of cards) and the tmpfs mounts are removed at the end, also when it fails,
is interrupted (Ctrl-C) or is sent SIGTERM/SIGHUP.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

# Each offload runs in a spawned process (app.isolated) that imports this script again, as __mp_main__: only
# the script itself makes the working folder and cleans up; a child keeps the DATAWRANGLER_HOME it inherited.
IS_SCRIPT = __name__ == "__main__"
ROOT = Path(tempfile.mkdtemp(prefix="dwshots-")) if IS_SCRIPT else Path(os.environ.get("DATAWRANGLER_HOME", ".")).parent
mounts: list[Path] = []


def cleanup() -> None:
    """Unmount the tmpfs drives (lazily when busy), then remove the working folder; safe to call twice."""
    while mounts:
        m = mounts.pop()
        if subprocess.run(["umount", str(m)], check=False, capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(m)], check=False)
    still = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()
             if line.split()[1].startswith(str(ROOT) + "/")]
    if still:  # never delete through a mount that is still there
        print(f"left {ROOT}: still mounted under it: {still}", file=sys.stderr, flush=True)
        return
    shutil.rmtree(ROOT, ignore_errors=True)


def _signalled(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # so the finally and atexit clean up (in Qt's loop main() stops the loop)


if IS_SCRIPT:
    atexit.register(cleanup)  # also when an import below fails
    for _sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(_sig, _signalled)
    os.environ["DATAWRANGLER_HOME"] = str(ROOT / "home")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QTimer  # noqa: E402

from datawrangler.config import Settings  # noqa: E402
from datawrangler.core.presets import Preset  # noqa: E402
from datawrangler.gui.app import make_app  # noqa: E402
from datawrangler.gui.bridge import Bridge  # noqa: E402
from datawrangler.gui.controller import Controller  # noqa: E402
from datawrangler.gui.demo import _write, build_demo  # noqa: E402
from datawrangler.gui.messages import Messages  # noqa: E402
from datawrangler.gui.prefs import GuiPrefs, Profile  # noqa: E402
from datawrangler.gui.theme import Status  # noqa: E402
from datawrangler.gui.widgets.main_window import MainWindow  # noqa: E402

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")


def tmpfs(name: str, size: int) -> Path:
    p = ROOT / "drives" / name
    p.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(p)], check=True)
    mounts.append(p)
    return p


def main() -> int:
    app = make_app(["shots"])
    a, b = tmpfs("SHUTTLE_A", 3 << 30), tmpfs("SHUTTLE_B", 3 << 30)
    small = tmpfs("RAID_SMALL", 700 << 20)
    demo = build_demo(ROOT / "demo", size_mb=1500)
    second = ROOT / "media" / "B001RK2P"
    for i in range(4):
        _write(second / "B001RK2P" / f"B001C{i + 1:03d}_231014_RK2P.mov", 60_000_000 + i, 50 + i, 1_697_290_000.0)
    third = ROOT / "media" / "S001"
    for i in range(12):
        _write(third / "231014" / f"S001T{i + 1:03d}.WAV", 2_000_000, 80 + i, 1_697_290_000.0)
    fourth = ROOT / "media" / "C002R7QX"
    for i in range(5):
        _write(fourth / "C002R7QX" / f"C002C{i + 1:03d}_231014_R7QX.mov", 110_000_000 + i, 90 + i, 1_697_290_000.0)
    preset = Preset("Main unit", destinations=(str(a), str(b)), template="{project}/{date}/{card}",
                    project="Nightfall", day=14, handoff=("ascmhl",))
    failing = dataclasses.replace(preset, name="Overflow", destinations=(str(a), str(small)))
    gui = GuiPrefs(last_preset="Main unit", sound=False, roles=((str(a), "primary"), (str(b), "backup"),
                                                                (str(small), "backup")))
    profile = Profile(Settings(production="Nightfall", operator="Sam"), (preset, failing), gui)
    messages = Messages()
    bridge = Bridge()
    c = Controller(bridge, messages, profile)
    w = MainWindow(c)
    w.notifier.sound = False
    w.resize(1560, 960)
    w.show()
    steps: list[str] = []

    def shot(name: str) -> None:
        path = OUT / f"screenshot-{name}.png"
        w.grab().save(str(path), "PNG", 9)
        steps.append(name)
        print("saved", path, path.stat().st_size // 1024, "KB", flush=True)

    def when(cond, then, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
        import time

        t0 = time.monotonic()

        def poll() -> None:
            if cond():
                then()
            elif time.monotonic() - t0 > timeout:
                print("timed out waiting", then, flush=True)
                app.quit()
            else:
                QTimer.singleShot(50, poll)
        poll()

    def row(path: Path):  # type: ignore[no-untyped-def]
        i = c.cards.by_path(str(path))
        return c.cards.row(i) if i >= 0 else None

    def idle() -> None:
        for p in (demo.card, second, third):
            c.add_source(str(p))
        when(lambda: all(row(p) and row(p).status is Status.NEW for p in (demo.card, second, third)),
             lambda: QTimer.singleShot(700, lambda: (shot("idle"), copy())))

    def copy() -> None:
        c.enqueue(str(demo.card))
        c.enqueue(str(second))
        when(lambda: c.queue.row(0).event is not None and 0.3 < c.queue.row(0).fraction < 0.7,
             lambda: (shot("copying"), done()))

    def done() -> None:
        when(lambda: all(q.status in (Status.SAFE, Status.VERIFIED, Status.FAILED) for q in c.queue.rows),
             lambda: QTimer.singleShot(2500, lambda: (shot("safe"), fail())), 300)

    def fail() -> None:
        c.apply_profile(c.profile.select("Overflow"), say="")
        c.add_source(str(fourth))

        def go() -> None:
            item = c.enqueue(str(fourth))
            c.pause(item.id)

            def fill() -> None:
                st = os.statvfs(small)
                try:
                    with open(small / "other-job.bin", "wb") as f:
                        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - (60 << 20)))
                except OSError:
                    pass  # full already: that is the point
                c.resume(item.id)
                when(lambda: item.status in (Status.FAILED, Status.SAFE, Status.VERIFIED),
                     lambda: QTimer.singleShot(2500, lambda: (shot("failed"), finish())), 300)
            when(lambda: item.offload_id is not None, fill)
        when(lambda: row(fourth) is not None and row(fourth).status is Status.NEW, go)

    def finish() -> None:
        w.tabs.setCurrentWidget(w.history)
        w.history.apply()
        QTimer.singleShot(1500, lambda: (shot("history"), w.close(), app.quit()))

    w._quitting = True
    QTimer.singleShot(500, idle)
    stopped: list[str] = []

    def stop(why: str) -> None:
        stopped.append(why)
        app.quit()

    # In Qt's loop a signal, or an exception in a callback (which PySide6 only prints), ends the loop: the
    # workers finish and the drives are unmounted, rather than the script hanging with its drives mounted.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _f: stop(signal.Signals(signum).name))

    def on_error(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        sys.__excepthook__(kind, exc, tb)
        stop(f"{kind.__name__}: {exc}")

    sys.excepthook = on_error
    tick = QTimer()  # Python handles signals only when it runs: let it run a few times a second
    tick.timeout.connect(lambda: None)
    tick.start(200)
    try:
        app.exec()
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _signalled)
        tick.stop()
        w.close()
        c.shutdown()
        bridge.shutdown()  # the workers are done with the drives before they are unmounted
    if stopped:
        print("stopped:", *stopped, file=sys.stderr, flush=True)
        return 1
    return 0 if len(steps) == 5 else 1


if __name__ == "__main__":
    try:
        code = main()
    finally:
        cleanup()
    sys.exit(code)
