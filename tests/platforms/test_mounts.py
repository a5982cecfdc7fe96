"""The mount table and what identifies a volume: which mounts count under a root, the kernel's escapes in
mount points, blkid's output, where removable media mount."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler import platform
from datawrangler.platform import linux, macos
from datawrangler.platform.base import MountInfo, containing_mount, mounts_under
from tests.faultfs import KernelMount

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's mount table")


def test_only_mounts_strictly_under_a_root_count(tmp_path: Path) -> None:
    root = str(tmp_path / "media")
    table = [MountInfo("/", "ext4", "/dev/sda1", "8:1"), MountInfo(root, "tmpfs", "tmpfs", "0:50"),
             MountInfo(root + "/A001", "exfat", "/dev/sdb1", "8:17"),
             MountInfo(root + "x/B001", "exfat", "/dev/sdc1", "8:33")]
    assert list(mounts_under(table, [root])) == [root + "/A001"]


def test_a_mount_at_a_root_the_user_added_counts_only_when_asked_for(tmp_path: Path) -> None:
    """/mnt itself may be a mount (a cloud machine's scratch disk): never a card root's own volume; a reader's
    fixed mount point that the user listed is."""
    table = [MountInfo("/mnt", "ext4", "/dev/sdb1", "8:17"), MountInfo("/srv/reader", "exfat", "/dev/sdc1", "8:33"),
             MountInfo("/srv/reader/inner", "exfat", "/dev/sdd1", "8:49")]
    assert list(mounts_under(table, ["/mnt", "/srv/reader"])) == ["/srv/reader/inner"]
    assert list(mounts_under(table, ["/mnt", "/srv/reader"], at=["/srv/reader"])) == ["/srv/reader",
                                                                                      "/srv/reader/inner"]


@pytest.mark.parametrize(("fstype", "source", "network"), [
    ("nfs4", "nas:/footage", True), ("cifs", "//nas/footage", True), ("fuse.sshfs", "dit@nas:/footage", True),
    ("fuse.mystery", "dit@nas:footage", True), ("fuse", "//server/share", True),
    ("exfat", "/dev/sdb1", False), ("tmpfs", "tmpfs", False), ("fuse.faultfs", "faultfs", False),
    ("zfs", "tank/footage", False), ("overlay", "overlay", False),
])
def test_a_network_filesystem_is_known_by_its_type_or_its_server(fstype: str, source: str, network: bool) -> None:
    assert platform.is_network(MountInfo("/mnt/x", fstype, source, "0:60")) is network


@pytest.mark.root
def test_macos_lists_the_mounts_in_its_roots_and_at_the_users(tmp_path: Path,
                                                            tmpfs_at: Callable[[Path], KernelMount]) -> None:
    """macOS has no mount table here: it lists the entries of /Volumes that are mount points (run on this
    machine's real mounts: the listing is plain os calls), and the user's roots that are mount points."""
    volumes, reader = tmp_path / "Volumes", tmp_path / "reader"
    (volumes / "plain folder").mkdir(parents=True)
    card = tmpfs_at(volumes / "A001")
    tmpfs_at(reader)
    found = macos.current([str(volumes)], at=[str(reader)])
    assert sorted(found) == [str(card.mountpoint), str(reader)]
    assert sorted(macos.current([str(volumes)])) == [str(card.mountpoint)]


def test_a_later_mount_over_the_same_point_hides_the_earlier() -> None:
    table = [MountInfo("/media/A001", "exfat", "/dev/sdb1", "8:17"), MountInfo("/media/A001", "tmpfs", "tmpfs", "0:9")]
    assert mounts_under(table, ["/media"])["/media/A001"].fstype == "tmpfs"
    assert containing_mount(table, "/media/A001/DCIM") == table[1]


@linux_only
def test_the_default_roots_are_the_platforms() -> None:
    roots = platform.default_roots()
    assert "/media" in roots and "/mnt" in roots
    assert any(r.startswith("/run/media/") for r in roots)


@linux_only
def test_mountinfo_escapes_are_undone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "mountinfo"
    table.write_text(
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
        "91 27 8:17 / /media/dit/A001\\040CARD\\011x rw,nosuid - exfat /dev/sdb1 rw\n"
        "92 27 8:18 /sub /mnt/back\\134slash rw shared:5 - ext4 /dev/disk\\040one rw\n"
        "garbage\n")
    monkeypatch.setattr(linux, "MOUNTINFO", str(table))
    assert linux.mounts() == [MountInfo("/proc", "proc", "proc", "0:21"),
                              MountInfo("/media/dit/A001 CARD\tx", "exfat", "/dev/sdb1", "8:17"),
                              MountInfo("/mnt/back\\slash", "ext4", "/dev/disk one", "8:18")]


@linux_only
def test_the_real_table_holds_the_root_and_its_device_number() -> None:
    root = platform.mount_of("/")
    assert root is not None and root.mount_point == "/"
    st = os.stat("/")
    assert root.dev == f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"


@linux_only
def test_a_virtual_filesystem_is_identified_by_its_device_number(tmp_path: Path) -> None:
    if platform.fstype("/dev/shm") != "tmpfs":
        pytest.skip("no tmpfs at /dev/shm")
    st = os.stat("/dev/shm")
    assert platform.physical_volume("/dev/shm") == f"dev:{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
    assert platform.disk_serial(platform.physical_volume("/dev/shm")) is None


def test_blkid_output_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    out = 'DEVNAME=/dev/loop3\nLABEL=A001\\ CARD\nUUID=0f1e2d3c-aaaa-bbbb-cccc-123456789abc\nTYPE=ext4\n'
    monkeypatch.setattr(linux.shutil, "which", lambda name: "/sbin/blkid")
    monkeypatch.setattr(linux.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, out, ""))
    assert linux.blkid("/dev/loop3") == {"DEVNAME": "/dev/loop3", "LABEL": "A001 CARD",
                                         "UUID": "0f1e2d3c-aaaa-bbbb-cccc-123456789abc", "TYPE": "ext4"}


def test_udev_link_names_are_unescaped() -> None:
    assert linux._unescape_udev("A001\\x20CARD") == "A001 CARD"
    assert linux._unescape_udev("caf\\xc3\\xa9") == "café"
