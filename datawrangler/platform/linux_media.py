"""Linux: whether the device behind a mount is removable media, and why, in the OS's own words.

Asked in this order; the first that answers decides:
1. no block device behind the mount (tmpfs, overlay, most FUSE filesystems): not removable media;
2. a loop device (a disk image) or a RAM disk (zram, ram): not;
3. a disk that holds the system (/, /boot, /home, ... or swap): not, even a USB stick the system booted from;
4. udisks2, where the system bus and the service answer: Block.HintIgnore and Block.HintSystem (udisks' and
   the administrator's word), then Drive.Removable (removable media, flash cards, or a drive on a hotplug
   bus: udisks' own rule) or Drive.MediaRemovable;
5. sysfs: the disk's `removable` (1 for card readers), the `removable` attribute of the ports it hangs off
   ("removable" or "fixed": USB, Thunderbolt PCIe), a USB, FireWire or Memory Stick bus, an SD card on an
   MMC host (eMMC says type MMC: soldered in).

udisks is asked through `busctl` (systemd's D-Bus tool) in a subprocess with a timeout: no D-Bus library is
a dependency (jeepney or dbus-python would be one more, for two property reads per new mount), and the
question is asked once per new mount, not per look at the mount table. Without the tool, the system bus or
the service (containers, minimal systems), sysfs answers alone: udisks reads the same sysfs and udev facts,
and adds only the administrator's hints.

Every path under /sys and /proc is read through `sys_root` and `swaps`, so tests hand in canned trees.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence

from datawrangler.platform.base import SYSTEM_MOUNT_POINTS, MediaCheck, MountInfo

SYS = "/sys"
SWAPS = "/proc/swaps"
SYSTEM_BUS = "/run/dbus/system_bus_socket"
UDISKS = "org.freedesktop.UDisks2"
UDISKS_TIMEOUT = 3.0  # seconds for one busctl call; a hung bus must not hold the mount monitor

# sysfs bus names (a device's `subsystem` link) that are hotplug by nature, in words
HOTPLUG_BUSES = {"usb": "USB", "ieee1394": "FireWire", "firewire": "FireWire", "memstick": "a Memory Stick reader"}

Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]
Udisks = Callable[[str], MediaCheck | None]


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


# -- block devices in sysfs


def block_name(source: str) -> str | None:
    """The kernel's name of the block device a mount's source names (/dev/sdb1 -> sdb1; a /dev/disk or
    /dev/mapper link resolves to its node); None for a source that is no device node (tmpfs, a server)."""
    if not source.startswith("/dev/"):
        return None
    return os.path.basename(os.path.realpath(source))


def block_dir(name: str, sys_root: str = SYS) -> str | None:
    """The device's folder in sysfs (/sys/class/block/NAME resolved into /sys/devices), or None."""
    path = os.path.join(sys_root, "class", "block", name)
    return os.path.realpath(path) if os.path.exists(path) else None


def whole_disk(block: str) -> str:
    """A partition's disk (its parent folder in sysfs); a disk is its own."""
    return os.path.dirname(block) if os.path.exists(os.path.join(block, "partition")) else block


def backing_disks(block: str, sys_root: str = SYS, depth: int = 0) -> list[str]:
    """The whole disks a block device lives on: its own disk, or for device-mapper and md (LUKS, LVM, RAID)
    the disks under its `slaves`."""
    try:
        slaves = sorted(os.listdir(os.path.join(block, "slaves")))
    except OSError:
        slaves = []
    out: list[str] = []
    if depth < 8:
        for slave in slaves:
            found = block_dir(slave, sys_root)
            if found is not None:
                out.extend(backing_disks(found, sys_root, depth + 1))
    return out or [whole_disk(block)]


def swap_devices(swaps: str = SWAPS) -> list[str]:
    """The kernel names of the partitions used as swap (/proc/swaps; swap files live on a mounted disk)."""
    text = _read(swaps) or ""
    out = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 2 and fields[1] == "partition":
            name = block_name(fields[0])
            if name:
                out.append(name)
    return out


def system_disks(table: Iterable[MountInfo], sys_root: str = SYS, swaps: str = SWAPS) -> dict[str, str]:
    """{disk folder in sysfs: what of the system it holds ("/", "/home", "swap")}."""
    out: dict[str, str] = {}
    names = [(m.mount_point, block_name(m.source)) for m in table if m.mount_point in SYSTEM_MOUNT_POINTS]
    names += [("swap", name) for name in swap_devices(swaps)]
    for what, name in names:
        found = block_dir(name, sys_root) if name else None
        for disk in backing_disks(found, sys_root) if found else []:
            out.setdefault(disk, what)
    return out


def sysfs_check(disk: str, sys_root: str = SYS) -> MediaCheck:
    """What sysfs says of one whole disk: its `removable`, then the ports and buses it hangs off."""
    name = os.path.basename(disk)
    if _read(os.path.join(disk, "removable")) == "1":
        return MediaCheck(True, f"removable media ({name}: removable=1)")
    devices = os.path.realpath(os.path.join(sys_root, "devices"))
    port: tuple[str, str] | None = None  # the nearest port that says "removable" or "fixed"
    bus: str | None = None
    sd_card = emmc = False
    here = os.path.dirname(disk)
    while here.startswith(devices + os.sep):
        said = _read(os.path.join(here, "removable"))
        if port is None and said in ("removable", "fixed"):
            port = (said, os.path.basename(here))
        subsystem = os.path.basename(os.path.realpath(os.path.join(here, "subsystem")))
        if bus is None and subsystem in HOTPLUG_BUSES:
            bus = HOTPLUG_BUSES[subsystem]
        if subsystem == "mmc":
            kind = _read(os.path.join(here, "type"))
            sd_card, emmc = sd_card or kind == "SD", emmc or kind == "MMC"
        here = os.path.dirname(here)
    if port is not None and port[0] == "fixed":
        return MediaCheck(False, f"a fixed disk ({name}: the kernel says its port {port[1]} is fixed)")
    if port is not None:
        return MediaCheck(True, f"on a hotplug port ({name}: the kernel says {port[1]} is removable)")
    if bus is not None:
        return MediaCheck(True, f"on {bus} ({name})")
    if sd_card:
        return MediaCheck(True, f"an SD card ({name})")
    if emmc:
        return MediaCheck(False, f"built-in flash memory ({name}: eMMC)")
    return MediaCheck(False, f"a fixed disk ({name}: removable=0, on no hotplug bus)")


# -- udisks2 over D-Bus (busctl)


def udisks_object(name: str) -> str:
    """udisks' object path of a block device: every byte of its name outside [A-Za-z0-9] written _xx."""
    escaped = "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):02x}" for c in name)
    return f"/org/freedesktop/UDisks2/block_devices/{escaped}"


def run_busctl(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["busctl", "--system", "--auto-start=no", *args], capture_output=True, text=True,
                          timeout=UDISKS_TIMEOUT, check=False)


def _properties(runner: Runner, path: str, interface: str, names: Sequence[str]) -> list[object] | None:
    """`busctl get-property`: one value per line ("b true", 'o "/org/..."', 's "usb"'); None on any failure."""
    try:
        proc = runner(["get-property", UDISKS, path, f"{UDISKS}.{interface}", *names])
    except (OSError, subprocess.SubprocessError):
        return None
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != len(names):
        return None
    values: list[object] = []
    for line in lines:
        kind, _, text = line.partition(" ")
        try:
            values.append(text == "true" if kind == "b" else json.loads(text))
        except ValueError:
            return None
    return values


def udisks_check(name: str, runner: Runner | None = None) -> MediaCheck | None:
    """What udisks2 says of the block device `name`; None when it cannot be asked or does not know the
    device (no busctl, no system bus, no service, no drive behind it: a loop or dm device)."""
    if runner is None:
        if shutil.which("busctl") is None or not (os.path.exists(SYSTEM_BUS) or os.environ.get(
                "DBUS_SYSTEM_BUS_ADDRESS")):
            return None
        runner = run_busctl
    block = _properties(runner, udisks_object(name), "Block", ["Drive", "HintSystem", "HintIgnore"])
    if block is None:
        return None
    drive_path, hint_system, hint_ignore = block
    if hint_ignore:
        return MediaCheck(False, f"udisks is told to hide {name} (HintIgnore)")
    if not isinstance(drive_path, str) or drive_path in ("", "/"):
        return None
    drive = _properties(runner, drive_path, "Drive", ["Removable", "MediaRemovable", "ConnectionBus"])
    if drive is None:
        return None
    removable, media_removable, bus = drive
    on = f", on {bus}" if bus else ""
    if hint_system:
        return MediaCheck(False, f"udisks calls {name} a system device (HintSystem{on})")
    if removable or media_removable:
        said = "Removable" if removable else "MediaRemovable"
        return MediaCheck(True, f"removable (udisks: {name} Drive.{said}{on})")
    return MediaCheck(False, f"a fixed drive (udisks: {name} is not removable{on})")


# -- the answer for one mount


def media_check(mount: MountInfo, table: Iterable[MountInfo], *, sys_root: str = SYS, swaps: str = SWAPS,
                udisks: Udisks | None = udisks_check) -> MediaCheck:
    """Whether the device behind mount is removable media (a card may be in it), with the reason. `table` is
    the mount table, for the system's own disks; `udisks=None` asks sysfs alone."""
    name = block_name(mount.source)
    if name is None:
        return MediaCheck(False, f"no disk behind it ({mount.fstype or 'filesystem'} from {mount.source!r})")
    block = block_dir(name, sys_root)
    if block is None:
        return MediaCheck(False, f"the kernel lists no block device {name}")
    if name.startswith("loop"):
        image = _read(os.path.join(block, "loop", "backing_file"))
        return MediaCheck(False, f"a disk image on {name}" + (f" ({image})" if image else ""))
    if name.startswith(("zram", "ram")):
        return MediaCheck(False, f"a RAM disk ({name})")
    disks = backing_disks(block, sys_root)
    system = system_disks(table, sys_root, swaps)
    for disk in disks:
        if disk in system:
            return MediaCheck(False, f"on the system's own disk ({os.path.basename(disk)}, which holds "
                              f"{system[disk]})")
    said = udisks(name) if udisks is not None else None
    if said is not None:
        return said
    checks = [sysfs_check(disk, sys_root) for disk in disks]
    return next((c for c in checks if not c.removable), checks[0])
