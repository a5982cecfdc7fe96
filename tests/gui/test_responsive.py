"""The event loop stays responsive while a real offload runs: a 5 ms QTimer measures the longest gap
between its ticks (the longest stall of the GUI thread) while the window shows a 2 GB offload, and the GUI
thread's own CPU time between two ticks (what it did itself, apart from waiting for a busy CPU).
DW_GUI_STALL_MB changes the size; DW_GUI_STALL_DETAIL=1 lists every gap over 30 ms."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from datawrangler.gui.theme import Status
from tests.conftest import BigData

SIZE_MB = int(os.environ.get("DW_GUI_STALL_MB", "2048"))


@pytest.mark.slow
def test_event_loop_stall_during_a_2gb_offload(env: Callable, profile_with: Callable, make_card: Callable,
                                                dest_dirs: Callable, tmp_path: Path, big_data: BigData,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    clips = 8
    per = SIZE_MB * 1_000_000 // clips
    big_data.need(3 * SIZE_MB * 1_000_000)  # the card and two copies
    card = make_card({f"A009R2EC/A009C{i:03d}_231014_R2EC.mov": per for i in range(1, clips + 1)}, name="A009R2EC")
    dests = dest_dirs(2)
    big_data.remove_later(card, *dests)
    e = env(profile_with(dests))
    e.window.notifier.sound = False
    c = e.controller
    c.add_source(str(card))
    e.wait(lambda: e.card(card).status is Status.NEW)

    gaps: list[float] = []
    last = [time.perf_counter()]

    big: list[tuple[float, float, float]] = []
    cpu = [time.thread_time()]
    busy: list[float] = []  # the GUI thread's own CPU time between two ticks

    def tick() -> None:
        now, used = time.perf_counter(), time.thread_time()
        gaps.append(now - last[0])
        busy.append(used - cpu[0])
        if now - last[0] > 0.03:  # (when, the gap, the GUI thread's own CPU time in it), in s and ms
            big.append((round(now - t0, 2), round((now - last[0]) * 1000, 1), round((used - cpu[0]) * 1000, 1)))
        last[0], cpu[0] = now, used

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    updates = [0]
    c.queue.dataChanged.connect(lambda *_: updates.__setitem__(0, updates[0] + 1))
    t0 = time.perf_counter()
    item = c.enqueue(str(card))
    last[0] = time.perf_counter()
    timer.start()
    cpu[0] = time.thread_time()
    e.wait(lambda: item.status in (Status.VERIFIED, Status.SAFE, Status.FAILED), 280_000)
    timer.stop()
    took = time.perf_counter() - t0
    assert item.status is Status.VERIFIED and item.outcome.result.files_verified == clips
    worst = max(gaps) * 1000
    p99 = sorted(gaps)[int(len(gaps) * 0.99)] * 1000
    own = max(busy) * 1000
    own_p99 = sorted(busy)[int(len(busy) * 0.99)] * 1000
    load = os.getloadavg()[0]
    with capsys.disabled():
        print(f"\nevent-loop stall during a {SIZE_MB} MB offload ({took:.1f} s, {len(gaps)} ticks, "
              f"{updates[0]} queue updates): longest {worst:.1f} ms, p99 {p99:.1f} ms, {len(big)} gaps > 30 ms; "
              f"the GUI thread's own work between two ticks: p99 {own_p99:.1f} ms, at most {own:.1f} ms; "
              f"1-min load {load:.1f} "
              f"on {os.cpu_count()} CPUs")
        if os.environ.get("DW_GUI_STALL_DETAIL"):
            print("gaps > 30 ms (s since start, ms):", big)
    assert len(gaps) > took / 0.05, "the timer barely ran: the loop was blocked"
    # The target is 50 ms of stall. The engine runs in a worker process, so the GUI thread waits for no
    # lock of it; what it does itself between two ticks (painting, mostly) must stay under the target. The
    # wall-clock gap also counts the CPUs being busy with the worker's threads (a 2-CPU machine): only gross
    # freezes fail it. The first paint of a running offload can take a few tens of ms once.
    assert own_p99 < 50, f"the GUI thread itself worked {own_p99:.0f} ms between two ticks (p99)"
    assert own < 200, f"the GUI thread itself worked {own:.0f} ms between two ticks"
    assert worst < 1000, f"the GUI thread stalled for {worst:.0f} ms"
    assert updates[0] < took * 40, "progress is not throttled"
