"""VolumeMonitor: every mount and unmount under the roots reported once, within 2 s, with the volume's
identity; threads stopped cleanly. The real-mount tests mount an ext4 loop image under a test root."""

from __future__ import annotations

import queue
import sys
import time
from pathlib import Path

import pytest

from datawrangler import platform
from datawrangler.platform import MountInfo
from datawrangler.volumes import monitor
from datawrangler.volumes.monitor import VolumeEvent, VolumeMonitor, VolumeMounted, VolumeUnmounted
from tests.volumes.conftest import CardMountFactory


def _collect() -> tuple[queue.Queue[tuple[float, VolumeEvent]], monitor.Callback]:
    q: queue.Queue[tuple[float, VolumeEvent]] = queue.Queue()
    return q, lambda e: q.put((time.monotonic(), e))


def _next(q: queue.Queue[tuple[float, VolumeEvent]], timeout: float = 5.0) -> tuple[float, VolumeEvent]:
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no volume event within {timeout} s") from None


# -- the reconcile logic, against a scripted mount table (no root needed)


class FakeTable:
    def __init__(self) -> None:
        self.mounts: dict[str, MountInfo] = {}

    def __call__(self, roots: object, at: object = ()) -> dict[str, MountInfo]:
        return dict(self.mounts)


@pytest.fixture
def fake_table(monkeypatch: pytest.MonkeyPatch) -> FakeTable:
    table = FakeTable()
    monkeypatch.setattr(platform, "current", table)
    # the OS module's describe asks it for label and UUID: made-up devices have none to probe
    monkeypatch.setattr(sys.modules[platform.describe.__module__], "label_and_uuid",
                        lambda m: (m.mount_point.rsplit("/", 1)[-1], None))
    return table


def test_each_change_is_reported_once(tmp_path: Path, fake_table: FakeTable, no_leaked_threads: None) -> None:
    old, a001 = f"{tmp_path}/OLD", f"{tmp_path}/A001"
    fake_table.mounts[old] = MountInfo(old, "exfat", "/dev/sdz1", "8:1")
    q, cb = _collect()
    mon = VolumeMonitor(cb, [str(tmp_path)], interval=0.05, use_watchdog=False)
    with mon:
        time.sleep(0.2)
        assert q.empty(), "a volume mounted before start() is not news"
        fake_table.mounts[a001] = MountInfo(a001, "exfat", "/dev/sdb1", "8:17")
        _, e = _next(q)
        assert isinstance(e, VolumeMounted) and e.volume.mount_point == a001
        assert e.volume.label == "A001" and e.volume.fstype == "exfat" and e.volume.device == "/dev/sdb1"
        time.sleep(0.3)  # many looks at an unchanged table: nothing more
        assert q.empty()
        # the same mount point, another device: the old card went away, a new one came
        fake_table.mounts[a001] = MountInfo(a001, "exfat", "/dev/sdc1", "8:33")
        _, gone = _next(q)
        _, came = _next(q)
        assert isinstance(gone, VolumeUnmounted) and gone.volume.device == "/dev/sdb1"
        assert isinstance(came, VolumeMounted) and came.volume.device == "/dev/sdc1"
        del fake_table.mounts[a001]
        _, e = _next(q)
        assert isinstance(e, VolumeUnmounted) and e.volume.device == "/dev/sdc1"
        assert [v.mount_point for v in mon.volumes] == [old]
        time.sleep(0.2)
        assert q.empty()


def test_report_existing_lists_what_is_already_mounted(tmp_path: Path, fake_table: FakeTable,
                                                       no_leaked_threads: None) -> None:
    fake_table.mounts[f"{tmp_path}/B002"] = MountInfo(f"{tmp_path}/B002", "exfat", "/dev/sdb1", "8:17")
    q, cb = _collect()
    with VolumeMonitor(cb, [str(tmp_path)], interval=0.05, report_existing=True, use_watchdog=False):
        _, e = _next(q)
        assert isinstance(e, VolumeMounted) and e.volume.label == "B002"
        time.sleep(0.2)
        assert q.empty()


def test_a_failing_callback_does_not_stop_the_watching(tmp_path: Path, fake_table: FakeTable,
                                                       no_leaked_threads: None) -> None:
    seen: list[VolumeEvent] = []

    def cb(e: VolumeEvent) -> None:
        seen.append(e)
        raise RuntimeError("a bug in the listener")

    with VolumeMonitor(cb, [str(tmp_path)], interval=0.05, use_watchdog=False):
        fake_table.mounts[f"{tmp_path}/A"] = MountInfo(f"{tmp_path}/A", "exfat", "/dev/sdb1", "8:17")
        time.sleep(0.3)
        fake_table.mounts[f"{tmp_path}/B"] = MountInfo(f"{tmp_path}/B", "exfat", "/dev/sdc1", "8:33")
        deadline = time.monotonic() + 3
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [e.volume.mount_point for e in seen] == [f"{tmp_path}/A", f"{tmp_path}/B"]


def test_watchdog_wakes_the_monitor_and_stops_with_it(tmp_path: Path, fake_table: FakeTable,
                                                      no_leaked_threads: None) -> None:
    """With a long interval, a new entry in a mount root (what macOS shows in /Volumes) makes the monitor
    look at once."""
    q, cb = _collect()
    mon = VolumeMonitor(cb, [str(tmp_path)], interval=30)
    with mon:
        time.sleep(0.3)  # let the first look pass
        fake_table.mounts[f"{tmp_path}/A001"] = MountInfo(f"{tmp_path}/A001", "exfat", "", "1:17")
        (tmp_path / "A001").mkdir()
        t0 = time.monotonic()
        at, e = _next(q, timeout=5)
        assert isinstance(e, VolumeMounted)
        assert at - t0 < 2


# -- real mounts (root)


@pytest.mark.root
def test_a_real_mount_is_seen_within_two_seconds_with_label_and_uuid(
        tmp_path: Path, card_mount: CardMountFactory, no_leaked_threads: None) -> None:
    root = tmp_path / "media" / "dit"
    root.mkdir(parents=True)
    q, cb = _collect()
    with VolumeMonitor(cb, [str(root)]) as mon:
        t0 = time.monotonic()
        card = card_mount(root / "A001_CARD", label="A001_CARD", size_mb=8)
        at, e = _next(q)
        assert isinstance(e, VolumeMounted), e
        assert at - t0 < 2.0, f"seen after {at - t0:.2f} s"
        v = e.volume
        assert v.mount_point == str(root / "A001_CARD")
        assert v.label == "A001_CARD"
        assert v.fs_uuid == card.fs_uuid  # type: ignore[attr-defined]
        assert v.fstype == "ext4" and v.device == card.device
        assert v.capacity is not None and 6 << 20 < v.capacity <= 8 << 20
        assert v.free is not None and 0 < v.free <= v.capacity
        assert v.removable is False  # a loop device is not removable
        time.sleep(1.0)
        assert q.empty(), "reported twice"
        t1 = time.monotonic()
        card.unmount()
        at, e = _next(q)
        assert isinstance(e, VolumeUnmounted) and e.volume == v
        assert at - t1 < 2.0, f"unmount seen after {at - t1:.2f} s"
        assert mon.volumes == []
        time.sleep(1.0)
        assert q.empty(), "unmount reported twice"


@pytest.mark.root
def test_quick_mount_unmount_cycles_are_all_seen(tmp_path: Path, card_mount: CardMountFactory,
                                                 no_leaked_threads: None) -> None:
    root = tmp_path / "media"
    root.mkdir()
    q, cb = _collect()
    with VolumeMonitor(cb, [str(root)], interval=5):  # the kernel's notice, not the timer, must wake it
        cards = [card_mount(root / f"C{i}", label=f"C{i}", size_mb=8) for i in range(3)]
        for c in cards:
            c.unmount()
        events = [_next(q, timeout=3)[1] for _ in range(6)]
        time.sleep(0.5)
        assert q.empty()
    mounted = sorted(e.volume.label or "" for e in events if isinstance(e, VolumeMounted))
    unmounted = sorted(e.volume.label or "" for e in events if isinstance(e, VolumeUnmounted))
    assert mounted == unmounted == ["C0", "C1", "C2"]
