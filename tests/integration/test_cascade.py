"""The cascading copy on real drives: the card on a tmpfs, the fast stage-1 "RAID" on another tmpfs, the slow
stage-2 "shuttles" on ext4 images (each a physical volume of its own, so safe to format counts them apart).

What these prove beyond tests/app/test_cascade.py (plain folders on one disk): the release and the verdict
across distinct drives, both shuttles written from one stage-1 copy byte for byte with an ASC MHL history the
reference tool verifies, and a second card's stage 1 running to the same RAID while the first card's stage 2
is held mid-copy (the scheduler lets it start: stage 2 holds only the drives it writes).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from datawrangler import platform
from datawrangler.app.cascade import pending_stage2, run_stage2
from datawrangler.app.drives import drives_of
from datawrangler.app.offload import Observer, OffloadOutcome, run_offload
from datawrangler.app.request import OffloadRequest, resume_request
from datawrangler.app.scheduler import Job, schedule
from datawrangler.config import Settings
from datawrangler.core.events import FileResult, OffloadState
from tests.conftest import CardBuilder
from tests.faultfs import KernelMount
from tests.handoff.conftest import Oracle, oracle
from tests.integration.conftest import Ext4Factory, TmpfsFactory

__all__ = ["oracle"]

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]

MB = 1 << 20
ROLL = "Day01/A001"


def _request(card: Path, raid: Path, shuttles: list[Path], required: int = 2, roll: str = ROLL) -> OffloadRequest:
    return OffloadRequest(str(card), (str(raid),), roll, copies_required=required, report=False, clips=None,
                          stage2=tuple(map(str, shuttles)))


def _card_files(card: Path) -> dict[str, bytes]:
    return {str(f.relative_to(card)): f.read_bytes() for f in sorted(card.rglob("*")) if f.is_file()}


def _roll_files(roll: Path) -> dict[str, bytes]:
    """The media a roll folder holds (its ascmhl folder left out)."""
    return {str(f.relative_to(roll)): f.read_bytes() for f in sorted(roll.rglob("*"))
            if f.is_file() and "ascmhl" not in f.relative_to(roll).parts}


def test_two_stages_on_real_drives_release_then_make_the_card_safe(
        make_card: CardBuilder, tmpfs_mount: TmpfsFactory, ext4_loop_mount: Ext4Factory, tmp_path: Path,
        oracle: Oracle) -> None:
    card_drive, raid = tmpfs_mount(64 * MB), tmpfs_mount(64 * MB)
    shuttles: list[KernelMount] = [ext4_loop_mount(48, label="SHUTTLE_A"), ext4_loop_mount(48, label="SHUTTLE_B")]
    card = make_card(root=Path(card_drive))
    catalog = tmp_path / "catalog.db"
    drives = {platform.physical_volume(str(p)) for p in (card_drive, raid, *shuttles)}
    assert len(drives) == 4, "each mount must be a physical volume of its own for this test to mean anything"

    first = run_offload(_request(card, Path(raid), [Path(s) for s in shuttles]), catalog=catalog)
    assert first.result.state is OffloadState.VERIFIED
    assert first.released and not first.safe and first.copies == 1, first.reasons  # one copy of two required
    assert len(first.stage2) == 1
    for s in shuttles:
        assert not (s / "Day01").exists(), "stage 1 wrote nothing on a stage-2 drive"

    second = run_stage2(first.stage2[0], catalog=catalog)
    assert second.result.state is OffloadState.VERIFIED and second.stage == 2
    assert second.cascade_of == first.offload_id and second.card_id == first.card_id
    assert second.safe and second.copies == 3, second.reasons  # the RAID and both shuttles, distinct drives
    assert pending_stage2(catalog) == []

    expected = _card_files(card)
    stage1_roll = raid / ROLL
    stage1_gens = sorted(p.name for p in (stage1_roll / "ascmhl").glob("*.mhl"))
    assert len(stage1_gens) == 1
    for s in shuttles:
        roll = s / ROLL
        assert _roll_files(roll) == expected  # byte-identical to the card, every file
        verified = oracle.verify(roll)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        gens = sorted(p.name for p in (roll / "ascmhl").glob("*.mhl"))
        assert len(gens) == 2 and gens[0] == stage1_gens[0], gens  # stage 1's generation, then stage 2's
        assert (roll / "ascmhl" / gens[0]).read_bytes() == (stage1_roll / "ascmhl" / gens[0]).read_bytes()
        chain = (roll / "ascmhl" / "ascmhl_chain.xml").read_text()
        assert [int(n) for n in re.findall(r'sequencenr="(\d+)"', chain)] == [1, 2], chain
        assert chain.index(gens[0]) < chain.index(gens[1])


def test_the_next_card_runs_to_the_same_raid_while_stage_two_is_held(
        make_card: CardBuilder, tmpfs_mount: TmpfsFactory, ext4_loop_mount: Ext4Factory, tmp_path: Path) -> None:
    raid, shuttle = tmpfs_mount(96 * MB), ext4_loop_mount(64, label="SHUTTLE")
    card_a = make_card(name="A001R2EC", root=tmp_path / "reader_a")
    card_b = make_card(name="A002R2EC", root=tmp_path / "reader_b")
    catalog = tmp_path / "catalog.db"

    a1 = run_offload(_request(card_a, Path(raid), [Path(shuttle)]), catalog=catalog)
    assert a1.released and not a1.safe and len(a1.stage2) == 1
    a2_id = a1.stage2[0]

    # the scheduler's view: A's stage 2 holds the shuttle it writes, not the RAID it reads
    a2_drives = drives_of(resume_request(a2_id, "", Settings()), catalog)
    raid_drive, shuttle_drive = platform.physical_volume(str(raid)), platform.physical_volume(str(shuttle))
    assert shuttle_drive in a2_drives and raid_drive not in a2_drives
    req_b = _request(card_b, Path(raid), [Path(shuttle)], roll="Day01/A002")
    b_drives = drives_of(req_b, catalog)
    assert raid_drive in b_drives
    plan = schedule([Job("A stage 2", "A stage 2", a2_drives, running=True), Job("B", "B", b_drives)])
    assert plan.start == ("B",) and plan.waiting == {}
    # a job that writes the shuttle (B's own stage 2, say) waits for A's stage 2
    plan = schedule([Job("A stage 2", "A stage 2", a2_drives, running=True),
                     Job("other", "other", frozenset({shuttle_drive}))])
    assert plan.start == () and plan.waiting == {"other": "A stage 2"}

    held, go = threading.Event(), threading.Event()
    files_seen: list[str] = []

    def on_file(f: FileResult) -> None:  # A's stage 2 stops after its first file, mid-copy
        files_seen.append(f.rel_path)
        if len(files_seen) == 1:
            held.set()
            assert go.wait(120)

    outcome: list[OffloadOutcome] = []
    errors: list[BaseException] = []

    def stage2_a() -> None:
        try:
            outcome.append(run_stage2(a2_id, catalog=catalog, observer=Observer(file=on_file), report=False))
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=stage2_a)
    worker.start()
    try:
        assert held.wait(60), errors
        b1 = run_offload(req_b, catalog=catalog)  # the next card, to the RAID A's stage 2 reads
        assert b1.result.state is OffloadState.VERIFIED and b1.released and len(b1.stage2) == 1
        assert not outcome and worker.is_alive(), "A's stage 2 was still held while B's stage 1 ran"
        assert _roll_files(raid / "Day01" / "A002") == _card_files(card_b)
        assert {j.offload_id for j in pending_stage2(catalog)} == {b1.stage2[0]}  # A's runs, B's waits
    finally:
        go.set()
        worker.join(120)
    assert not errors, errors
    [a2] = outcome
    assert a2.result.state is OffloadState.VERIFIED and a2.safe, a2.reasons
    b2 = run_stage2(b1.stage2[0], catalog=catalog)
    assert b2.result.state is OffloadState.VERIFIED and b2.safe, b2.reasons
    assert _roll_files(shuttle / ROLL) == _card_files(card_a)
    assert _roll_files(shuttle / "Day01" / "A002") == _card_files(card_b)
    assert pending_stage2(catalog) == []
