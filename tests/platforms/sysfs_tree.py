"""A canned /sys for the removable-media tests: device folders with their attribute files and `subsystem`
links, block devices reachable through class/block, laid out as the kernel lays them out (a USB disk under
its USB interface and device, an SD card under its MMC host, a loop device under devices/virtual)."""

from __future__ import annotations

from pathlib import Path

from datawrangler.platform import MountInfo


class SysTree:
    def __init__(self, root: Path) -> None:
        self.root = root
        for sub in ("devices", "class/block", "bus", "class"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def device(self, rel: str, *, subsystem: str | None = None, **attrs: str) -> Path:
        """The device folder devices/<rel> with attribute files and, given, a `subsystem` link (bus/<name>)."""
        d = self.root / "devices" / rel
        d.mkdir(parents=True, exist_ok=True)
        for key, value in attrs.items():
            (d / key).write_text(value + "\n")
        if subsystem is not None and not (d / "subsystem").is_symlink():
            target = self.root / "bus" / subsystem
            target.mkdir(parents=True, exist_ok=True)
            (d / "subsystem").symlink_to(target)
        return d

    def disk(self, parent: str, name: str, *, removable: str = "0", partitions: tuple[str, ...] = (),
             slaves: tuple[str, ...] = ()) -> Path:
        """A whole disk devices/<parent>/block/<name> and its partitions, each linked from class/block."""
        d = self.device(f"{parent}/block/{name}", removable=removable)
        (self.root / "class" / "block" / name).symlink_to(d)
        for part in partitions:
            p = self.device(f"{parent}/block/{name}/{part}", partition=part[-1])
            (self.root / "class" / "block" / part).symlink_to(p)
        if slaves:
            (d / "slaves").mkdir()
            for slave in slaves:
                (d / "slaves" / slave).symlink_to(self.root / "class" / "block" / slave)
        return d

    # -- the machines a DIT meets

    def usb_disk(self, name: str, *, port: str = "unknown", removable: str = "0", bus: int = 2) -> Path:
        """A disk behind a USB interface (bus/usb) and a USB device whose port says `port`."""
        usb = f"pci0000:00/0000:00:14.0/usb{bus}/{bus}-1"
        self.device(f"pci0000:00/0000:00:14.0/usb{bus}", subsystem="usb", removable="unknown")
        self.device(usb, subsystem="usb", removable=port)
        self.device(f"{usb}/{bus}-1:1.0", subsystem="usb")
        return self.disk(f"{usb}/{bus}-1:1.0/host6/target6:0:0/6:0:0:0", name, removable=removable,
                         partitions=(f"{name}1",))

    def sata_disk(self, name: str, *, removable: str = "0", partitions: tuple[str, ...] = ()) -> Path:
        self.device("pci0000:00/0000:00:17.0", subsystem="pci", removable="unknown")
        return self.disk(f"pci0000:00/0000:00:17.0/ata{name[-1]}/host0/target0:0:0/0:0:0:0", name, removable=removable,
                         partitions=partitions or (f"{name}1",))

    def mmc_card(self, name: str, kind: str) -> Path:
        """A card on an MMC host: kind "SD" (a card in the laptop's slot) or "MMC" (soldered eMMC)."""
        host = "pci0000:00/0000:00:1e.6/mmc_host/mmc0"
        self.device(host, subsystem="mmc_host")
        self.device(f"{host}/mmc0:aaaa", subsystem="mmc", type=kind)
        return self.disk(f"{host}/mmc0:aaaa", name, partitions=(f"{name}p1",))

    def thunderbolt_nvme(self, name: str) -> Path:
        """An NVMe disk behind a PCIe bridge the kernel marks removable (Thunderbolt, USB4)."""
        bridge = "pci0000:00/0000:00:07.0/0000:05:00.0"
        self.device(bridge, subsystem="pci", removable="removable")
        self.device(f"{bridge}/0000:06:00.0", subsystem="pci", removable="removable")
        return self.disk(f"{bridge}/0000:06:00.0/nvme/nvme1", name, partitions=(f"{name}p1",))

    def loop(self, name: str, image: str) -> Path:
        d = self.disk("virtual", name)
        (d / "loop").mkdir()
        (d / "loop" / "backing_file").write_text(image + "\n")
        return d

    def swaps(self, *devices: str) -> Path:
        path = self.root.parent / "swaps"
        lines = ["Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority"]
        lines += [f"/dev/{d}                               partition\t8388604\t\t0\t\t-2" for d in devices]
        lines.append("/swapfile                               file\t\t2097148\t\t0\t\t-3")
        path.write_text("\n".join(lines) + "\n")
        return path


def mount(mount_point: str, source: str, fstype: str = "exfat") -> MountInfo:
    return MountInfo(mount_point, fstype, source, "8:17")
