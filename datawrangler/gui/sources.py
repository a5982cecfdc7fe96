"""Where cards come from: a monitor that calls back when a source appears or disappears.

The window needs only this small interface (`start(on_appeared, on_disappeared)`, `stop()`).
`VolumesAdapter` puts `datawrangler.volumes.VolumeMonitor` (the cards among the mounts) behind it;
`RootWatcher` polls roots for plain folders that come and go (an ingest folder; tests without mounts).
Callbacks arrive on the monitor's thread; the controller hands them to the GUI thread through the bridge.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

log = logging.getLogger(__name__)

Callback = Callable[[str], None]


class SourceMonitor(Protocol):
    """on_appeared(path, label=None); on_disappeared(path). Both may run on the monitor's thread."""

    def start(self, on_appeared: Callable[..., None], on_disappeared: Callback) -> None: ...

    def stop(self) -> None: ...


class RootWatcher:
    """Polls mount roots for folders appearing and disappearing (pure Python, one thread)."""

    def __init__(self, roots: Iterable[str], interval: float = 0.5) -> None:
        self.roots = tuple(roots)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: set[str] = set()

    def _list(self) -> set[str]:
        out: set[str] = set()
        for root in self.roots:
            with contextlib.suppress(OSError):
                for e in os.scandir(root):
                    if not e.name.startswith(".") and e.is_dir(follow_symlinks=False):
                        out.add(e.path)
        return out

    def start(self, on_appeared: Callable[..., None], on_disappeared: Callback) -> None:
        def loop() -> None:
            while True:
                now = self._list()
                for p in sorted(now - self._seen):
                    on_appeared(p)
                for p in sorted(self._seen - now):
                    on_disappeared(p)
                self._seen = now
                if self._stop.wait(self.interval):
                    return

        self._thread = threading.Thread(target=loop, name="dw-sources", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


class VolumesAdapter:
    """datawrangler.volumes.VolumeMonitor behind the same two callbacks (with the volume's label).

    `roots` are the ones the user added (settings `mount_roots`): every volume mounted at or under one is a
    card. The platform's own roots (/media, /run/media/$USER, /mnt, /Volumes) are watched besides, for
    removable media only (`volumes.cards`): a network share or a fixed disk under /mnt is not a card."""

    def __init__(self, roots: Iterable[str], interval: float = 0.5) -> None:
        self.roots = tuple(roots)
        self.interval = interval
        self.monitor: Any = None

    def start(self, on_appeared: Callable[..., None], on_disappeared: Callback) -> None:
        from datawrangler.volumes.cards import CardFilter
        from datawrangler.volumes.monitor import VolumeMonitor, VolumeMounted

        def cb(event: Any) -> None:
            vol = event.volume
            if isinstance(event, VolumeMounted):
                on_appeared(vol.mount_point, vol.label)
            else:
                on_disappeared(vol.mount_point)

        self.monitor = VolumeMonitor(cb, cards=CardFilter(user_roots=self.roots), interval=self.interval,
                                     report_existing=True)
        self.monitor.start()

    def stop(self) -> None:
        if self.monitor is not None:
            self.monitor.stop()
            self.monitor = None


def make_monitor(roots: Iterable[str], folders: bool = False) -> SourceMonitor:
    """The volumes package's mount monitor (cards are removable media, and the mounts under the user's
    roots); `folders=True`: the polling RootWatcher, for roots where cards are plain folders (a shared ingest
    folder, tests without mounts)."""
    roots = tuple(r for r in roots if r)
    return RootWatcher(roots) if folders else VolumesAdapter(roots)
