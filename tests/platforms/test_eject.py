"""Eject: each OS's own tool, in order; a failed unmount is a message a person can act on, a failed
power-off after the unmount is not a failure."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from datawrangler.platform import base, linux, macos, windows
from datawrangler.platform.base import Volume


def test_eject_commands_per_platform() -> None:
    v = Volume("/media/dit/A001", "A001", "exfat", "/dev/sdb1", "1234-ABCD", 1, 1, True, "8:17")
    assert linux.eject_commands(v, lambda n: "/usr/bin/udisksctl") == [
        ["udisksctl", "unmount", "--no-user-interaction", "-b", "/dev/sdb1"],
        ["udisksctl", "power-off", "--no-user-interaction", "-b", "/dev/sdb1"]]
    assert linux.eject_commands(v, lambda n: None) == [["umount", "/media/dit/A001"]]
    assert macos.eject_commands(v) == [["diskutil", "eject", "/media/dit/A001"]]
    assert not hasattr(windows, "eject_commands")  # Windows takes the fallback: nothing automated
    assert base.eject_commands(v) == []


def _returning(*codes: int) -> tuple[list[list[str]], base.Runner]:
    ran: list[list[str]] = []

    def runner(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
        ran.append(list(cmd))
        code = codes[len(ran) - 1]
        return subprocess.CompletedProcess(cmd, code, "", "target is busy" if code else "")

    return ran, runner


def test_eject_reports_a_busy_card() -> None:
    v = Volume("/media/dit/A001", "A001", "exfat", "/dev/sdb1", None, 1, 1, False, "8:17")
    ran, busy = _returning(32)
    r = linux.eject(v, runner=busy)
    assert not r.ok and "target is busy" in r.message
    assert len(ran) == 1


def test_a_failed_power_off_after_the_unmount_still_frees_the_card() -> None:
    v = Volume("/media/dit/A001", "A001", "exfat", "/dev/sdb1", None, 1, 1, True, "8:17")
    cmds = [["udisksctl", "unmount"], ["udisksctl", "power-off"]]
    ran, runner = _returning(0, 1)
    r = base.eject_with(cmds, v, runner)
    assert r.ok and "unmounted" in r.message and ran == cmds


def test_where_nothing_is_automated_the_message_says_what_to_do() -> None:
    v = Volume("E:\\", "A001", "", None, None, 1, 1, None, "5")
    r = base.eject(v, runner=lambda cmd: (_ for _ in ()).throw(AssertionError("nothing may run")))
    assert not r.ok and "Safely Remove Hardware" in r.message
