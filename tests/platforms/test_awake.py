"""keep_awake holds a sleep inhibitor exactly as long as the offload, and never outlives a killed process.

`systemd-inhibit` needs logind, which a test machine may lack; a stand-in on PATH takes its options and runs
the command it was given, as the real one does once it holds the lock. What is tested is ours: the command
we give it, that it is running while held, ended after, and ends by itself when our process is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from datawrangler import platform
from datawrangler.platform import linux
from tests.conftest import process_alive

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux inhibitor is tested here")

FAKE = """#!/bin/sh
# stand-in for systemd-inhibit: skip its --options, then run the command it holds the lock for
while [ $# -gt 0 ]; do case "$1" in --*) shift ;; *) break ;; esac; done
exec "$@"
"""


@pytest.fixture
def fake_inhibit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "systemd-inhibit"
    tool.write_text(FAKE)
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tool


def _children(pid: int) -> list[tuple[int, str]]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            if int(rest[1]) != pid or rest[0] in ("Z", "X"):
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                out.append((int(entry), f.read().replace(b"\0", b" ").decode()))
        except (OSError, IndexError):
            continue
    return out



def test_the_inhibitor_runs_while_held_and_ends_after(fake_inhibit: Path) -> None:
    with platform.keep_awake("Offloading A001") as held:
        assert held is True
        kids = [(p, c) for p, c in _children(os.getpid()) if "tail" in c]
        assert len(kids) == 1, _children(os.getpid())
        pid, cmd = kids[0]
        assert f"--pid={os.getpid()}" in cmd
    assert not process_alive(pid), "the inhibitor is still running after the offload"


def test_the_command_asks_for_idle_and_sleep_and_names_the_card() -> None:
    cmd = linux.inhibitor_command("Offloading A001")
    if cmd is None:
        pytest.skip("no systemd-inhibit on this machine")
    assert cmd[:5] == ["systemd-inhibit", "--what=idle:sleep", "--who=DataWrangler", "--why=Offloading A001",
                       "--mode=block"]


SCRIPT = textwrap.dedent("""
    import sys, time
    from datawrangler.platform import keep_awake
    with keep_awake("Offloading A001") as held:
        print(held, flush=True)
        time.sleep(600)
""")


def test_a_killed_process_does_not_leave_the_machine_awake(fake_inhibit: Path, tmp_path: Path) -> None:
    script = tmp_path / "offload.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "True"  # type: ignore[union-attr]
        kids = [p for p, c in _children(proc.pid) if "tail" in c]
        assert len(kids) == 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 10
        while process_alive(kids[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not process_alive(kids[0]), "the inhibitor outlived the killed offload"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()  # type: ignore[union-attr]


def test_with_no_inhibitor_it_says_so_and_goes_on(monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with caplog.at_level("INFO"), platform.keep_awake() as held:
        assert held is False
    assert "may sleep" in caplog.text
