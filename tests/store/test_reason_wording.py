"""The reasons a card is not safe to format count right: "1 file has", "2 files have" (never "1 files have").

Each case builds the condition for real (an offload through the CLI, then `status`) with one and with two
files concerned, and checks the opening words of the reason, count, noun and verb together.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from datawrangler.config import app_paths
from datawrangler.core.words import agree, plural
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder, write_file
from tests.store.conftest import RunCli

CLIP = "A001R2EC/A001C{:03d}_231014_R2EC.mov"


def _card(make_card: CardBuilder, n: int) -> Path:
    return make_card(files={CLIP.format(i + 1): 1000 + i for i in range(n)})


def _reasons(dw: RunCli, *args: str) -> list[str]:
    code, events = dw("status", *args)
    assert code == 1 and events[-1]["safe_to_format"] is False, events[-1]
    return list(events[-1]["reasons"])


@pytest.mark.parametrize(("n", "start"), [(1, "1 file has copies in several folders of one drive"),
                                          (2, "2 files have copies in several folders of one drive")])
def test_copies_on_one_drive(dw: RunCli, make_card: CardBuilder, tmp_path: Path, n: int, start: str) -> None:
    card = _card(make_card, n)
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    d2.mkdir()
    assert dw("offload", str(card), str(d1), str(d2))[0] == 0
    (reason,) = _reasons(dw, "A001", "--copies", "2")
    assert reason.startswith(start + ", which count as one copy"), reason


@pytest.mark.parametrize(("n", "start"), [(1, "1 file has fewer than 2 verified copies on distinct drives."),
                                          (2, "2 files have fewer than 2 verified copies on distinct drives.")])
def test_fewer_copies_than_required(dw: RunCli, make_card: CardBuilder, tmp_path: Path, n: int, start: str) -> None:
    card = _card(make_card, n)
    (tmp_path / "d1").mkdir()
    assert dw("offload", str(card), str(tmp_path / "d1"))[0] == 0
    assert _reasons(dw, "A001", "--copies", "2") == [start]


@pytest.mark.parametrize(("n", "start"), [(1, "1 file was copied with sizes checked only"),
                                          (2, "2 files were copied with sizes checked only")])
def test_sizes_only(dw: RunCli, make_card: CardBuilder, tmp_path: Path, other_volume: Path,
                    n: int, start: str) -> None:
    card = _card(make_card, n)
    (tmp_path / "d1").mkdir()
    assert dw("offload", str(card), str(tmp_path / "d1"), str(other_volume), "--verify", "size")[0] == 3
    (reason,) = _reasons(dw, "A001")
    assert reason.startswith(start), reason


@pytest.mark.parametrize(("n", "start"), [(1, "1 file on the card was never offloaded"),
                                          (2, "2 files on the card were never offloaded")])
def test_never_offloaded(dw: RunCli, make_card: CardBuilder, tmp_path: Path, other_volume: Path,
                         n: int, start: str) -> None:
    card = _card(make_card, 1)
    (tmp_path / "d1").mkdir()
    assert dw("offload", str(card), str(tmp_path / "d1"), str(other_volume))[0] == 0
    for i in range(n):  # the camera shot more
        write_file(card / CLIP.format(10 + i), 500, seed=40 + i)
    (reason,) = _reasons(dw, str(card))
    assert reason.startswith(start), reason


@pytest.mark.parametrize(("n", "start"), [(1, "1 file has a copy that failed"),
                                          (2, "2 files have a copy that failed")])
def test_failed_copies(dw: RunCli, make_card: CardBuilder, tmp_path: Path, other_volume: Path,
                       n: int, start: str) -> None:
    card = _card(make_card, 3)
    d1 = tmp_path / "d1"
    for i in range(n):  # a different file already sits under a clip's name: never overwritten, so it fails
        write_file(d1 / card.name / CLIP.format(i + 1), 77, seed=900 + i)
    assert dw("offload", str(card), str(d1), str(other_volume))[0] == 1
    reasons = _reasons(dw, "A001")
    assert len(reasons) == 1 and reasons[0].startswith(start), reasons


@pytest.mark.parametrize(("n", "start", "end"), [
    (1, "1 file has copies on the card's own drive", "Copy it to another drive."),
    (2, "2 files have copies on the card's own drive", "Copy them to another drive.")])
def test_copies_on_the_card_s_own_drive(dw: RunCli, make_card: CardBuilder, tmp_path: Path, other_volume: Path,
                                        n: int, start: str, end: str) -> None:
    # as in test_redundancy_card_disk (without root): the card's volume is then said to be mounted exactly at
    # the source, so the two folders on its disk are the card's own drive
    card = _card(make_card, n)
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    d2.mkdir()
    assert dw("offload", str(card), str(d1), str(d2), str(other_volume))[0] == 0
    db = open_catalog(app_paths().catalog_file)
    try:
        with db.atomic():
            db.conn.execute("UPDATE volumes SET last_mount_point = ? WHERE id = (SELECT volume_id FROM cards)",
                            (str(card),))
    finally:
        db.close()
    (reason,) = _reasons(dw, "A001", "--copies", "2")
    assert reason.startswith(start) and reason.endswith(end), reason


def test_the_helpers() -> None:
    assert [plural(n, "file") for n in (0, 1, 2)] == ["0 files", "1 file", "2 files"]
    assert plural(1, "entry") == "1 entry" and plural(3, "entry") == "3 entries"
    assert plural(2, "verified copy") == "2 verified copies" and plural(2, "day") == "2 days"
    assert plural(2, "MISMATCH") == "2 MISMATCHES" and plural(2, "person", "people") == "2 people"
    assert (agree(1, "has", "have"), agree(2, "has", "have"), agree(0, "was", "were")) == ("has", "have", "were")
