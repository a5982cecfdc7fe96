"""volume_at: which volume an eject of a card's path would act on. Only a mount point is a volume; a device
mounted at several places (a bind mount) is never handed to the eject tool by device."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from datawrangler.platform import volume_at
from datawrangler.platform.linux import eject_commands
from tests.volumes.conftest import CardMountFactory


def test_a_plain_folder_is_no_volume(tmp_path: Path) -> None:
    (tmp_path / "A001R2EC").mkdir()
    assert volume_at(str(tmp_path / "A001R2EC")) is None
    assert volume_at(str(tmp_path / "missing")) is None


@pytest.fixture
def bind(tmp_path: Path) -> Iterator[list[Path]]:
    made: list[Path] = []
    yield made
    for b in reversed(made):
        subprocess.run(["umount", "-l", str(b)], capture_output=True, check=False)


@pytest.mark.root
def test_only_the_mount_point_is_the_volume_and_a_bind_mount_keeps_no_device(
        tmp_path: Path, card_mount: CardMountFactory, bind: list[Path]) -> None:
    card = card_mount(tmp_path / "media" / "A001R2EC", label="A001R2EC")
    vol = volume_at(str(card.mountpoint))
    assert vol is not None and vol.mount_point == str(card.mountpoint)
    assert vol.label == "A001R2EC" and vol.device == card.device and vol.fstype == "ext4"

    inside = Path(card.mountpoint) / "DCIM"
    inside.mkdir()
    assert volume_at(str(inside)) is None  # ejecting would take the whole card, not this folder

    # the folder bound elsewhere: the same device at two mount points (the shape of a bind mount of a folder on
    # the system disk). Ejecting by device would act on every mount of the disk: only this mount point.
    target = tmp_path / "bound"
    target.mkdir()
    subprocess.run(["mount", "--bind", str(inside), str(target)], check=True, capture_output=True)
    bind.append(target)
    bound = volume_at(str(target))
    assert bound is not None and bound.mount_point == str(target) and bound.device is None
    assert eject_commands(bound, lambda n: "/usr/bin/udisksctl") == [["umount", str(target)]]
