"""Linux: whether a mount's device is removable media, and the reason, from canned /sys trees and canned
udisks (busctl) answers; and from this machine's own /sys for its root disk."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from datawrangler import platform
from datawrangler.platform import MediaCheck, MountInfo, linux_media
from datawrangler.platform.linux_media import media_check, sysfs_check, udisks_check, udisks_object
from tests.platforms.sysfs_tree import SysTree, mount

ROOT_ON_SDA = [MountInfo("/", "ext4", "/dev/sda2", "8:2"), MountInfo("/boot/efi", "vfat", "/dev/sda1", "8:1")]


@pytest.fixture
def sys_tree(tmp_path: Path) -> SysTree:
    tree = SysTree(tmp_path / "sys")
    tree.sata_disk("sda", partitions=("sda1", "sda2", "sda3"))  # the laptop's own disk
    return tree


def check(tree: SysTree, m: MountInfo, table: Sequence[MountInfo] = ROOT_ON_SDA, *,
          udisks: linux_media.Udisks | None = None, swaps: Path | None = None) -> MediaCheck:
    """media_check against the canned tree (udisks not asked unless given)."""
    return media_check(m, table, sys_root=str(tree.root), swaps=str(swaps or tree.root.parent / "no-swaps"),
                       udisks=udisks)


# -- sysfs


def test_a_card_reader_that_says_removable_is_removable_media(sys_tree: SysTree) -> None:
    sys_tree.usb_disk("sdb", removable="1")
    said = check(sys_tree, mount("/media/dit/A001", "/dev/sdb1"))
    assert said == MediaCheck(True, "removable media (sdb: removable=1)")


def test_a_usb_disk_that_says_removable_0_is_removable_for_its_bus(sys_tree: SysTree) -> None:
    """USB card readers and SSDs often say removable=0: a disk on USB is hotplug."""
    sys_tree.usb_disk("sdb", removable="0")
    assert check(sys_tree, mount("/media/dit/A001", "/dev/sdb1")) == MediaCheck(True, "on USB (sdb)")


def test_a_usb_disk_on_a_port_the_kernel_calls_fixed_is_not(sys_tree: SysTree) -> None:
    sys_tree.usb_disk("sdb", port="fixed")
    said = check(sys_tree, mount("/mnt/internal", "/dev/sdb1"))
    assert not said.removable and said.why == "a fixed disk (sdb: the kernel says its port 2-1 is fixed)"


def test_a_usb_port_the_kernel_calls_removable_says_so(sys_tree: SysTree) -> None:
    sys_tree.usb_disk("sdb", port="removable")
    said = check(sys_tree, mount("/media/dit/A001", "/dev/sdb1"))
    assert said == MediaCheck(True, "on a hotplug port (sdb: the kernel says 2-1 is removable)")


def test_a_thunderbolt_nvme_reader_is_removable_an_internal_sata_disk_is_not(sys_tree: SysTree) -> None:
    sys_tree.thunderbolt_nvme("nvme1n1")
    sys_tree.sata_disk("sdc", partitions=("sdc1",))
    tb = check(sys_tree, mount("/media/dit/CFE_A001", "/dev/nvme1n1p1"))
    assert tb.removable and "0000:06:00.0 is removable" in tb.why
    internal = check(sys_tree, mount("/mnt/data", "/dev/sdc1", "ext4"))
    assert internal == MediaCheck(False, "a fixed disk (sdc: removable=0, on no hotplug bus)")


def test_an_sd_card_in_the_laptops_slot_is_removable_emmc_is_not(tmp_path: Path) -> None:
    sd, emmc = SysTree(tmp_path / "a"), SysTree(tmp_path / "b")
    sd.mmc_card("mmcblk0", "SD")
    emmc.mmc_card("mmcblk0", "MMC")
    m = mount("/media/dit/A001", "/dev/mmcblk0p1")
    assert check(sd, m, []) == MediaCheck(True, "an SD card (mmcblk0)")
    assert check(emmc, m, []) == MediaCheck(False, "built-in flash memory (mmcblk0: eMMC)")


def test_a_loop_image_and_a_ram_disk_are_not_removable_media(sys_tree: SysTree) -> None:
    sys_tree.loop("loop3", "/home/dit/cards/A001.img")
    sys_tree.disk("virtual", "zram0")
    said = check(sys_tree, mount("/mnt/img", "/dev/loop3", "ext4"))
    assert said == MediaCheck(False, "a disk image on loop3 (/home/dit/cards/A001.img)")
    assert check(sys_tree, mount("/mnt/z", "/dev/zram0", "ext4")) == MediaCheck(False, "a RAM disk (zram0)")


def test_a_disk_holding_the_system_is_never_removable_media_even_a_usb_stick(sys_tree: SysTree) -> None:
    """A live system booted from a USB stick: its other partitions under /media are the system's disk."""
    sys_tree.usb_disk("sdb", removable="1")
    table = [MountInfo("/", "ext4", "/dev/sdb1", "8:17")]
    said = check(sys_tree, mount("/media/dit/persistence", "/dev/sdb1", "ext4"), table)
    assert said == MediaCheck(False, "on the system's own disk (sdb, which holds /)")
    # a partition of the laptop's disk mounted under /mnt: the disk of / and /boot/efi
    assert check(sys_tree, mount("/mnt/windows", "/dev/sda3", "ntfs3")) == MediaCheck(
        False, "on the system's own disk (sda, which holds /)")


def test_a_swap_disk_is_the_systems(sys_tree: SysTree) -> None:
    sys_tree.usb_disk("sdb", removable="1")
    swaps = sys_tree.swaps("sdb1")
    said = check(sys_tree, mount("/media/dit/X", "/dev/sdb1"), swaps=swaps)
    assert said == MediaCheck(False, "on the system's own disk (sdb, which holds swap)")


def test_an_encrypted_card_asks_the_disk_under_its_mapper_device(sys_tree: SysTree) -> None:
    sys_tree.usb_disk("sdb", removable="1")
    sys_tree.disk("virtual", "dm-0", slaves=("sdb1",))
    assert check(sys_tree, mount("/media/dit/SECURE", "/dev/dm-0", "ext4")).removable
    sys_tree.disk("virtual", "dm-1", slaves=("sda3",))  # LVM on the laptop's disk
    said = check(sys_tree, mount("/mnt/lv", "/dev/dm-1", "ext4"))
    assert said == MediaCheck(False, "on the system's own disk (sda, which holds /)")


def test_no_device_behind_the_mount_is_not_removable_media(sys_tree: SysTree) -> None:
    said = check(sys_tree, MountInfo("/mnt/scratch", "tmpfs", "tmpfs", "0:50"))
    assert said == MediaCheck(False, "no disk behind it (tmpfs from 'tmpfs')")
    said = check(sys_tree, mount("/mnt/gone", "/dev/sdz1"))
    assert said == MediaCheck(False, "the kernel lists no block device sdz1")


# -- udisks2 (busctl), canned


class Busctl:
    """A canned `busctl get-property`: {(object path, interface): lines}; records the calls."""

    def __init__(self, answers: dict[tuple[str, str], list[str]], returncode: int = 0) -> None:
        self.answers = answers
        self.returncode = returncode
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(args))
        lines = self.answers.get((args[2], args[3].rsplit(".", 1)[1]))
        if lines is None or self.returncode:
            return subprocess.CompletedProcess(args, 1, "", "Failed to get property: Unknown object")
        return subprocess.CompletedProcess(args, 0, "\n".join(lines) + "\n", "")


DRIVE = "/org/freedesktop/UDisks2/drives/Generic_STORAGE_DEVICE_000000001206"


def _udisks(block: str, hint_system: bool, hint_ignore: bool, removable: bool, media_removable: bool,
            bus: str = "usb", drive: str = DRIVE) -> Busctl:
    flag = {True: "b true", False: "b false"}
    return Busctl({
        (udisks_object(block), "Block"): [f'o "{drive}"', flag[hint_system], flag[hint_ignore]],
        (drive, "Drive"): [flag[removable], flag[media_removable], f's "{bus}"'],
    })


def test_the_udisks_object_path_escapes_the_device_name() -> None:
    assert udisks_object("sdb1") == "/org/freedesktop/UDisks2/block_devices/sdb1"
    assert udisks_object("dm-0") == "/org/freedesktop/UDisks2/block_devices/dm_2d0"


def test_udisks_says_removable_and_why() -> None:
    said = udisks_check("sdb1", _udisks("sdb1", False, False, True, True))
    assert said == MediaCheck(True, "removable (udisks: sdb1 Drive.Removable, on usb)")
    said = udisks_check("mmcblk0p1", _udisks("mmcblk0p1", False, False, False, True, bus="sdio"))
    assert said == MediaCheck(True, "removable (udisks: mmcblk0p1 Drive.MediaRemovable, on sdio)")


def test_udisks_hints_win_over_removable() -> None:
    said = udisks_check("sdb1", _udisks("sdb1", False, True, True, True))
    assert said == MediaCheck(False, "udisks is told to hide sdb1 (HintIgnore)")
    said = udisks_check("sdb1", _udisks("sdb1", True, False, True, False))
    assert said == MediaCheck(False, "udisks calls sdb1 a system device (HintSystem, on usb)")
    said = udisks_check("sda1", _udisks("sda1", True, False, False, False, bus=""))
    assert said == MediaCheck(False, "udisks calls sda1 a system device (HintSystem)")
    said = udisks_check("sdc1", _udisks("sdc1", False, False, False, False, bus="ata"))
    assert said == MediaCheck(False, "a fixed drive (udisks: sdc1 is not removable, on ata)")


def test_udisks_without_an_answer_leaves_it_to_sysfs(sys_tree: SysTree) -> None:
    sys_tree.usb_disk("sdb", removable="1")
    m = mount("/media/dit/A001", "/dev/sdb1")
    failing = Busctl({}, returncode=1)  # no such object, or no service on the bus
    assert udisks_check("sdb1", failing) is None
    assert check(sys_tree, m, udisks=lambda name: udisks_check(name, failing)) == MediaCheck(
        True, "removable media (sdb: removable=1)")
    no_drive = _udisks("sdb1", False, False, True, True, drive="/")  # dm, loop: udisks has no drive
    assert udisks_check("sdb1", no_drive) is None and len(no_drive.calls) == 1

    def hung(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(list(args), linux_media.UDISKS_TIMEOUT)

    assert udisks_check("sdb1", hung) is None
    garbled = Busctl({(udisks_object("sdb1"), "Block"): ["o /not/json", "b false", "b false"]})
    assert udisks_check("sdb1", garbled) is None


def test_udisks_answers_before_sysfs_but_after_the_systems_disks(sys_tree: SysTree) -> None:
    sys_tree.usb_disk("sdb", removable="1")
    fixed = _udisks("sdb1", False, False, False, False, bus="usb")
    said = check(sys_tree, mount("/media/dit/A001", "/dev/sdb1"), udisks=lambda n: udisks_check(n, fixed))
    assert said == MediaCheck(False, "a fixed drive (udisks: sdb1 is not removable, on usb)")
    asked: list[str] = []
    said = check(sys_tree, mount("/mnt/win", "/dev/sda3", "ntfs3"), udisks=lambda n: asked.append(n) or None)
    assert not said.removable and asked == [], "the system's disk is refused before udisks is asked"


def test_udisks_is_not_asked_without_busctl_or_a_system_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linux_media.shutil, "which", lambda name: None)
    assert udisks_check("sdb1") is None
    monkeypatch.setattr(linux_media.shutil, "which", lambda name: "/usr/bin/busctl")
    monkeypatch.setattr(linux_media, "SYSTEM_BUS", "/nonexistent/system_bus_socket")
    monkeypatch.delenv("DBUS_SYSTEM_BUS_ADDRESS", raising=False)
    assert udisks_check("sdb1") is None


# -- this machine


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's /sys")


@linux_only
def test_this_machines_root_disk_is_the_systems_own() -> None:
    root = platform.mount_of("/")
    if root is None or linux_media.block_name(root.source) is None or linux_media.block_dir(
            linux_media.block_name(root.source) or "") is None:
        pytest.skip("/ is not on a block device here (a container's overlay)")
    # the same device mounted again under /mnt (a bind mount would show this line): never a card
    said = platform.removable_media(MountInfo("/mnt/again", root.fstype, root.source, root.dev))
    assert not said.removable and said.why.startswith("on the system's own disk (")


@linux_only
def test_sysfs_of_this_machine_answers_for_every_disk() -> None:
    """Each block device this kernel lists gets an answer naming its disk, and a disk the kernel calls
    removable (removable=1) is removable media."""
    listed = Path("/sys/class/block")
    names = sorted(p.name for p in listed.iterdir()) if listed.is_dir() else []
    if not names:
        pytest.skip("no /sys/class/block here")
    for name in names:
        block = linux_media.block_dir(name)
        assert block is not None, name
        disk = linux_media.whole_disk(block)
        said = sysfs_check(disk)
        assert f"({os.path.basename(disk)}" in said.why, said
        if (Path(disk) / "removable").read_text().strip() == "1":
            assert said.removable, said
