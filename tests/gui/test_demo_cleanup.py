"""`datawrangler demo` leaves nothing in the temporary folder: its card and both copies (hundreds of MB) are
removed when the window closes and the app exits, and a demo that was killed has its folder removed by the
next one."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from datawrangler.gui import demo
from datawrangler.gui.demo import LOCK_NAME, PREFIX, build_demo, remove_demo

REPO = Path(__file__).resolve().parents[2]

# The real command in its own process (the folder goes when the process exits): the window opens offscreen,
# the demo offload runs (--start), and once it is done the window is closed as a user would close it.
DRIVER = r"""
import json, os, sys, tempfile, time
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from datawrangler.cli import main
from datawrangler.gui.app import make_app
from datawrangler.gui.theme import Status

app = make_app(["datawrangler"])
t0 = time.monotonic()
FINAL = (Status.VERIFIED, Status.SAFE, Status.FAILED)

def poll():
    windows = [w for w in QApplication.topLevelWidgets() if type(w).__name__ == "MainWindow" and w.isVisible()]
    rows = windows[0].c.queue.rows if windows else []
    if rows and all(q.status in FINAL for q in rows):
        folders = sorted(f for f in Path(tempfile.gettempdir()).glob("datawrangler-demo-*")
                         if not f.name.startswith("datawrangler-demo-home-"))  # the demo's own catalog and settings
        files = [str(p) for f in folders for p in f.rglob("*") if p.is_file()]
        print(json.dumps({"status": [q.status.name for q in rows], "folders": [str(f) for f in folders],
                          "files": files}), flush=True)
        windows[0].close()
    elif time.monotonic() - t0 > 90:
        print(json.dumps({"timeout": True}), flush=True)
        os._exit(3)
    else:
        QTimer.singleShot(100, poll)

QTimer.singleShot(100, poll)
sys.exit(main(["demo", "--size", "4", "--start"]))
"""


@pytest.mark.slow
def test_the_demo_folder_is_removed_when_the_window_closes(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "DATAWRANGLER_HOME": str(tmp_path / "home"),
           "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    p = subprocess.run([sys.executable, "-c", DRIVER], cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=180)
    assert p.returncode == 0, p.stdout + p.stderr
    seen = json.loads(p.stdout.strip().splitlines()[-1])
    assert seen.get("status") == ["VERIFIED"], seen
    (folder,) = seen["folders"]
    copies = [f for f in seen["files"] if "/drives/SHUTTLE_" in f and f.endswith(".mov")]
    assert len(copies) == 12, seen["files"]  # the demo ran: its 6 clips on both drives
    assert list(tmp.iterdir()) == [], f"left in the temporary folder: {list(tmp.iterdir())}"
    assert not Path(folder).exists()
    # the user's own catalog (DATAWRANGLER_HOME) never receives the demo's synthetic card
    assert not list((tmp_path / "home").rglob("catalog*")), list((tmp_path / "home").rglob("*"))


def test_build_demo_without_a_root_owns_its_folder_and_removes_it(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    setup = build_demo(size_mb=1)
    assert setup.root.parent == tmp_path and setup.root.name.startswith(PREFIX)
    assert setup.card.is_dir() and all(d.is_dir() for d in setup.destinations)
    assert not (setup.root / "media" / LOCK_NAME).exists()  # the lock is beside the watched folder, not in it
    remove_demo(setup.root)
    assert not setup.root.exists()
    remove_demo(setup.root)  # twice (the exit hook after an explicit remove): nothing to do


def test_a_demo_folder_given_by_the_caller_is_never_removed(tmp_path: Path) -> None:
    setup = build_demo(tmp_path / "mine", size_mb=1)
    remove_demo(setup.root)
    demo._remove_all()  # what runs at exit
    assert setup.card.is_dir() and not (setup.root / LOCK_NAME).exists()


def test_the_folder_of_a_killed_demo_is_removed_by_the_next_and_a_running_ones_is_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def folder(name: str, lock: bool) -> Path:
        f = tmp_path / name
        (f / "media").mkdir(parents=True)
        (f / "media" / "clip.mov").write_bytes(b"x" * 1000)
        if lock:
            (f / LOCK_NAME).write_text("")
        return f

    killed = folder(PREFIX + "killed", lock=True)
    running = folder(PREFIX + "running", lock=True)
    unmarked = folder(PREFIX + "home-1234", lock=False)  # not a demo folder of build_demo's: never touched
    other = folder("someone-else", lock=True)
    with open(running / LOCK_NAME) as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as its demo process holds it while it runs
        setup = build_demo(size_mb=1)
        try:
            assert not killed.exists()
            assert running.is_dir() and unmarked.is_dir() and other.is_dir()
            assert setup.root.is_dir()
            assert demo.remove_leftovers(tmp_path) == []  # our own folder is ours, not a leftover
        finally:
            remove_demo(setup.root)
    assert demo.remove_leftovers(tmp_path) == [running]  # once its process has let go
