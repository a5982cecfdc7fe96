"""An offload in its own worker process (app.isolated): the same results and catalog rows as in-process,
pause/cancel reach it, errors keep their codes, and neither side outlives the other's death."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler.app.isolated import OffloadProcessError, run_offload_isolated
from datawrangler.app.offload import Notice, Observer, Refused
from datawrangler.app.request import OffloadRequest
from datawrangler.config import Settings
from datawrangler.core.errors import Code, OffloadError
from datawrangler.core.events import OffloadControl, OffloadState, ProgressEvent
from datawrangler.store.db import open_catalog
from datawrangler.store.liveness import mark_interrupted
from tests.conftest import process_alive


class Calls:
    def __init__(self) -> None:
        self.progress: list[ProgressEvent] = []
        self.failed: list = []
        self.notices: list[Notice] = []
        self.started: list[int] = []
        self.threads: set[str] = set()

    def kwargs(self) -> dict:
        def seen(fn: Callable) -> Callable:
            def call(*a: object) -> None:
                self.threads.add(threading.current_thread().name)
                fn(*a)
            return call
        return dict(observer=Observer(progress=seen(self.progress.append), failed=seen(self.failed.append),
                                      notice=seen(self.notices.append),
                                      started=seen(lambda s: self.started.append(s.offload_id))))


def _request(card: Path, dests: list[Path], **kw: object) -> OffloadRequest:
    return OffloadRequest(str(card), tuple(map(str, dests)), roll=card.name, settings=Settings(),
                               copies_required=1, **kw)  # test folders: one physical disk  # type: ignore[arg-type]


def _row(catalog: Path, offload_id: int) -> tuple:
    db = open_catalog(catalog)
    try:
        return db.conn.execute("SELECT state, pid, files_total FROM offloads WHERE id = ?", (offload_id,)).fetchone()
    finally:
        db.close()


def test_offload_runs_in_another_process_and_records_the_same(make_card: Callable, dest_dirs: Callable,
                                                              tmp_path: Path) -> None:
    card = make_card()
    dests = dest_dirs(2)
    calls = Calls()
    catalog = tmp_path / "catalog.sqlite"
    out = run_offload_isolated(_request(card, dests), OffloadControl(), catalog=catalog, **calls.kwargs())
    assert out.result.files_verified == 4 and out.safe and out.copies == 1
    assert calls.started == [out.offload_id] and calls.progress, "started and progress reached the caller"
    assert calls.threads == {threading.current_thread().name}, "callbacks run on the calling thread"
    state, pid, files = _row(catalog, out.offload_id)
    assert state == "verified" and files == 4
    assert pid != os.getpid(), "the engine and recorder ran in the worker process"
    for d in dests:
        assert (d / card.name / "A001R2EC/A001C002_231014_R2EC.mov").read_bytes() == \
            (card / "A001R2EC/A001C002_231014_R2EC.mov").read_bytes()


def test_a_refusal_crosses_the_process_with_its_code(make_card: Callable, dest_dirs: Callable,
                                                     tmp_path: Path) -> None:
    card = make_card()
    calls = Calls()
    nested = card / "backup"  # a destination inside the card: preflight refuses before a byte moves
    nested.mkdir()
    with pytest.raises(OffloadError) as err:
        run_offload_isolated(_request(card, [nested, tmp_path / "no-drive"]), OffloadControl(),
                             catalog=tmp_path / "c.sqlite", **calls.kwargs())
    assert err.value.code is Code.DEST_INSIDE_SOURCE
    assert isinstance(err.value, Refused) and len(err.value.problems) == 2, "every reason crossed the pipe"
    assert "inside" in str(err.value) and "does not exist" in str(err.value), "and the message says them all"


def _big_card(make_card: Callable, mb: int = 400) -> Path:
    return make_card({f"A001R2EC/A001C{i:03d}_231014_R2EC.mov": mb * 1_000_000 // 4 for i in range(1, 5)})


def test_pause_and_cancel_reach_the_worker(make_card: Callable, dest_dirs: Callable, tmp_path: Path) -> None:
    card = _big_card(make_card)
    control = OffloadControl()
    calls = Calls()
    catalog = tmp_path / "catalog.sqlite"

    def steer() -> None:
        while not any(e.bytes_read for e in calls.progress):
            time.sleep(0.02)
        control.pause()
        deadline = time.monotonic() + 20
        while not (calls.progress and calls.progress[-1].paused) and time.monotonic() < deadline:
            time.sleep(0.02)
        at = calls.progress[-1].bytes_read
        time.sleep(1.0)
        steer.held = calls.progress[-1].bytes_read == at and calls.progress[-1].paused  # type: ignore[attr-defined]
        control.cancel()

    t = threading.Thread(target=steer)
    t.start()
    out = run_offload_isolated(_request(card, dest_dirs(2)), control, catalog=catalog, **calls.kwargs())
    t.join()
    assert steer.held, "no byte was read while paused"  # type: ignore[attr-defined]
    assert out.result.state is OffloadState.CANCELLED and not out.safe
    assert _row(catalog, out.offload_id)[0] in ("cancelled", "interrupted")


def test_a_killed_worker_is_reported_and_resumable(make_card: Callable, dest_dirs: Callable, tmp_path: Path) -> None:
    import multiprocessing

    card = _big_card(make_card)
    calls = Calls()
    catalog = tmp_path / "catalog.sqlite"

    def kill() -> None:
        while not any(e.bytes_read for e in calls.progress):
            time.sleep(0.02)
        for p in multiprocessing.active_children():
            os.kill(p.pid, signal.SIGKILL)

    t = threading.Thread(target=kill)
    t.start()
    with pytest.raises(OffloadProcessError, match=r"worker process ended unexpectedly.*Press Resume"):
        run_offload_isolated(_request(card, dest_dirs(2)), OffloadControl(), catalog=catalog, **calls.kwargs())
    t.join()
    db = open_catalog(catalog)
    try:
        mark_interrupted(db)
    finally:
        db.close()
    assert _row(catalog, calls.started[0])[0] == "interrupted"


CHILD = textwrap.dedent("""
    import multiprocessing, sys, time
    from pathlib import Path
    from datawrangler.config import Settings
    from datawrangler.core.events import OffloadControl
    from datawrangler.app.isolated import run_offload_isolated
    from datawrangler.app.offload import Observer
    from datawrangler.app.request import OffloadRequest

    def started(s):
        print(s.offload_id, multiprocessing.active_children()[0].pid, flush=True)

    if __name__ == "__main__":
        card, d1, d2, catalog = sys.argv[1:]
        req = OffloadRequest(card, (d1, d2), roll="A001", settings=Settings())
        run_offload_isolated(req, OffloadControl(), catalog=catalog, observer=Observer(started=started,
                                                                                         failed=print))
""")


def test_the_worker_stops_when_the_window_process_dies(make_card: Callable, dest_dirs: Callable,
                                                      tmp_path: Path) -> None:
    """The window's process is killed mid-offload: the worker sees the pipe close, cancels, and the catalog
    says interrupted/cancelled (resumable), not running for ever."""
    card = _big_card(make_card, 600)
    d1, d2 = dest_dirs(2)
    catalog = tmp_path / "catalog.sqlite"
    script = tmp_path / "window.py"
    script.write_text(CHILD)
    parent = subprocess.Popen([sys.executable, str(script), str(card), str(d1), str(d2), str(catalog)],
                              stdout=subprocess.PIPE, text=True)
    try:
        line = parent.stdout.readline()  # type: ignore[union-attr]
        offload_id, worker = map(int, line.split())
        time.sleep(0.5)
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process_alive(worker):
            time.sleep(0.1)
        assert not process_alive(worker), "the worker process outlived the window"
        state = _row(catalog, offload_id)[0]
        assert state in ("cancelled", "interrupted"), state
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.stdout.close()  # type: ignore[union-attr]


def test_keep_awake_is_held_for_the_offload_by_the_worker(make_card: Callable, dest_dirs: Callable, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The preset's keep-awake: the worker holds an inhibitor while it copies (a stand-in systemd-inhibit on PATH
    logs how it was called; tests/volumes/test_awake.py tests the inhibitor itself)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the Linux inhibitor is tested here")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "inhibit.log"
    tool = bin_dir / "systemd-inhibit"
    tool.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n'
                    'while [ $# -gt 0 ]; do case "$1" in --*) shift ;; *) break ;; esac; done\nexec "$@"\n')
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    card = make_card()
    out = run_offload_isolated(_request(card, dest_dirs(2), reel="A001", keep_awake=True), OffloadControl(),
                               catalog=tmp_path / "c.sqlite", **Calls().kwargs())
    assert out.safe
    logged = calls.read_text()
    assert "--what=idle:sleep" in logged and "--why=Offloading A001" in logged
    off = run_offload_isolated(_request(make_card(name="A002R2EC"), dest_dirs(2), reel="A002"), OffloadControl(),
                               catalog=tmp_path / "c.sqlite", **Calls().kwargs())
    assert off.safe and "A002" not in calls.read_text(), "keep_awake=False holds nothing"


def test_an_error_that_cannot_cross_the_pipe_is_still_reported() -> None:
    """A worker's exception that does not pickle becomes an OffloadProcessError with its type and text,
    instead of breaking the pipe (and the window waiting for ever)."""
    from datawrangler.app.isolated import _picklable

    class Odd(Exception):
        def __init__(self) -> None:
            super().__init__("odd failure")
            self.callback = lambda: None  # lambdas do not pickle

    out = _picklable(Odd())
    assert isinstance(out, OffloadProcessError) and "Odd: odd failure" in str(out)
    refusal = OffloadError(Code.DEST_FULL, "full")
    assert _picklable(refusal) is refusal
