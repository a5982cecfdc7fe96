"""What Linux and macOS share: keep-awake is a helper process that holds the OS's sleep lock for as long as
it runs, and is told our pid so that it ends with us even when we are killed."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import time
from collections.abc import Iterator

log = logging.getLogger(__name__)


@contextlib.contextmanager
def hold_inhibitor(cmd: list[str] | None) -> Iterator[bool]:
    """Run cmd while held. Yields True when it holds the lock, False when there is none or it refused
    (logged): the offload goes on either way."""
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
