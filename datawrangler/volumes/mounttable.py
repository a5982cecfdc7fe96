"""The mounts under the watched mount roots, from the OS's mount table: the truth the monitor reconciles
against (watchdog events only say when to look).

Linux: /proc/self/mountinfo. macOS: the entries of /Volumes that are mount points. Windows: the drive
letters.
"""

from __future__ import annotations

import getpass
import os
import string
import sys
from collections.abc import Iterable, Sequence

from datawrangler.core import devices
from datawrangler.core.devices import MountInfo

MOUNTINFO = "/proc/self/mountinfo"


def default_roots() -> tuple[str, ...]:
    """Where the platform mounts removable media."""
    if sys.platform == "darwin":
        return ("/Volumes",)
    if sys.platform == "win32":
        return ()  # drive letters: every mount is a root of its own
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    roots = ["/media", "/mnt"]
    if user:
        roots[1:1] = [f"/media/{user}", f"/run/media/{user}"]
    return tuple(roots)


def _under(mount_point: str, roots: Sequence[str]) -> bool:
    return any(mount_point.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def normalise_roots(roots: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(os.path.realpath(os.path.abspath(os.path.expanduser(r))) for r in roots))


def current(roots: Sequence[str]) -> dict[str, MountInfo]:
    """{mount point: mount} for every mount strictly under one of roots (Windows: every drive letter)."""
    if sys.platform.startswith("linux"):
        table = devices.mounts()
    elif sys.platform == "darwin":
        table = _macos_mounts(roots)
    elif sys.platform == "win32":  # pragma: no cover - Windows only
        return {m.mount_point: m for m in _windows_drives()}
    else:
        table = []
    out: dict[str, MountInfo] = {}
    for m in table:  # later lines win: a mount over a mount point hides the one below
        if _under(m.mount_point, roots):
            out[m.mount_point] = m
    return out


def _macos_mounts(roots: Sequence[str]) -> list[MountInfo]:  # pragma: no cover - macOS only
    out = []
    for root in roots:
        try:
            names = sorted(os.listdir(root))
        except OSError:
            continue
        for name in names:
            path = os.path.join(root, name)
            if os.path.ismount(path) and os.path.realpath(path) == path:  # the boot volume is a symlink to /
                st = os.stat(path)
                out.append(MountInfo(path, "", "", f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"))
    return out


def _windows_drives() -> list[MountInfo]:  # pragma: no cover - Windows only
    out = []
    system = os.environ.get("SYSTEMDRIVE", "C:").upper()
    for letter in string.ascii_uppercase:
        path = f"{letter}:\\"
        if f"{letter}:" != system and os.path.exists(path):
            try:
                dev = str(os.stat(path).st_dev)
            except OSError:
                continue
            out.append(MountInfo(path, "", "", dev))
    return out
