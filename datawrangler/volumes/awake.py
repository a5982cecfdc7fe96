"""Keep the machine awake while offloading: a laptop that sleeps mid-copy stalls the card and the drives.

Linux: a `systemd-inhibit` process holding an idle/sleep block lock; macOS: `caffeinate -i -w PID`;
Windows: SetThreadExecutionState (held by the calling thread). Where none works, a logged note and no-op.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

log = logging.getLogger(__name__)


def _inhibitor_command(reason: str) -> list[str] | None:
    if sys.platform.startswith("linux") and shutil.which("systemd-inhibit"):
        # The lock lives as long as the command it runs: `tail --pid` ends when this process ends, even when
        # it is killed (a `sleep infinity` would hold the lock for ever after a crash).
        return ["systemd-inhibit", "--what=idle:sleep", "--who=DataWrangler", f"--why={reason}", "--mode=block",
                "tail", f"--pid={os.getpid()}", "-f", "/dev/null"]
    if sys.platform == "darwin" and shutil.which("caffeinate"):
        return ["caffeinate", "-i", "-w", str(os.getpid())]
    return None


@contextlib.contextmanager
def keep_awake(reason: str = "Offloading a camera card") -> Iterator[bool]:
    """Yields True when an inhibitor is held, False when the platform gave none (logged)."""
    if sys.platform == "win32":  # pragma: no cover - Windows only
        with _windows_awake() as held:
            yield held
        return
    cmd = _inhibitor_command(reason)
    if cmd is None:
        log.info("keep-awake: no systemd-inhibit/caffeinate here; the machine may sleep during the offload")
        yield False
        return
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as exc:
        log.info("keep-awake: %s could not start (%s)", cmd[0], exc)
        yield False
        return
    try:
        time.sleep(0.1)  # an inhibitor that cannot take the lock (no logind) exits at once
        held = proc.poll() is None
        if not held:
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
            log.info("keep-awake: %s refused (%s); the machine may sleep during the offload", cmd[0], err)
        yield held
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


@contextlib.contextmanager
def _windows_awake() -> Iterator[bool]:  # pragma: no cover - Windows only
    import ctypes

    es_continuous, es_system_required = 0x80000000, 0x00000001
    try:
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        held = bool(kernel32.SetThreadExecutionState(es_continuous | es_system_required))
    except (AttributeError, OSError):
        held = False
    try:
        yield held
    finally:
        if held:
            kernel32.SetThreadExecutionState(es_continuous)
