"""VolumeMonitor: sees cards mount and unmount under the mount roots, each exactly once.

Only cards are reported (`volumes.cards.CardFilter`: removable media under the platform's roots, and any
local volume under a root the user added). Every other mount under the roots (a network share, a fixed
disk, a disk image under /mnt) is decided once per mount, logged with its reason and kept in `ignored`, and
never reported as mounted.

The mount table is the truth: the monitor keeps the set of mounts under the roots and emits the
difference each time it looks. It looks every `interval` seconds, at once when the kernel says the mount
table changed (Linux: /proc/self/mountinfo polls POLLPRI on every mount and unmount), and at once when
watchdog sees an entry appear or vanish in a mount root (macOS /Volumes). Because every event comes from
one diff on one thread, a volume is never reported twice, and a mount that watchdog missed is still
found by the next look.

Pure Python: the callback runs on the monitor's thread; the GUI bridges it to a Qt signal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from datawrangler import platform
from datawrangler.platform import MountInfo, Volume, describe
from datawrangler.volumes.cards import CardDecision, CardFilter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VolumeMounted:
    volume: Volume


@dataclass(frozen=True)
class VolumeUnmounted:
    volume: Volume


VolumeEvent = VolumeMounted | VolumeUnmounted
Callback = Callable[[VolumeEvent], None]
IgnoredCallback = Callable[[CardDecision], None]


class _Waker:
    """Sleeps until woken (another thread, or the kernel's mount-table notice) or the timeout."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._poll: select.poll | None = None
        self._fds: list[int] = []
        self._mountinfo = None
        if hasattr(select, "poll"):
            r, w = os.pipe()
            os.set_blocking(r, False)
            os.set_blocking(w, False)
            self._fds = [r, w]
            self._poll = select.poll()
            self._poll.register(r, select.POLLIN)
            if os.path.exists(platform.MOUNTINFO):
                try:
                    self._mountinfo = open(platform.MOUNTINFO, "rb")  # noqa: SIM115 - closed in close()
                    self._poll.register(self._mountinfo.fileno(), select.POLLPRI | select.POLLERR)
                except OSError:
                    self._mountinfo = None

    def wake(self) -> None:
        if self._poll is None:
            self._event.set()
            return
        with contextlib.suppress(OSError):  # the pipe is full: a wake-up is pending anyway
            os.write(self._fds[1], b"x")

    def wait(self, timeout: float) -> None:
        if self._poll is None:
            self._event.wait(timeout)
            self._event.clear()
            return
        for fd, _ in self._poll.poll(timeout * 1000):
            if fd == self._fds[0]:
                try:
                    while os.read(fd, 512):
                        pass
                except BlockingIOError:
                    pass
            # mountinfo: poll() itself re-arms the notice

    def close(self) -> None:
        if self._mountinfo is not None:
            self._mountinfo.close()
        for fd in self._fds:
            os.close(fd)
        self._fds = []


class VolumeMonitor:
    """start() ... stop(). `callback(VolumeMounted | VolumeUnmounted)` runs on the monitor's thread, for cards
    only.

    roots: where to look (default: the roots of `cards`). cards: what is a card (default:
    `CardFilter.for_roots(roots)`: the platform's own roots hold removable media only, any other root is one
    the user added). report_existing: also report the cards mounted before start() (as VolumeMounted, on the
    thread). on_ignored: called (on the thread) with the decision for each mount under the roots that is not
    a card, once per mount (default: logged only); with report_existing, for those mounted before start too.
    """

    def __init__(self, callback: Callback, roots: Iterable[str] | None = None, *, interval: float = 0.5,
                 report_existing: bool = False, use_watchdog: bool = True, cards: CardFilter | None = None,
                 on_ignored: IgnoredCallback | None = None) -> None:
        self.callback = callback
        if roots is None:
            roots = cards.roots if cards is not None else platform.default_roots()
        self.roots = platform.normalise_roots(roots)
        self.cards = cards if cards is not None else CardFilter.for_roots(self.roots)
        self.on_ignored = on_ignored
        self.interval = interval
        self.report_existing = report_existing
        self.use_watchdog = use_watchdog
        self._known: dict[str, Volume] = {}
        self._ignored: dict[str, tuple[MountInfo, CardDecision]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer = None
        self._waker: _Waker | None = None

    def __enter__(self) -> VolumeMonitor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def volumes(self) -> list[Volume]:
        """The cards mounted under the roots, as last seen."""
        with self._lock:
            return list(self._known.values())

    @property
    def ignored(self) -> list[CardDecision]:
        """The mounts under the roots that are not cards, each with its reason, as last seen."""
        with self._lock:
            return [decision for _, decision in self._ignored.values()]

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("VolumeMonitor already started")
        self._stopping.clear()
        self._waker = _Waker()
        if not self.report_existing:  # the baseline: what is mounted now is not news
            cards, ignored = self._sort(self._table())
            self._known = {mp: describe(m) for mp, m in cards.items()}
            self._remember(ignored)
        if self.use_watchdog:
            self._observer = self._start_observer()
        self._thread = threading.Thread(target=self._run, name="dw-volumes", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; returns once every thread of the monitor has ended."""
        self._stopping.set()
        if self._waker is not None:
            self._waker.wake()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join()
            self._observer = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._waker is not None:
            self._waker.close()
            self._waker = None

    def check(self) -> None:
        """Look now (from any thread): e.g. after the GUI heard of a new disk."""
        if self._waker is not None:
            self._waker.wake()

    def _start_observer(self) -> Any:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        waker: _Waker = self._waker  # type: ignore[assignment]

        class Wake(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                waker.wake()

        observer = Observer()
        observer.name = "dw-volumes-watchdog"
        scheduled = 0
        for root in self.roots:
            if os.path.isdir(root):
                try:
                    observer.schedule(Wake(), root, recursive=False)
                    scheduled += 1
                except OSError as exc:  # e.g. out of inotify watches: the mount table still tells
                    log.info("cannot watch %s (%s); relying on the mount table", root, exc)
        if not scheduled:
            return None
        observer.daemon = True
        observer.start()
        return observer

    def _run(self) -> None:
        waker = self._waker
        assert waker is not None
        while not self._stopping.is_set():
            try:
                self._reconcile()
            except Exception:  # a bug in one look must not end the watching
                log.exception("volume monitor: reconcile failed")
            waker.wait(self.interval)

    def _table(self) -> dict[str, MountInfo]:
        """The mounts under the roots, and at the roots the user added (a reader's fixed mount point)."""
        return platform.current(self.roots, self.cards.user_roots)

    def _sort(self, table: dict[str, MountInfo]) -> tuple[dict[str, MountInfo], list[tuple[MountInfo, CardDecision]]]:
        """(the cards, the newly seen mounts that are not) of table. A mount is decided once: again only when
        another device is mounted there (the OS may be asked: udisks, diskutil)."""
        cards: dict[str, MountInfo] = {}
        fresh: list[tuple[MountInfo, CardDecision]] = []
        for mp, m in table.items():
            known, seen = self._known.get(mp), self._ignored.get(mp)
            if known is not None and known.dev == m.dev:
                cards[mp] = m
            elif seen is not None and seen[0] == m:
                continue
            else:
                decision = self.cards.decide(m)
                if decision.card:
                    cards[mp] = m
                else:
                    fresh.append((m, decision))
        return cards, fresh

    def _remember(self, fresh: list[tuple[MountInfo, CardDecision]]) -> None:
        for m, decision in fresh:
            log.info("volumes: %s", decision)
            self._ignored[m.mount_point] = (m, decision)

    def _reconcile(self) -> None:
        table = self._table()
        with self._lock:
            for mp in [mp for mp in self._ignored if mp not in table]:
                del self._ignored[mp]
        now, fresh = self._sort(table)
        events: list[VolumeEvent] = []
        with self._lock:
            for mp, vol in list(self._known.items()):
                m = now.get(mp)
                if m is None or m.dev != vol.dev:
                    del self._known[mp]
                    events.append(VolumeUnmounted(vol))
            for mp, m in sorted(now.items()):
                if mp not in self._known:
                    vol = describe(m)
                    self._known[mp] = vol
                    events.append(VolumeMounted(vol))
            self._remember(fresh)
        for e in events:
            if self._stopping.is_set() and isinstance(e, VolumeMounted):
                break
            try:
                self.callback(e)
            except Exception:
                log.exception("volume monitor: the callback failed on %s", e)
        for _, decision in fresh:
            if self.on_ignored is not None and not self._stopping.is_set():
                try:
                    self.on_ignored(decision)
                except Exception:
                    log.exception("volume monitor: the callback failed on %s", decision)


def watching_supported() -> str | None:
    """None, or why this platform's mount table cannot be read."""
    if sys.platform.startswith("linux") and not os.path.exists(platform.MOUNTINFO):
        return f"{platform.MOUNTINFO} is missing"
    return None
