"""What is a card: removable media under the platform's mount roots, and the volumes under the roots the
user added. Nothing else: a network share or a fixed disk mounted under /mnt is not listed as a card (it
would show as reel A001 with 0 clips, and auto-offload would copy it).

A mount is a card when, in this order:
1. it is not a network filesystem (nfs, cifs, sshfs, ...: by type, or by a source naming a server), not a
   pseudo filesystem of the kernel (autofs, proc, ...), and not one of the system's own mount points (/,
   /boot, /home, ...): these are never cards, under any root;
2. it is at or under a root the user added (settings `mount_roots`): yes, whatever its device (a loop image,
   a tmpfs, a bind mount of an ingest folder); the user said so;
3. otherwise the OS says its device is removable media or on a hotplug bus (`platform.removable_media`:
   udisks2 or sysfs on Linux, DiskArbitration on macOS, the drive type and bus on Windows); never a loop
   device, a RAM disk, or a disk holding the system.

Every decision carries its reason in words, for the log and for "why isn't my card shown?":
"/mnt/share: network filesystem (cifs), not a card".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from datawrangler import platform
from datawrangler.platform import MediaCheck, MountInfo

MediaReader = Callable[[MountInfo], MediaCheck]

_SETTINGS_HINT = "add {} to the mount roots in the settings to take it as a card"


@dataclass(frozen=True)
class CardDecision:
    """Whether the volume mounted at mount_point is a card, and why."""

    mount_point: str
    card: bool
    why: str

    def __str__(self) -> str:
        return f"{self.mount_point}: {self.why}"


def _under(path: str, root: str) -> bool:
    """path is root or inside it (a root may be a drive, C:\\, or /)."""
    return path == root or path.startswith(root.rstrip("/\\") + os.sep)


class CardFilter:
    """Decides which mounts are cards. `user_roots`: the roots the user added (every volume at or under one
    is a card); `os_roots`: where the OS mounts removable media (default: the platform's), where only
    removable media are cards. `media` reads what the OS says of a mount's device (default:
    platform.removable_media; tests pass canned answers)."""

    def __init__(self, user_roots: Iterable[str] = (), os_roots: Iterable[str] | None = None,
                 media: MediaReader | None = None) -> None:
        self.user_roots = platform.normalise_roots(user_roots)
        self.os_roots = platform.normalise_roots(platform.default_roots() if os_roots is None else os_roots)
        self._media = media

    @classmethod
    def for_roots(cls, roots: Iterable[str], media: MediaReader | None = None) -> CardFilter:
        """A filter for a list of roots to watch: those that are the platform's own (/media, /mnt,
        /Volumes, ...) hold removable media only; any other root is one the user added."""
        ours = set(platform.normalise_roots(platform.default_roots()))
        given = platform.normalise_roots(roots)
        return cls([r for r in given if r not in ours], [r for r in given if r in ours], media)

    @property
    def roots(self) -> tuple[str, ...]:
        """Every root to watch: the platform's, then the user's."""
        return tuple(dict.fromkeys((*self.os_roots, *self.user_roots)))

    def user_root_of(self, path: str) -> str | None:
        """The root the user added that holds path (the longest), or None."""
        held = [r for r in self.user_roots if _under(path, r)]
        return max(held, key=len) if held else None

    def decide(self, mount: MountInfo) -> CardDecision:
        """Whether mount is a card, with the reason (see the module's rules). May ask the OS (udisks, diskutil):
        call it off the GUI thread."""
        mp, fs = mount.mount_point, mount.fstype.lower()
        if platform.is_network(mount):
            source = "" if fs in platform.NETWORK_FS else f" from {mount.source}"
            return CardDecision(mp, False, f"network filesystem ({fs or 'unknown type'}{source}), not a card")
        if fs in platform.PSEUDO_FS:
            return CardDecision(mp, False, f"a filesystem of the system ({fs}), not a card")
        if mp in platform.SYSTEM_MOUNT_POINTS:
            return CardDecision(mp, False, "one of the system's own mounts, not a card")
        root = self.user_root_of(mp)
        if root is not None:
            where = "a mount root you added" if root == mp else f"under {root}, a mount root you added"
            return CardDecision(mp, True, f"a card: {where}")
        try:
            check = (self._media or platform.removable_media)(mount)
        except Exception as exc:  # a bug or an OS surprise must not stop the watching: said, and not listed
            check = MediaCheck(False, f"the OS could not be asked whether its device is removable "
                               f"({type(exc).__name__}: {exc})")
        if check.removable:
            return CardDecision(mp, True, f"a card: {check.why}")
        return CardDecision(mp, False, f"{check.why}: not a card ({_SETTINGS_HINT.format(mp)})")

    def explain(self, path: str, table: Iterable[MountInfo] | None = None) -> CardDecision:
        """Why the volume at path is (or is not) listed as a card: the answer to "why isn't my card shown?".
        `table` is the mount table (read when None)."""
        real = os.path.realpath(path)
        mounts = list(platform.mounts() if table is None else table)
        here = [m for m in mounts if m.mount_point == real]
        if not here:
            if not os.path.ismount(real):
                return CardDecision(real, False, "not a mount point: a card is a whole mounted volume (offload a "
                                    "folder by adding it by hand)")
            here = [MountInfo(real, "", "", "")]  # no table here (macOS, Windows): the OS is asked by path
        if not any(_under(real, r) and real != r for r in self.os_roots) and self.user_root_of(real) is None:
            return CardDecision(real, False, f"not under a mount root ({', '.join(self.roots) or 'none'}): "
                                f"not watched ({_SETTINGS_HINT.format(real)})")
        return self.decide(here[-1])
