"""Handoff temporary files a power cut brought back are removed when the roll's handoff is written again;
those of a process still writing are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from datawrangler.handoff.common import TEMP_HEAD, TEMP_TAIL, AtomicFile, remove_stale_temps


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_the_temp_files_of_processes_that_ended_are_removed(tmp_path: Path) -> None:
    dead = tmp_path / f"{TEMP_HEAD}{_dead_pid()}-0123abcd{TEMP_TAIL}"
    mine = tmp_path / f"{TEMP_HEAD}{os.getpid()}-89abcdef{TEMP_TAIL}"
    engine = tmp_path / ".dwtmp-A001C001.mov.part"  # the engine's own temp names are its business
    card_file = tmp_path / "A001C001.mov"
    for f in (dead, mine, engine, card_file):
        f.write_bytes(b"x")
    assert remove_stale_temps(str(tmp_path)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (mine, engine, card_file))


def test_an_atomic_file_keeps_its_temporary_name_beside_the_final_one(tmp_path: Path) -> None:
    """One folder sync makes the rename durable: the temporary name is in the final folder, and names the
    writing process so a later run can tell a leftover from a file being written."""
    target = tmp_path / "roll" / "ascmhl" / "0001.mhl"
    target.parent.mkdir(parents=True)
    with AtomicFile(str(target)) as out:
        [temp] = list(target.parent.iterdir())
        assert temp.name.startswith(f"{TEMP_HEAD}{os.getpid()}-") and temp.name.endswith(TEMP_TAIL)
        out.write(b"<hashlist/>")
        out.commit()
    assert [p.name for p in target.parent.iterdir()] == ["0001.mhl"]
