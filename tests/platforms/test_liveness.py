"""Process liveness: a pid is the offload's only while that process runs; an ended one, a zombie, or a new
process that was given the same pid since (another start token) is not."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from datawrangler import platform


def test_this_process_is_alive_with_its_own_token_and_not_with_another() -> None:
    me = os.getpid()
    token = platform.start_token(me)
    assert token and platform.start_token(me) == token  # the same every time it is asked
    assert platform.process_alive(me, token)
    assert platform.process_alive(me, "")  # no token recorded: the pid alone says
    assert not platform.process_alive(me, token + "1"), "a pid given to another process since is not ours"


def test_no_pid_is_not_alive() -> None:
    assert not platform.process_alive(None, None)
    assert not platform.process_alive(0, None)


def test_an_ended_process_is_not_alive_even_before_it_is_reaped() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        token = platform.start_token(proc.pid)
        deadline = time.monotonic() + 10
        while platform.process_alive(proc.pid, token) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not platform.process_alive(proc.pid, token), "a zombie counts as ended"
    finally:
        proc.wait()
    assert not platform.process_alive(proc.pid, token)
    assert platform.start_token(proc.pid) == ""


def test_the_linux_token_is_the_kernels_start_time_in_ticks() -> None:
    if not sys.platform.startswith("linux"):
        return
    with open(f"/proc/{os.getpid()}/stat") as f:
        assert platform.start_token(os.getpid()) == f.read().rsplit(")", 1)[1].split()[19]
