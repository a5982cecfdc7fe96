"""Screenshots of the main states for docs/ (run as root under Xvfb: it mounts small tmpfs "drives").

    Xvfb :99 -screen 0 1600x1000x24 &  DISPLAY=:99 .venv/bin/python tests/gui/make_screenshots.py docs/

`--cascade` makes only the cascading copy's shots (a card RELEASED while its stage 2 waits, the preset
editor's Stage 2 destinations, the card SAFE TO FORMAT once stage 2 is verified, History's stages).

Not a test: it builds cards, mounts two tmpfs drives (so the copies are on distinct volumes and a card can
become SAFE TO FORMAT), and a small one that fills up, then grabs the window in each state. Last, the Clips
tab of a card whose clips are recorded as the clip step records them (with JPEG thumbnails), in the app's dark
theme and once more in a light palette (screenshot-clips-light.png: a check that the red stays legible, not
a theme the app offers).

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

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
OUT = Path(ARGS[0] if ARGS else "docs")
CASCADE_ONLY = "--cascade" in sys.argv[1:]
CASCADE_SHOTS = 3  # released, preset-stage2, stage2-safe


def tmpfs(name: str, size: int) -> Path:
    p = ROOT / "drives" / name
    p.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(p)], check=True)
    mounts.append(p)
    return p


def clip_card(root: Path) -> Path:
    """A002R3FD: eight ProRes clips, a DPX plate with three frames missing, an ARRIRAW sequence (whose
    metadata no open library reads): the card the Clips tab is shown with."""
    card = root / "media" / "A002R3FD"
    for i in range(8):
        _write(card / "A002R3FD" / f"A002C{i + 1:03d}_231014_R3FD.mov", 3_000_000 + i * 250_000, 200 + i,
               1_697_300_000.0)
    for n in range(1001, 1049):
        if n not in (1013, 1030, 1031):
            _write(card / "A002R3FD" / "VFX" / f"A002C009_PLATE.{n:07d}.dpx", 120_000, n, 1_697_300_000.0)
    for n in range(1, 25):
        _write(card / "A002R3FD" / "A002C010_231014_R3FD" / f"A002C010_231014_R3FD.{n:07d}.ari", 150_000, 3000 + n,
               1_697_300_000.0)
    return card


def frame_jpeg(path: Path, seed: int) -> None:
    """A dusk exterior as a camera thumbnail might show it (Pillow): sky, horizon, a light, a figure."""
    import random

    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    w, h = 320, 180
    img = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(img)
    top = (rnd.randint(10, 60), rnd.randint(20, 70), rnd.randint(60, 130))
    low = (rnd.randint(180, 240), rnd.randint(90, 150), 60)
    horizon = rnd.randint(95, 130)
    for y in range(horizon):
        t = y / horizon
        d.line([(0, y), (w, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, low, strict=True)))
    d.rectangle([0, horizon, w, h], fill=(22, 24, 28))
    for _ in range(6):  # buildings
        x = rnd.randint(0, w - 40)
        d.rectangle([x, horizon - rnd.randint(10, 60), x + rnd.randint(20, 60), horizon], fill=(30, 32, 38))
    x = rnd.randint(40, w - 40)
    d.ellipse([x - 9, horizon - 70, x + 9, horizon - 52], fill=(255, 236, 190))
    fx = rnd.randint(60, w - 60)
    d.ellipse([fx - 5, h - 62, fx + 5, h - 52], fill=(8, 8, 10))
    d.rectangle([fx - 6, h - 52, fx + 6, h - 22], fill=(8, 8, 10))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=85)


def record_shot_clips(offload_id: int) -> None:
    """The card's clips recorded as the clip step records them (store.clips), with JPEG thumbnails beside
    the catalog: what reading real ProRes, DPX and ARRIRAW media would find."""
    from fractions import Fraction

    from datawrangler.core.clips import ClipMeta, ClipState, group_clips
    from datawrangler.core.timecode import from_frames, tc_out, to_frames
    from datawrangler.gui.jobs import open_db
    from datawrangler.store import clips as store_clips

    db = open_db(None)
    try:
        root = store_clips.thumbnails_root(db)
        assert root is not None
        rate = Fraction(24000, 1001)
        start = to_frames("14:02:11:03", rate)
        records = []
        for i, g in enumerate(group_clips(store_clips.offload_file_paths(db, offload_id))):
            frames = (1438, 290, 2210, 744, 0, 5302, 511, 1187)[i] if i < 8 else len(g.files)
            tc = from_frames(start + i * 9000, rate)
            thumbs: tuple[str, ...] = ()
            if g.name.endswith("C005_231014_R3FD"):
                meta = ClipMeta(state=ClipState.DAMAGED, container="mov", problems=(
                    "the container cannot be opened (moov atom not found: the file ends before its index)",
                    "its size (4.0 MB) is not that of an empty clip"))
            elif g.name.startswith("A002C010"):
                meta = ClipMeta(state=ClipState.NOT_READ, container="ari", frames=len(g.files))
            elif g.name.endswith("PLATE"):
                meta = ClipMeta(container="dpx", codec="DPX 10-bit", width=4096, height=2160, fps="24",
                                frames=len(g.files), tc_in="15:10:00:00", tc_out="15:10:00:23")
                thumbs = (f"shots/{g.name}.jpg",)
            else:
                meta = ClipMeta(container="mov", codec="ProRes 4444 XQ" if i % 3 == 0 else "ProRes 422 HQ",
                                width=4608, height=3164, fps="24000/1001", duration=float(frames / rate),
                                frames=frames, tc_in=tc, tc_out=tc_out(tc, frames, rate), reel="A002R3FD",
                                camera="ALEXA 35", audio_channels=4 if i % 2 == 0 else 2,
                                scene=f"{12 + i // 3}{'AB'[i % 2]}", take=str(1 + i % 3))
                thumbs = (f"shots/{g.name}.jpg",)
            for t in thumbs:
                frame_jpeg(root / t, i)
            records.append(store_clips.ClipRecord(g, meta, thumbs))
        store_clips.record_clips(db, offload_id, records)
    finally:
        db.close()


def cascade_card(root: Path) -> Path:
    """A003R4KX: four clips, big enough for stage 2's progress to show."""
    card = root / "media" / "A003R4KX"
    for i in range(4):
        _write(card / "A003R4KX" / f"A003C{i + 1:03d}_231014_R4KX.mov", 40_000_000 + i, 300 + i, 1_697_310_000.0)
    return card


def main() -> int:
    app = make_app(["shots"])
    a, b = tmpfs("SHUTTLE_A", 3 << 30), tmpfs("SHUTTLE_B", 3 << 30)
    small = tmpfs("RAID_SMALL", 700 << 20)
    sixth = cascade_card(ROOT)
    demo = build_demo(ROOT / "demo", size_mb=20 if CASCADE_ONLY else 1500)
    second = ROOT / "media" / "B001RK2P"
    for i in range(4):
        _write(second / "B001RK2P" / f"B001C{i + 1:03d}_231014_RK2P.mov", 60_000_000 + i, 50 + i, 1_697_290_000.0)
    third = ROOT / "media" / "S001"
    for i in range(12):
        _write(third / "231014" / f"S001T{i + 1:03d}.WAV", 2_000_000, 80 + i, 1_697_290_000.0)
    fifth = clip_card(ROOT)
    fourth = ROOT / "media" / "C002R7QX"
    for i in range(5):
        _write(fourth / "C002R7QX" / f"C002C{i + 1:03d}_231014_R7QX.mov", 110_000_000 + i, 90 + i, 1_697_290_000.0)
    # clips off: these cards hold random bytes under camera names; the Clips tab shows A002R3FD's clips as the
    # clip step records them (record_shot_clips)
    preset = Preset("Main unit", destinations=(str(a), str(b)), template="{project}/{date}/{card}",
                    project="Nightfall", day=14, handoff=("ascmhl",), clips=False)
    failing = dataclasses.replace(preset, name="Overflow", destinations=(str(a), str(small)))
    # the cascading copy: the card to SHUTTLE_A, released once verified there; SHUTTLE_B from that copy
    staged = dataclasses.replace(preset, name="Stage 2", destinations=(str(a),), stage2=(str(b),))
    gui = GuiPrefs(last_preset="Main unit", sound=False, roles=((str(a), "primary"), (str(b), "backup"),
                                                                (str(small), "backup")))
    profile = Profile(Settings(production="Nightfall", operator="Sam"), (preset, failing, staged), gui)
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

    def hold(wanted) -> list:  # type: ignore[no-untyped-def]
        """Pause each queue item `wanted(item)` accepts the moment it starts (before its worker reads a byte;
        a pause asked while it is still queued does nothing). Returns the items held so far."""
        held: list = []

        def changed(top, bottom, *_: object) -> None:  # type: ignore[no-untyped-def]
            for r in range(top.row(), bottom.row() + 1):
                q = c.queue.row(r)
                if q.status is Status.PREPARING and q not in held and wanted(q):
                    held.append(q)
                    c.pause(q.id)

        c.queue.dataChanged.connect(changed)
        return held

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
        hold(lambda q: q.card_path == str(fourth))

        def go() -> None:
            item = c.enqueue(str(fourth))

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
        def then() -> None:
            shot("history")
            w.tabs.setCurrentWidget(w.log)
            cascade(clips)
        QTimer.singleShot(1500, then)

    def cascade(after) -> None:  # type: ignore[no-untyped-def]
        """A card RELEASED while its stage 2 is held (paused as it starts, like a slow drive), the preset
        editor, then stage 2 let go: SAFE TO FORMAT; History's stage words."""
        c.apply_profile(c.profile.select("Stage 2"), say="")
        c.add_source(str(sixth))
        held = hold(lambda q: q.stage == 2)
        ended = (Status.SAFE, Status.RELEASED, Status.VERIFIED, Status.FAILED, Status.CANCELLED)

        def go() -> None:
            item = c.enqueue(str(sixth))
            assert item is not None

            def released() -> None:
                i = c.cards.by_path(str(sixth))
                w.cards.view.scrollTo(c.cards.index(i, 0))
                w.queue.view.scrollToBottom()
                shot("released")
                editor()

            def editor() -> None:
                from PySide6.QtWidgets import QScrollArea

                sizes = w.split.sizes()
                w.tabs.setCurrentWidget(w.settings)
                w.split.setSizes([230, 150, 580])
                area = w.settings.findChild(QScrollArea)
                if area is not None:
                    area.ensureWidgetVisible(w.settings.stage2, 50, 250)

                def then() -> None:
                    shot("preset-stage2")
                    w.split.setSizes(sizes)
                    w.tabs.setCurrentWidget(w.history)
                    c.resume(held[0].id)
                    when(lambda: held[0].status in ended, lambda: QTimer.singleShot(2500, safe), 300)
                QTimer.singleShot(800, then)

            def safe() -> None:
                w.history.apply()

                def then() -> None:
                    w.queue.view.scrollToBottom()
                    shot("stage2-safe")
                    w.tabs.setCurrentWidget(w.log)
                    after()
                QTimer.singleShot(1500, then)

            when(lambda: item.status in ended and bool(held) and held[0].status is Status.PAUSED,
                 lambda: QTimer.singleShot(1500, released), 300)
        when(lambda: row(sixth) is not None and row(sixth).status is Status.NEW, go)

    def quit_after_cascade() -> None:
        w.close()
        app.quit()

    def clips() -> None:
        c.apply_profile(c.profile.select("Main unit"), say="")
        c.add_source(str(fifth))

        def go() -> None:
            item = c.enqueue(str(fifth))
            assert item is not None

            def ended() -> None:
                assert item.offload_id is not None
                record_shot_clips(item.offload_id)
                w.tabs.setCurrentWidget(w.clips)
                w.split.setSizes([245, 75, 640])  # the tab dragged taller, as for a look at a whole card
                w.cards.view.selectRow(c.cards.by_path(str(fifth)))
                w.cards.view.scrollTo(w.cards.view.currentIndex())
                w.clips.refresh()
                def then() -> None:
                    shot("clips")
                    light()
                when(lambda: w.clips.proxy.rowCount() == 10 and not w.clips.model.thumbs.busy,
                     lambda: QTimer.singleShot(800, then))
            when(lambda: item.status in (Status.SAFE, Status.VERIFIED, Status.FAILED), ended, 300)
        when(lambda: row(fifth) is not None and row(fifth).status is Status.NEW, go)

    def light() -> None:
        """The same tab in a light palette (not a theme the app offers: it checks the red stays legible)."""
        from PySide6.QtWidgets import QStyleFactory

        app.setStyleSheet("")
        app.setPalette(QStyleFactory.create("Fusion").standardPalette())
        w.clips.model.layoutChanged.emit()
        def then() -> None:
            shot("clips-light")
            w.close()
            app.quit()
        QTimer.singleShot(500, then)

    w._quitting = True
    if CASCADE_ONLY:
        QTimer.singleShot(500, lambda: cascade(quit_after_cascade))
    else:
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
    return 0 if len(steps) == (CASCADE_SHOTS if CASCADE_ONLY else 7 + CASCADE_SHOTS) else 1


if __name__ == "__main__":
    try:
        code = main()
    finally:
        cleanup()
    sys.exit(code)
