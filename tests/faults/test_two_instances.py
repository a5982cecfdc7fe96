"""Two instances of DataWrangler on one catalog and one card (two command lines, a window and a command line):
one offload runs, the other is refused before it records anything and says who holds the card: which
process (the window, 'datawrangler offload'), its pid, the station, since when, which offload, from where to
where. The first one finishes verified; once it has ended, the card can be offloaded again.

Real processes: the first offload is a `datawrangler offload` (or the window) in a process of its own, held
mid-copy by a FaultFS stall on the card; the second is the command line in this process, or the window's
controller with its real worker process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from datawrangler.core.errors import OffloadError
from datawrangler.store import card_hold
from datawrangler.store.card_hold import CARD_BUSY, hold_card, holds_folder
from datawrangler.store.db import open_catalog
from datawrangler.store.holders import WINDOW, process_words, roll_holders, running_offloads
from tests.faults.common import assert_nothing_claimed_falsely, catalog_file, offload_rows, tree
from tests.faults.conftest import Run

REPO = Path(__file__).resolve().parents[2]
ROLL = "A001R2EC"
RunCli = Callable[..., Run]

def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


@contextmanager
def first_offload(card: Any, *dests: Path, extra: tuple[str, ...] = ()) -> Iterator[subprocess.Popen[str]]:
    """A `datawrangler offload` in a process of its own, stalled on the card's second clip until the block
    ends; then it finishes (or is killed if the block failed)."""
    stall = card.stall("A001C002.mov", 60, ops=("read",), times=1)
    proc = subprocess.Popen([sys.executable, "-m", "datawrangler", "offload", str(card.mountpoint),
                             *map(str, dests), "--roll", ROLL, "--json", *extra], cwd=REPO, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not card.events("read", "A001C002.mov", fault="stall"):
            assert time.monotonic() < deadline and proc.poll() is None, "the first offload never started"
            time.sleep(0.05)
        yield proc
        card.remove(stall)
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err[-2000:]
        assert json.loads(out.strip().splitlines()[-1])["state"] == "verified"
    finally:
        card.remove(stall)  # a failed test must not leave the card stalled
        _end(proc)


def _end(proc: subprocess.Popen[str]) -> None:
    """Kill it if it still runs (a failed test), and close its pipes."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _card(faultfs: Callable[..., Any]) -> Any:
    return faultfs(ROLL, files={f"A001C00{i}.mov": os.urandom(128 * 1024) for i in range(1, 4)})


def _says_who(message: str, pid: int, card: Any, rolls: list[Path], process: str, held: bool = True) -> None:
    """The holder named; `held`: refused by the card's hold, which also says that nothing was recorded."""
    assert f"offload 1 by {process}" in message, message
    assert f"pid {pid}" in message and "on this station" in message and "since 20" in message, message
    assert f"from {card.mountpoint}" in message and " and ".join(map(str, rolls)) in message, message
    assert ("nothing of it was recorded" in message) is held, message


@pytest.mark.fuse
@pytest.mark.parametrize("where", ["other drives", "the same drives"])
def test_a_second_command_line_offload_of_the_card_is_refused_and_names_the_first(
        dw: RunCli, faultfs: Callable[..., Any], dest_dirs: Callable[[int], list[Path]], where: str) -> None:
    card = _card(faultfs)
    d1, d2, d3, d4 = dest_dirs(4)
    theirs = (d3, d4) if where == "other drives" else (d1, d2)
    with first_offload(card, d1, d2) as first:
        run = dw("offload", card.mountpoint, *theirs, "--roll", ROLL)
        assert [r["id"] for r in offload_rows()] == [1], "the refused offload left a row in the catalog"
    assert run.code == 2 and not run.of("start"), run.raw[-2000:]
    (error,) = run.errors
    _says_who(error["message"], first.pid, card, [d1 / ROLL, d2 / ROLL], "'datawrangler offload'")
    if where == "other drives":
        assert error["code"] == CARD_BUSY.value
        assert "This card is being offloaded right now" in error["message"]
        assert list(d3.iterdir()) == [] and list(d4.iterdir()) == [], "the refused offload wrote to its drives"
    else:
        assert error["code"] == "dest_duplicate"
        assert f"Another offload is writing to {d1 / ROLL} right now" in error["message"]
    rows = offload_rows()
    assert [(r["id"], r["state"]) for r in rows] == [(1, "verified")], rows
    assert_nothing_claimed_falsely(tree(card.backing), rolls=[d1 / ROLL, d2 / ROLL])
    assert list(holds_folder(catalog_file()).iterdir()) == [], "the first offload's hold was not let go"
    again = dw("offload", card.mountpoint, d3, d4, "--roll", ROLL)  # the card is free once the first ended
    assert again.code == 0 and again.done["state"] == "verified", again.raw[-2000:]


@pytest.mark.fuse
def test_a_resume_while_the_card_is_offloaded_elsewhere_is_refused(
        dw: RunCli, faultfs: Callable[..., Any], dest_dirs: Callable[[int], list[Path]]) -> None:
    """A resume holds the card too: an interrupted offload of it is not resumed while another one runs."""
    card = _card(faultfs)
    d1, d2, d3 = dest_dirs(3)
    stopped = dw("offload", card.mountpoint, d3, "--roll", ROLL, "--verify", "size")  # copied, not verified
    assert stopped.done["state"].startswith("copied")
    with first_offload(card, d1, d2) as first:
        run = dw("resume", "1")
    assert run.code == 2, run.raw[-2000:]
    assert f"pid {first.pid}" in run.errors[0]["message"] and "offload 2 by" in run.errors[0]["message"]
    rows = {r["id"]: r for r in offload_rows()}
    assert rows[1]["resumes"] == 0 and rows[1]["state"] != "running", "the refused resume reopened its offload"


@pytest.mark.fuse
def test_another_card_into_the_same_roll_folder_names_the_offload_writing_it(
        dw: RunCli, faultfs: Callable[..., Any], make_card: Callable[..., Path],
        dest_dirs: Callable[[int], list[Path]]) -> None:
    """Not the same card, the same roll folder: the engine's lock on the folder refuses it, and the catalog
    says whose offload writes there."""
    card = _card(faultfs)
    other = make_card(name="B001R3EC")
    d1, d2 = dest_dirs(2)
    with first_offload(card, d1, d2) as first:
        run = dw("offload", other, d1, "--roll", ROLL)
        assert [r["id"] for r in offload_rows()] == [1], "the refused offload left a row in the catalog"
    assert run.code == 2 and run.errors[0]["code"] == "dest_duplicate", run.raw[-2000:]
    message = run.errors[0]["message"]
    assert f"Another offload is writing to {d1 / ROLL} right now" in message
    _says_who(message.split("It is held by ", 1)[1], first.pid, card, [d1 / ROLL, d2 / ROLL],
              "'datawrangler offload'", held=False)


@pytest.mark.fuse
def test_the_catalog_says_who_offloads_a_card_or_writes_a_roll_now(
        faultfs: Callable[..., Any], dest_dirs: Callable[[int], list[Path]]) -> None:
    """store.holders from the catalog alone: the running offload of the card, or into the roll, whose process
    is alive; a killed one (its row still 'running') is nobody's."""
    card = _card(faultfs)
    d1, d2 = dest_dirs(2)
    stall = card.stall("A001C002.mov", 60, ops=("read",), times=1)
    proc = subprocess.Popen([sys.executable, "-m", "datawrangler", "offload", str(card.mountpoint), str(d1),
                             str(d2), "--roll", ROLL, "--json"], cwd=REPO, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not card.events("read", "A001C002.mov", fault="stall"):
            assert time.monotonic() < deadline and proc.poll() is None, "the offload never started"
            time.sleep(0.05)
        db = open_catalog(catalog_file())
        try:
            (fingerprint,) = [r[0] for r in db.conn.execute("SELECT fingerprint FROM cards")]
            (by_card,) = running_offloads(db, fingerprint=fingerprint)
            (by_roll,) = roll_holders(db, str(d2 / ROLL) + os.sep)  # the same folder, written another way
            assert by_card == by_roll
            assert (by_card.offload_id, by_card.pid, by_card.host) == (1, proc.pid, socket.gethostname())
            assert by_card.process == "'datawrangler offload'" and by_card.source == str(card.mountpoint)
            assert by_card.rolls == (str(d1 / ROLL), str(d2 / ROLL))
            assert running_offloads(db, fingerprint="0" * 64, rolls=[str(d1)]) == []  # another card, folder
            # where the catalog's folder cannot lock files (Windows, some NFS) the hold asks the catalog
            with pytest.raises(OffloadError, match=f"This card is being offloaded right now: offload 1 by "
                               f"'datawrangler offload' \\(pid {proc.pid} on this station"):
                card_hold._by_catalog(db, fingerprint, ["/mnt/S9/A001"], str(card.mountpoint),
                                      card_hold.this_holder(str(card.mountpoint), ["/mnt/S9/A001"]))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            assert offload_rows()[0]["state"] == "running"  # until the next offload marks it interrupted
            assert running_offloads(db, fingerprint=fingerprint) == [] and roll_holders(db, str(d1 / ROLL)) == []
        finally:
            db.close()
    finally:
        card.remove(stall)
        _end(proc)


# -- the window


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported, here or by another test


@pytest.mark.fuse
@pytest.mark.gui
def test_the_window_against_a_running_command_line_offload_says_who_holds_the_card(
        faultfs: Callable[..., Any], dest_dirs: Callable[[int], list[Path]], qtbot: Any) -> None:
    """The window's offload path (its controller and a real worker process) meets a card a command line is
    offloading to other drives: the queue row fails with the holder named, the same words in Messages."""
    from datawrangler.config import Settings
    from datawrangler.core.presets import Preset
    from datawrangler.gui.app import make_controller
    from datawrangler.gui.bridge import Bridge
    from datawrangler.gui.messages import Messages
    from datawrangler.gui.prefs import GuiPrefs, Profile
    from datawrangler.gui.theme import Status

    card = _card(faultfs)
    d1, d2, d3, d4 = dest_dirs(4)
    preset = Preset("Main", destinations=(str(d3), str(d4)), template="{card}", keep_awake=False)
    messages, bridge = Messages(), Bridge()
    controller = make_controller(bridge, messages, Profile(Settings(), (preset,), GuiPrefs(last_preset="Main")),
                                 catalog_file(), drive_refresh_ms=500)
    try:
        with first_offload(card, d1, d2) as first:
            controller.add_source(str(card.mountpoint))
            path = os.path.normpath(str(card.mountpoint))
            qtbot.waitUntil(lambda: controller.cards.by_path(path) >= 0 and controller.cards.row(
                controller.cards.by_path(path)).status is not Status.SCANNING, timeout=30_000)
            item = controller.enqueue(path)
            assert item is not None
            qtbot.waitUntil(lambda: item.status in (Status.FAILED, Status.SAFE, Status.VERIFIED), timeout=60_000)
            assert item.status is Status.FAILED
            assert [r["id"] for r in offload_rows()] == [1], "the window's refused offload left a row"
        _says_who(item.error, first.pid, card, [d1 / ROLL, d2 / ROLL], "'datawrangler offload'")
        said = [m for m in messages.history if m.code == CARD_BUSY.value]
        assert said and item.error in said[0].text and said[0].level.value == "error"
        assert list(d3.iterdir()) == [] and list(d4.iterdir()) == []
        assert [(r["id"], r["state"]) for r in offload_rows()] == [(1, "verified")]
    finally:
        controller.shutdown()
        assert bridge.shutdown(60_000)


@pytest.mark.fuse
def test_a_command_line_against_the_window_names_the_window(
        dw: RunCli, faultfs: Callable[..., Any], dest_dirs: Callable[[int], list[Path]]) -> None:
    """The window holds the card (its worker process offloads it); a `datawrangler offload` of the card is
    refused and names the window, its pid and its worker's."""
    card = _card(faultfs)
    d1, d2, d3 = dest_dirs(3)
    stall = card.stall("A001C002.mov", 60, ops=("read",), times=1)
    script = _WINDOW.format(card=str(card.mountpoint), dests=[str(d1), str(d2)])  # -c: spawn re-runs no file
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**_env(), "QT_QPA_PLATFORM": "offscreen"})
    try:
        deadline = time.monotonic() + 60
        while not card.events("read", "A001C002.mov", fault="stall"):
            assert time.monotonic() < deadline and proc.poll() is None, "the window's offload never started"
            time.sleep(0.05)
        run = dw("offload", card.mountpoint, d3, "--roll", ROLL)
        card.remove(stall)
        out, err = proc.communicate(timeout=120)
    finally:
        card.remove(stall)
        _end(proc)
    assert run.code == 2, run.raw[-2000:]
    message = run.errors[0]["message"]
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["status"] == "VERIFIED", (seen, err[-2000:])
    assert f"offload 1 by {WINDOW} (pid {proc.pid}, offload worker " in message, message
    assert "on this station, since 20" in message and f"from {card.mountpoint} to {d1}{os.sep}" in message
    assert [(r["id"], r["state"]) for r in offload_rows()] == [(1, "verified")]
    assert list(d3.iterdir()) == []


_WINDOW = r"""
import json, sys, time
sys.argv = ["datawrangler"]  # as the installed command starts the window
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from datawrangler.config import save_presets
from datawrangler.core.presets import Preset
from datawrangler.gui.app import make_app, main
from datawrangler.gui.theme import Status

save_presets([Preset("Main", destinations=tuple({dests!r}), template="{{card}}", keep_awake=False)])
app = make_app(["datawrangler"])
t0 = time.monotonic()
state = {{}}

def poll():
    windows = [w for w in QApplication.topLevelWidgets() if type(w).__name__ == "MainWindow" and w.isVisible()]
    c = windows[0].c if windows else None
    if c is not None and "item" not in state:
        c.add_source({card!r})
        i = c.cards.by_path({card!r})
        if i >= 0 and c.cards.row(i).status is not Status.SCANNING:
            state["item"] = c.enqueue({card!r})
    item = state.get("item")
    if item is not None and item.status in (Status.VERIFIED, Status.SAFE, Status.FAILED):
        print(json.dumps({{"status": item.status.name, "error": item.error}}), flush=True)
        windows[0].close()
        return
    if time.monotonic() - t0 > 100:
        print(json.dumps({{"status": "timeout"}}), flush=True)
        sys.exit(3)
    QTimer.singleShot(100, poll)

QTimer.singleShot(100, poll)
sys.exit(main(["datawrangler"]))
"""


# -- the hold itself, without an offload


HOLDER = r"""
import sys, time
from datawrangler.store.card_hold import hold_card
hold = hold_card(sys.argv[1], "f" * 64, source="/media/A001", rolls=["/mnt/S1/A001", "/mnt/S2/A001"])
hold.record(7)
print("held", flush=True)
time.sleep(60)
"""


def test_the_hold_names_its_holder_and_a_killed_holder_leaves_it_free(tmp_path: Path) -> None:
    catalog = tmp_path / "data" / "catalog.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(catalog)], cwd=REPO, env=_env(),
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        with pytest.raises(Exception) as refused:
            hold_card(catalog, "f" * 64, source="/media/A001", rolls=["/mnt/S3/A001"])
        text = str(refused.value)
        assert getattr(refused.value, "code", None) == CARD_BUSY
        assert "This card is being offloaded right now: offload 7 by a Python process" in text
        assert f"(pid {proc.pid} on this station, since 20" in text
        assert "from /media/A001 to /mnt/S1/A001 and /mnt/S2/A001" in text
        with pytest.raises(Exception, match="Another offload is writing to /mnt/S2/A001 right now"):
            hold_card(catalog, "f" * 64, source="/media/A001", rolls=["/mnt/S2/A001"])
        other = hold_card(catalog, "e" * 64, source="/media/B001", rolls=["/mnt/S1/B001"])  # another card: free
        other.release()
    finally:
        _end(proc)  # killed: a crash, nothing is cleaned up by the holder
    with hold_card(catalog, "f" * 64, source="/media/A001", rolls=["/mnt/S3/A001"]) as hold:
        assert hold.holder.pid == os.getpid() and hold.holder.host == socket.gethostname()
    assert list(holds_folder(catalog).iterdir()) == [], "a released hold leaves its file behind"


@pytest.mark.parametrize(("argv", "words"), [
    (["/usr/bin/datawrangler"], WINDOW),
    (["/usr/bin/datawrangler", "--catalog", "/x/catalog.sqlite"], WINDOW),
    (["/opt/DataWrangler/DataWrangler.exe", "gui"], WINDOW),
    (["/usr/bin/datawrangler", "-v", "offload", "/media/A001", "/mnt/S1"], "'datawrangler offload'"),
    (["/usr/bin/python3", "-m", "datawrangler", "resume", "4"], "'datawrangler resume'"),
    (["/venv/lib/datawrangler/__main__.py", "watch", "--auto", "Main"], "auto-offload ('datawrangler watch --auto')"),
    (["/venv/bin/pytest", "tests"], "'pytest tests'"),
    (["-c"], "a Python process"),
])
def test_a_process_is_named_as_a_person_knows_it(argv: list[str], words: str) -> None:
    assert process_words(argv) == words
