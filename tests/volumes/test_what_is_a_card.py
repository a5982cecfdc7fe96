"""What is a card: removable media under the platform's roots and the volumes under the roots the user added;
never a network share, a pseudo filesystem or the system's own mounts. Every decision says why. The rules
against canned OS answers; then real mounts (tmpfs, ext4 loop images, a FUSE mount typed as sshfs) under a
test "platform root" and a test "user root", through the VolumeMonitor the window and `watch` use."""

from __future__ import annotations

import queue
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler import platform
from datawrangler.app.inspection import Decision, Inspection, auto_decision, inspect_card
from datawrangler.app.naming import name_card
from datawrangler.config import Settings, app_paths
from datawrangler.core.cards import recognise
from datawrangler.core.presets import Preset
from datawrangler.core.scan import scan_source
from datawrangler.platform import NETWORK_FS, MediaCheck, MountInfo
from datawrangler.store.db import open_catalog
from datawrangler.volumes.cards import CardDecision, CardFilter
from datawrangler.volumes.monitor import VolumeEvent, VolumeMonitor, VolumeMounted, VolumeUnmounted
from tests.conftest import write_file
from tests.faultfs import FaultMount, KernelMount
from tests.volumes.conftest import CardMountFactory

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's mount table and /sys")


class Media:
    """A canned platform.removable_media: one answer for every mount; records what it was asked."""

    def __init__(self, removable: bool, why: str) -> None:
        self.answer = MediaCheck(removable, why)
        self.asked: list[str] = []

    def __call__(self, mount: MountInfo) -> MediaCheck:
        self.asked.append(mount.mount_point)
        return self.answer


def never_asked(mount: MountInfo) -> MediaCheck:
    raise AssertionError(f"the OS was asked about {mount.mount_point}")


# -- the rules, with a canned answer from the OS


@pytest.mark.parametrize("fstype", sorted(NETWORK_FS))
def test_a_network_filesystem_is_never_a_card_even_under_a_root_the_user_added(fstype: str) -> None:
    cards = CardFilter(user_roots=["/srv/ingest"], os_roots=["/mnt"], media=never_asked)
    for mp in ("/mnt/share", "/srv/ingest/share"):
        decision = cards.decide(MountInfo(mp, fstype, "nas:/footage", "0:61"))
        assert decision == CardDecision(mp, False, f"network filesystem ({fstype}), not a card")
    assert str(cards.decide(MountInfo("/mnt/share", "cifs", "//nas/footage", "0:60"))) == (
        "/mnt/share: network filesystem (cifs), not a card")


def test_a_fuse_client_whose_source_names_a_server_is_a_network_filesystem() -> None:
    cards = CardFilter(user_roots=["/srv/ingest"], os_roots=["/mnt"], media=never_asked)
    decision = cards.decide(MountInfo("/srv/ingest/nas", "fuse.mystery", "dit@nas.local:/footage", "0:70"))
    assert decision.why == "network filesystem (fuse.mystery from dit@nas.local:/footage), not a card"
    # a local FUSE filesystem under the user's root is a card: its source names no server
    assert cards.decide(MountInfo("/srv/ingest/A001", "fuse.faultfs", "faultfs", "0:71")).card


def test_pseudo_filesystems_and_the_systems_mounts_are_never_cards() -> None:
    cards = CardFilter(user_roots=["/"], os_roots=["/media"], media=never_asked)
    autofs = cards.decide(MountInfo("/media/auto", "autofs", "systemd-1", "0:40"))
    assert autofs == CardDecision("/media/auto", False, "a filesystem of the system (autofs), not a card")
    for mp in ("/", "/home", "/boot/efi"):
        assert cards.decide(MountInfo(mp, "ext4", "/dev/sda2", "8:2")) == CardDecision(
            mp, False, "one of the system's own mounts, not a card")


def test_under_a_root_the_user_added_any_local_volume_is_a_card_without_asking_the_os() -> None:
    cards = CardFilter(user_roots=["/srv/ingest", "/mnt/reader"], os_roots=["/mnt"], media=never_asked)
    image = cards.decide(MountInfo("/srv/ingest/A001", "ext4", "/dev/loop3", "7:3"))
    assert image == CardDecision("/srv/ingest/A001", True, "a card: under /srv/ingest, a mount root you added")
    scratch = cards.decide(MountInfo("/srv/ingest/B001", "tmpfs", "tmpfs", "0:80"))
    assert scratch.card
    # the reader's fixed mount point, listed itself, under the platform's /mnt: the user's word wins
    reader = cards.decide(MountInfo("/mnt/reader", "exfat", "/dev/sda4", "8:4"))
    assert reader == CardDecision("/mnt/reader", True, "a card: a mount root you added")


def test_under_the_platforms_roots_the_os_decides_and_says_why() -> None:
    yes = Media(True, "removable media (sdb: removable=1)")
    card = CardFilter(os_roots=["/media"], media=yes).decide(MountInfo("/media/dit/A001", "exfat", "/dev/sdb1", "8:17"))
    assert card == CardDecision("/media/dit/A001", True, "a card: removable media (sdb: removable=1)")
    assert yes.asked == ["/media/dit/A001"]
    no = Media(False, "a fixed disk (sdc: removable=0, on no hotplug bus)")
    fixed = CardFilter(os_roots=["/mnt"], media=no).decide(MountInfo("/mnt/data", "ext4", "/dev/sdc1", "8:33"))
    assert str(fixed) == ("/mnt/data: a fixed disk (sdc: removable=0, on no hotplug bus): not a card (add /mnt/data "
                          "to the mount roots in the settings to take it as a card)")


def test_an_os_that_cannot_be_asked_is_said_and_the_mount_is_not_a_card() -> None:
    def broken(mount: MountInfo) -> MediaCheck:
        raise PermissionError(13, "Permission denied", "/sys/class/block/sdb/removable")

    decision = CardFilter(os_roots=["/media"], media=broken).decide(
        MountInfo("/media/dit/A001", "exfat", "/dev/sdb1", "8:17"))
    assert not decision.card
    assert decision.why.startswith("the OS could not be asked whether its device is removable (PermissionError: ")


@linux_only
def test_the_watched_roots_split_into_the_platforms_and_the_users(tmp_path: Path) -> None:
    cards = CardFilter.for_roots(["/media", str(tmp_path / "ingest"), "/mnt"])
    assert cards.os_roots == ("/media", "/mnt")
    assert cards.user_roots == (str(tmp_path / "ingest"),)
    both = CardFilter(user_roots=[str(tmp_path / "ingest")])
    assert set(platform.default_roots()) <= set(both.roots) and str(tmp_path / "ingest") in both.roots


def test_why_isnt_my_card_shown(tmp_path: Path) -> None:
    cards = CardFilter(user_roots=[str(tmp_path / "ingest")], os_roots=["/mnt"],
                       media=Media(False, "a fixed disk (sdc: removable=0, on no hotplug bus)"))
    table = [MountInfo("/", "ext4", "/dev/sda2", "8:2"), MountInfo("/mnt/share", "nfs4", "nas:/footage", "0:60"),
             MountInfo("/mnt/data", "ext4", "/dev/sdc1", "8:33"), MountInfo("/srv/cards", "exfat", "/dev/sdd1", "8:49")]
    assert str(cards.explain("/mnt/share", table)) == "/mnt/share: network filesystem (nfs4), not a card"
    assert cards.explain("/mnt/data", table).why.startswith("a fixed disk (sdc")
    outside = cards.explain("/srv/cards", table)
    assert not outside.card and outside.why.startswith("not under a mount root (/mnt, ")
    folder = tmp_path / "A001R2EC"
    folder.mkdir()
    assert cards.explain(str(folder), table).why.startswith("not a mount point")


# -- real mounts (root): a test "platform root" where only removable media are cards, and a "user root"


def _collect() -> tuple[queue.Queue[VolumeEvent], queue.Queue[CardDecision]]:
    return queue.Queue(), queue.Queue()


def _get(q: queue.Queue[CardDecision] | queue.Queue[VolumeEvent], timeout: float = 5.0) -> object:
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"nothing reported within {timeout} s") from None


@linux_only
@pytest.mark.root
def test_a_tmpfs_and_a_disk_image_under_the_platforms_root_are_not_cards_under_the_users_root_they_are(
        tmp_path: Path, card_mount: CardMountFactory, tmpfs_at: Callable[[Path], KernelMount],
        no_leaked_threads: None) -> None:
    os_root, user_root = tmp_path / "mnt", tmp_path / "ingest"
    os_root.mkdir()
    user_root.mkdir()
    events, ignored = _collect()
    cards = CardFilter(user_roots=[str(user_root)], os_roots=[str(os_root)])  # the real OS answers
    with VolumeMonitor(events.put, cards=cards, on_ignored=ignored.put, interval=0.1, use_watchdog=False) as mon:
        scratch = tmpfs_at(os_root / "scratch")
        said = _get(ignored)
        assert said == CardDecision(str(scratch.mountpoint), False, "no disk behind it (tmpfs from 'tmpfs'): not a "
                                    f"card (add {scratch.mountpoint} to the mount roots in the settings to take it as "
                                    "a card)")
        image = card_mount(os_root / "A001", label="A001", size_mb=8)
        said = _get(ignored)
        assert isinstance(said, CardDecision) and said.mount_point == str(image.mountpoint) and not said.card
        assert said.why.startswith(f"a disk image on {Path(image.device or '').name} ({image.image}")
        card = card_mount(user_root / "A002", label="A002", size_mb=8)
        came = _get(events)
        assert isinstance(came, VolumeMounted) and came.volume.label == "A002"
        assert came.volume.mount_point == str(card.mountpoint)
        time.sleep(0.5)
        assert events.empty() and ignored.empty(), "each mount is decided and said once"
        assert [v.mount_point for v in mon.volumes] == [str(card.mountpoint)]
        assert sorted(d.mount_point for d in mon.ignored) == sorted([str(image.mountpoint),
                                                                     str(scratch.mountpoint)])
        image.unmount()
        card.unmount()
        gone = _get(events)
        assert isinstance(gone, VolumeUnmounted) and gone.volume.label == "A002"
        deadline = time.monotonic() + 3
        while len(mon.ignored) != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [d.mount_point for d in mon.ignored] == [str(scratch.mountpoint)]
        assert events.empty(), "a mount that was not a card goes away without a word"


@linux_only
@pytest.mark.root
def test_a_volume_mounted_at_a_root_the_user_added_is_a_card(
        tmp_path: Path, card_mount: CardMountFactory, no_leaked_threads: None) -> None:
    """A reader with a fixed mount point (an fstab line): the user lists the mount point itself."""
    reader = tmp_path / "srv" / "reader"
    events, ignored = _collect()
    cards = CardFilter(user_roots=[str(reader)], os_roots=[str(tmp_path / "media")])
    with VolumeMonitor(events.put, cards=cards, on_ignored=ignored.put, interval=0.1, use_watchdog=False):
        card_mount(reader, label="B001", size_mb=8)
        came = _get(events)
        assert isinstance(came, VolumeMounted) and came.volume.mount_point == str(reader)


@linux_only
@pytest.mark.root
@pytest.mark.fuse
def test_a_real_sshfs_mount_is_refused_as_a_network_filesystem(
        tmp_path: Path, faultfs: Callable[..., FaultMount], no_leaked_threads: None) -> None:
    """A FUSE filesystem the kernel lists as fuse.sshfs from dit@nas:/footage, under a root the user added:
    never a card."""
    events, ignored = _collect()
    user_root = tmp_path / "share"
    with VolumeMonitor(events.put, [str(user_root)], on_ignored=ignored.put, interval=0.1, use_watchdog=False):
        share = faultfs("share", files={"A001C001.mov": b"x" * 100},
                        options={"subtype": "sshfs", "fsname": "dit@nas:/footage"})
        said = _get(ignored)
        assert said == CardDecision(str(share.mountpoint), False, "network filesystem (fuse.sshfs), not a card")
        time.sleep(0.3)
        assert events.empty()
    table = platform.mount_of(str(share.mountpoint))
    assert table is not None and (table.fstype, table.source) == ("fuse.sshfs", "dit@nas:/footage")


@linux_only
@pytest.mark.root
def test_the_platforms_own_roots_are_decided_by_the_real_os(
        tmp_path: Path, card_mount: CardMountFactory, monkeypatch: pytest.MonkeyPatch,
        no_leaked_threads: None) -> None:
    """`VolumeMonitor(cb, roots)` as `watch --root` calls it: a root that is one of the platform's (here a
    test folder made the platform's) holds removable media only; a loop image there is said and skipped."""
    media = tmp_path / "media"
    media.mkdir()
    monkeypatch.setattr(platform, "default_roots", lambda: (str(media),))
    events, ignored = _collect()
    with VolumeMonitor(events.put, [str(media)], on_ignored=ignored.put, interval=0.1, use_watchdog=False) as mon:
        assert mon.cards.os_roots == (str(media),) and mon.cards.user_roots == ()
        image = card_mount(media / "A001", label="A001", size_mb=8)
        said = _get(ignored)
        assert isinstance(said, CardDecision) and said.mount_point == str(image.mountpoint)
        assert "a disk image on loop" in said.why
        time.sleep(0.3)
        assert events.empty()


# -- an empty volume is given no reel name


def _inspect(path: Path, label: str | None = None) -> Inspection:
    db = open_catalog(app_paths().catalog_file)
    try:
        return inspect_card(db, str(path), Settings(), Preset("main"), label=label)
    finally:
        db.close()


def test_a_volume_holding_only_ignored_files_is_given_no_reel(tmp_path: Path) -> None:
    """What the OS leaves on a freshly formatted card (.Spotlight-V100, .fseventsd, ._ files) is no footage:
    the volume is empty after the ignore rules, and is listed without a reel, even named like a card."""
    card = tmp_path / "media" / "A001R2EC"
    for rel in (".Spotlight-V100/Store-V2/store.db", ".fseventsd/fseventsd-uuid", "._A001C001.mov", ".DS_Store"):
        write_file(card / rel, 64, seed=1)
    info = _inspect(card, label="A001R2EC")
    assert (info.files, info.clips, info.reel) == (0, 0, None)
    assert auto_decision(info, Preset("main", auto_offload=True, auto_generic=True)) == Decision(
        "skipped", "A001R2EC holds no files.")
    # the same volume once it holds a clip is named as before
    write_file(card / "A001R2EC/A001C001_231014_R2EC.mov", 1000, seed=2)
    assert _inspect(card, label="A001R2EC").reel == "A001"


def test_an_empty_volume_does_not_take_the_next_reel_of_the_counter(tmp_path: Path) -> None:
    """A generic empty volume (today: a network share under /mnt) was shown as A001 with 0 clips."""
    share = tmp_path / "mnt" / "share"
    share.mkdir(parents=True)
    db = open_catalog(app_paths().catalog_file)
    try:
        scan = scan_source(share)
        named = name_card(db, Preset("main"), recognise(share, scan=scan), scan.files)
    finally:
        db.close()
    assert (named.reel, named.counter, named.roll, named.collision, named.known) == (None, 0, "", None, None)
    assert _inspect(share).reel is None


@linux_only
@pytest.mark.root
def test_an_empty_card_mounted_for_real_is_listed_without_a_reel(
        tmp_path: Path, card_mount: CardMountFactory) -> None:
    """A freshly formatted card (an ext4 image: only lost+found) labelled like a reel: no reel name."""
    mount = card_mount(tmp_path / "media" / "A001", label="A001", size_mb=8)
    info = _inspect(mount.mountpoint, label="A001")
    assert (info.files, info.reel) == (0, None)
