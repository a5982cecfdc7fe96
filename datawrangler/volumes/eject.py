"""Eject a card once it is safe: the OS's own tool, so the desktop knows the card went away.

Linux: `udisksctl unmount` then `udisksctl power-off` (the reader's light goes out); without udisks,
`umount` (works as root or for an fstab 'user' mount). macOS: `diskutil eject`. Windows: not automated
yet; the DIT uses "Safely Remove Hardware" (a PowerShell `Shell.Application` "Eject" verb would do it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from datawrangler.volumes.identity import Volume

Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60, check=False)


@dataclass(frozen=True)
class EjectResult:
    ok: bool
    message: str


def eject_commands(volume: Volume, platform: str = sys.platform,
                   which: Callable[[str], str | None] = shutil.which) -> list[list[str]]:
    """The commands that eject the volume, in order; [] where this platform has none automated."""
    if platform.startswith("linux"):
        if which("udisksctl") and volume.device:
            cmds = [["udisksctl", "unmount", "--no-user-interaction", "-b", volume.device]]
            if volume.removable:
                cmds.append(["udisksctl", "power-off", "--no-user-interaction", "-b", volume.device])
            return cmds
        return [["umount", volume.mount_point]]
    if platform == "darwin":
        return [["diskutil", "eject", volume.mount_point]]
    return []


def eject(volume: Volume, runner: Runner = _run) -> EjectResult:
    cmds = eject_commands(volume)
    if not cmds:
        return EjectResult(False, f"Ejecting is not automated on this system: eject {volume.name} with "
                           "'Safely Remove Hardware'.")
    for i, cmd in enumerate(cmds):
        try:
            proc = runner(cmd)
        except (OSError, subprocess.SubprocessError) as exc:
            return EjectResult(False, f"Could not eject {volume.name}: {exc}. Eject it from the desktop.")
        if proc.returncode != 0:
            if i > 0:  # unmounted; only the power-off failed
                return EjectResult(True, f"{volume.name} is unmounted (power-off failed: "
                                   f"{(proc.stderr or '').strip()}); it can be removed.")
            return EjectResult(False, f"Could not eject {volume.name} ({(proc.stderr or proc.stdout).strip()}). "
                               "Something may still be using it: close files open on the card, then eject it "
                               "from the desktop.")
    return EjectResult(True, f"{volume.name} was ejected; it can be removed.")
