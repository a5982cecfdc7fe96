"""A shooting day in a real catalog: three cards, three ways an offload ends.

- A001: to drive 1 and a second volume: verified on 2 volumes, safe to format.
- B001: to drive 1, where a different file already sits under one card file's name (never overwritten:
  that copy fails), and the second volume: completed with errors, not safe.
- A002: to two folders of drive 1: both copies verified, but one drive: not safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.conftest import CardBuilder, write_file
from tests.reports.conftest import OffloadRunner


@dataclass(frozen=True)
class Day:
    a001: int
    b001: int
    a002: int
    conflict_path: str  # B001's file that failed on D1


B001_FILES = {"B001C001_231014_R1AB.mov": 2_000_000, "B001C002_231014_R1AB.mov": 1_500_000, "SDINFO.TXT": 120}
A002_FILES = {"A002R2EC/A002C001_231014_R2EC.mov": 1_000_000, "A002R2EC/A002C002_231014_R2EC.mov": 10}


def shoot_day(tmp_path: Path, other_volume: Path, make_card: CardBuilder, run_offload: OffloadRunner) -> Day:
    drive1 = tmp_path / "drive1"
    drive1.mkdir()
    a001, _ = run_offload(make_card(), [drive1, other_volume], camera="A")
    b001_card = make_card(B001_FILES, name="B001R1AB")
    write_file(drive1 / "B001R1AB" / "SDINFO.TXT", 99, seed=4242)  # a different file, already there
    b001, _ = run_offload(b001_card, [drive1, other_volume], algorithms="xxh64,md5")
    (tmp_path / "drive1b").mkdir()
    a002, _ = run_offload(make_card(A002_FILES, name="A002R2EC"), [drive1, tmp_path / "drive1b"], camera="A")
    return Day(a001, b001, a002, "SDINFO.TXT")
