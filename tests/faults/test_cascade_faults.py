"""Faults of the cascading copy, on real mounts: a stage-1 copy that rots on its drive while the page cache
still holds the good bytes, a `datawrangler stage2 run` process killed (SIGKILL) mid-copy, the stage-1 drive
unplugged before stage 2 runs, and a stage 1 that cannot read a file off the card.

Each would pass wrongly if what it names broke: stage 2 hashing cached pages would copy the rotten file as
verified; a resume that rewrote verified copies would change their inode/ctime; a stage 2 that ran without
its stage-1 drive would record something; a stage 1 with a read error would release the card.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler.app.cascade import pending_stage2, run_stage2
from datawrangler.app.catalog import open_db
from datawrangler.app.offload import OffloadOutcome, Refused, run_offload
from datawrangler.app.request import OffloadRequest, resume_request
from datawrangler.config import Settings
from datawrangler.core.errors import Code, OffloadError
from datawrangler.core.events import OffloadState
from datawrangler.store import cascade
from tests.conftest import CardBuilder, write_file
from tests.faultfs import cache_drops
from tests.integration.conftest import Ext4Factory, FaultFSFactory, TmpfsFactory

pytestmark = [pytest.mark.root, pytest.mark.timeout(180)]

MB = 1 << 20
ROLL = "Day01/A001"
BAD = "A001R2EC/A001C002_231014_R2EC.mov"


def _request(card: Path, raid: Path, shuttles: list[Path], required: int = 1) -> OffloadRequest:
    return OffloadRequest(str(card), (str(raid),), ROLL, copies_required=required, report=False, clips=None,
                          stage2=tuple(map(str, shuttles)))


def _copy_states(catalog: Path, offload_id: int) -> dict[str, str]:
    db = open_db(catalog)
    try:
        return dict(db.conn.execute(
            "SELECT f.rel_path, c.state FROM copies c JOIN files f ON f.id = c.file_id WHERE f.offload_id = ?",
            (offload_id,)).fetchall())
    finally:
        db.close()


@pytest.mark.fuse
def test_stage_two_reads_the_rot_on_the_drive_that_the_page_cache_hides(
        make_card: CardBuilder, faultfs: FaultFSFactory, tmp_path: Path) -> None:
    """The stage-1 copy's bytes change on the drive (the FaultFS backing file) after stage 1 verified it,
    while the kernel's page cache keeps the good bytes: stage 2 must hash the drive's, fail that file with
    stage_source_mismatch and write nothing of it."""
    card = make_card()
    good = (card / BAD).read_bytes()
    for attempt in range(3):
        raid = faultfs(f"raid{attempt}")
        shuttle = tmp_path / f"shuttle{attempt}"
        shuttle.mkdir()
        catalog = tmp_path / f"catalog{attempt}.db"
        first = run_offload(_request(card, Path(raid), [shuttle]), catalog=catalog)
        assert first.result.state is OffloadState.VERIFIED and first.released and first.safe
        copy = raid / ROLL / BAD
        drops = cache_drops()
        assert copy.read_bytes() == good  # its pages are in the cache now, clean
        backing = raid.backing / ROLL / BAD
        st = backing.stat()
        with open(backing, "r+b") as f:  # bit rot on the drive, behind the kernel's back: same size and time
            f.seek(1000)
            f.write(bytes([good[1000] ^ 0xFF]))
        os.utime(backing, ns=(st.st_atime_ns, st.st_mtime_ns))
        fetched = raid.bytes_read(f"{ROLL}/{BAD}")
        if copy.read_bytes() != good or raid.bytes_read(f"{ROLL}/{BAD}") != fetched or cache_drops() != drops:
            continue  # the cache was dropped meanwhile (drop_caches): it hides nothing this time
        second = run_stage2(first.stage2[0], catalog=catalog, report=False)
        assert raid.bytes_read(f"{ROLL}/{BAD}") - fetched >= len(good) - 4096  # read from the drive
        assert second.result.state is OffloadState.COMPLETED_WITH_ERRORS
        [failed] = second.result.failures
        assert failed.rel_path == BAD and failed.code is Code.STAGE_SOURCE_MISMATCH
        assert "Copy it again from the card" in failed.message
        assert not (shuttle / ROLL / BAD).exists()  # no copy of a copy that differs from the card
        assert (shuttle / ROLL / "SDINFO.TXT").read_bytes() == (card / "SDINFO.TXT").read_bytes()
        assert _copy_states(catalog, second.offload_id)[BAD] == "failed"
        assert _copy_states(catalog, first.offload_id)[BAD] == "changed"  # the stage-1 copy no longer counts
        assert not second.safe
        return
    pytest.skip("another process kept dropping the system caches (drop_caches) during the test")


def _wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


FRAMES = 300  # more than one batch (plan.batch_files, 256): the first batch is verified before the kill
STALLED = 280  # the file whose creation stalls on the shuttle, in the second batch


@pytest.mark.fuse
def test_stage_two_killed_mid_copy_resumes_without_rewriting_verified_files(
        faultfs: FaultFSFactory, tmp_path: Path) -> None:
    """`datawrangler stage2 run N` is killed with SIGKILL once its first batch of files is verified and a
    later file's creation stalls on the shuttle: the copy is listed interrupted, and a resume leaves the
    copies verified before the kill as they are (same inode, ctime and mtime, no create, write or rename of
    them: not written again), writes the rest and ends VERIFIED with the card safe to format."""
    card = tmp_path / "cards" / "A001R2EC"
    names = [f"A001R2EC/A001C001_231014_R2EC/frame_{i:07d}.ari" for i in range(FRAMES)]
    for i, rel in enumerate(names):
        write_file(card / rel, 16 * 1024, seed=i + 1)
    raid, shuttle = tmp_path / "raid", faultfs("shuttle")
    raid.mkdir()
    catalog = tmp_path / "catalog.db"
    first = run_offload(_request(card, raid, [Path(shuttle)], required=2), catalog=catalog)
    assert first.released and not first.safe
    stage2 = first.stage2[0]
    stalled = f"*/.dwtmp-*-{STALLED}.part"  # that file's temporary name while it is written
    # its write stalls (a create would hold the folder's lock, and the read-back of the files before it waits)
    stall = shuttle.stall(stalled, 120, ops=("write",))

    proc = subprocess.Popen([sys.executable, "-m", "datawrangler", "stage2", "run", str(stage2), "--catalog",
                             str(catalog), "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=os.environ.copy())
    seen: list[dict] = []
    verified = 0
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(json.loads(line))
            verified += seen[-1]["event"] == "file" and seen[-1]["status"] == "verified"
            if verified >= 200 and shuttle.events(glob=stalled, fault="stall"):
                recorded = _wait_for(lambda: list(_copy_states(catalog, stage2).values()).count("verified") >= 200)
                proc.send_signal(signal.SIGKILL)  # files verified, a later one on its way: the machine dies
                assert recorded, "the catalog did not record the files the process said were verified"
                break
    finally:
        proc.kill()
        shuttle.remove(stall)  # the killed process dies once its stalled request is answered
        proc.wait(60)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, seen[-3:]

    [job] = pending_stage2(catalog)
    assert job.offload_id == stage2 and job.state == "interrupted"
    before = _copy_states(catalog, stage2)
    kept = [rel for rel in names if before.get(rel) == "verified"]
    assert 200 <= len(kept) < FRAMES and names[STALLED] not in kept, len(kept)
    stats = {rel: os.stat(shuttle.backing / ROLL / rel) for rel in kept}  # as the drive holds them
    resumed_at = time.time()

    out = run_offload(resume_request(stage2, "", Settings()), catalog=catalog)
    assert out.stage == 2 and out.result.state is OffloadState.VERIFIED
    assert out.safe and out.copies == 2, out.reasons
    for rel in names:
        assert (shuttle / ROLL / rel).read_bytes() == (card / rel).read_bytes()
    for rel, st in stats.items():  # not written again: the same file, its ctime unchanged
        now = os.stat(shuttle.backing / ROLL / rel)
        assert (now.st_ino, now.st_ctime_ns, now.st_mtime_ns) == (st.st_ino, st.st_ctime_ns, st.st_mtime_ns), rel
    kept_names = {Path(rel).name for rel in kept}
    rewritten = [e for e in shuttle.events() if e["t"] >= resumed_at and e["op"] in ("create", "write", "rename")
                 and {Path(e.get("path") or "/").name, Path(e.get("new") or "/").name} & kept_names]
    assert rewritten == [], rewritten[:3]
    assert set(_copy_states(catalog, stage2).values()) == {"verified"}
    assert pending_stage2(catalog) == []
    assert not list(Path(shuttle).rglob(".dwtmp-*")), "the killed run's temporary files were left behind"


def test_a_stage_one_drive_unplugged_before_stage_two_is_named_and_stays_pending(
        make_card: CardBuilder, ext4_loop_mount: Ext4Factory, tmp_path: Path) -> None:
    raid = ext4_loop_mount(32, label="RAID01")
    shuttle = tmp_path / "shuttle"
    shuttle.mkdir()
    card = make_card()
    catalog = tmp_path / "catalog.db"
    first = run_offload(_request(card, Path(raid), [shuttle], required=2), catalog=catalog)
    assert first.released and len(first.stage2) == 1
    stage2 = first.stage2[0]
    raid.unmount()  # the DIT took the RAID away

    with pytest.raises(OffloadError) as caught:
        run_stage2(stage2, catalog=catalog, report=False)
    message = str(caught.value)
    assert caught.value.code is Code.SOURCE_MISSING
    assert "RAID01" in message, message
    assert f"datawrangler stage2 run {stage2}" in message, message
    assert "not safe to format" in message, message
    assert not (shuttle / "Day01").exists()
    assert "verified" not in _copy_states(catalog, stage2).values()
    db = open_db(catalog)
    try:
        states = {s for (s,) in db.conn.execute("SELECT status FROM files WHERE offload_id = ?", (stage2,))}
        assert states == {"pending"}
        job = cascade.job(db, stage2)
        assert job is not None and job.state == "queued"
    finally:
        db.close()
    assert [j.offload_id for j in pending_stage2(catalog)] == [stage2]


@pytest.mark.fuse
def test_a_stage_one_with_an_unreadable_file_does_not_release_the_card(
        make_card: CardBuilder, faultfs: FaultFSFactory, tmp_path: Path) -> None:
    built = make_card(root=tmp_path / "built")
    reader = faultfs("reader", files={str(p.relative_to(built.parent)): p.read_bytes()
                                      for p in built.rglob("*") if p.is_file()})
    reader.eio_on_read(f"A001R2EC/{BAD}", offset=0)
    card = reader / "A001R2EC"
    raid, shuttle = tmp_path / "raid", tmp_path / "shuttle"
    raid.mkdir()
    shuttle.mkdir()
    catalog = tmp_path / "catalog.db"
    first = run_offload(_request(card, raid, [shuttle]), catalog=catalog)
    assert first.result.state is not OffloadState.VERIFIED
    assert any(f.rel_path == BAD for f in first.result.failures)
    assert not first.released and first.stage2 == () and not first.safe
    assert pending_stage2(catalog) == []
    db = open_db(catalog)
    try:
        assert cascade.released_at(db, first.offload_id) is None
        assert cascade.children(db, first.offload_id) == []
    finally:
        db.close()
    assert not any(shuttle.iterdir())

    reader.clear()  # the reader reads again: the retry of stage 1 releases the card and queues stage 2
    again = run_offload(resume_request(first.offload_id, str(card), Settings()), catalog=catalog)
    assert again.result.state is OffloadState.VERIFIED and again.released and len(again.stage2) == 1


@pytest.mark.fuse
def test_the_stage_one_drive_vanishing_mid_stage_two_leaves_it_to_resume(
        faultfs: FaultFSFactory, tmp_path: Path) -> None:
    """The RAID that stage 2 reads goes away part way (every operation fails ENODEV, as a yanked USB drive):
    stage 2 ends interrupted and stays listed to resume, no file read after that is recorded verified on the
    shuttle, the card is not safe to format, no stage-1 copy is condemned as different from the card, and
    once the drive is back a resume ends VERIFIED and safe."""
    card = tmp_path / "cards" / "A001R2EC"
    names = [f"A001R2EC/A001C{i:03d}_231014_R2EC.mov" for i in range(1, 7)]
    for i, rel in enumerate(names):
        write_file(card / rel, 1 * MB + 4096, seed=i + 1)
    raid, shuttle = faultfs("raid"), tmp_path / "shuttle"
    shuttle.mkdir()
    catalog = tmp_path / "catalog.db"
    first = run_offload(_request(card, Path(raid), [shuttle], required=2), catalog=catalog)
    assert first.released and not first.safe
    stage2 = first.stage2[0]
    gone = raid.vanish(after_bytes=3 * MB)  # half way through stage 2's read of the stage-1 copy

    out = run_stage2(stage2, catalog=catalog, report=False)
    assert out.result.state is OffloadState.INTERRUPTED and not out.safe
    assert all(f.code is not Code.STAGE_SOURCE_MISMATCH for f in out.result.failures), out.result.failures
    assert [(j.offload_id, j.state) for j in pending_stage2(catalog)] == [(stage2, "interrupted")]
    states = _copy_states(catalog, stage2)
    assert "verified" not in {states.get(rel) for rel in names[4:]}, states  # read after the drive went away
    for rel in names:  # a shuttle copy is either verified and whole, or not there under the card's name
        path = shuttle / ROLL / rel
        if states.get(rel) == "verified":
            assert path.read_bytes() == (card / rel).read_bytes()
    assert set(_copy_states(catalog, first.offload_id).values()) == {"verified"}  # no stage-1 copy condemned

    raid.remove(gone)  # the drive is back
    again = run_offload(resume_request(stage2, "", Settings()), catalog=catalog)
    assert again.stage == 2 and again.result.state is OffloadState.VERIFIED and again.safe, again.reasons
    for rel in names:
        assert (shuttle / ROLL / rel).read_bytes() == (card / rel).read_bytes()


def _too_small_shuttle(make_card: CardBuilder, tmpfs_mount: TmpfsFactory, tmp_path: Path) -> tuple[Path, int, Path]:
    """A card released to a RAID, its stage 2 queued to a 4 MB shuttle (too small) and a 32 MB one:
    (catalog, the stage-2 offload id, the large shuttle)."""
    card = make_card()  # 8 MB
    raid = tmp_path / "raid"
    raid.mkdir()
    small, large = tmpfs_mount(4 * MB), tmpfs_mount(32 * MB)
    catalog = tmp_path / "catalog.db"
    first = run_offload(_request(card, raid, [Path(small), Path(large)], required=2), catalog=catalog)
    assert first.released and len(first.stage2) == 1
    return catalog, first.stage2[0], Path(large)


def test_a_stage_two_drive_too_small_is_refused_before_a_byte_moves(
        make_card: CardBuilder, tmpfs_mount: TmpfsFactory, tmp_path: Path) -> None:
    catalog, stage2, large = _too_small_shuttle(make_card, tmpfs_mount, tmp_path)
    with pytest.raises(Refused) as caught:
        run_stage2(stage2, catalog=catalog, report=False)
    assert "Not enough free space" in str(caught.value) and "Day01" in str(caught.value)
    assert not [f for f in large.rglob("*") if f.is_file()]  # nothing written on the other shuttle either
    assert not (large / ROLL).exists()
    # nor the roll's parent folders that the refused run made to measure the drives: both shuttles as they were
    assert not [p for p in large.rglob("*") if p.name != "lost+found"]
    assert _copy_states(catalog, stage2) == {}
    assert [(j.offload_id, j.state) for j in pending_stage2(catalog)] == [(stage2, "queued")]


def test_a_stage_two_refusal_says_the_card_is_not_safe_and_how_to_run_it_again(
        make_card: CardBuilder, tmpfs_mount: TmpfsFactory, tmp_path: Path) -> None:
    catalog, stage2, _ = _too_small_shuttle(make_card, tmpfs_mount, tmp_path)
    with pytest.raises(Refused) as caught:
        run_stage2(stage2, catalog=catalog, report=False)
    message = str(caught.value)
    assert "not safe to format" in message, message
    assert f"datawrangler stage2 run {stage2}" in message, message


def _stage1_copy_lost(make_card: CardBuilder, tmp_path: Path) -> tuple[Path, OffloadOutcome]:
    """One copy required: stage 1 made the card safe; then one file of the stage-1 copy is deleted from the
    RAID (a careless clean-up) before stage 2 reads it. Returns (catalog, stage 2's outcome)."""
    card = make_card()
    raid, shuttle = tmp_path / "raid", tmp_path / "shuttle"
    raid.mkdir()
    shuttle.mkdir()
    catalog = tmp_path / "catalog.db"
    first = run_offload(_request(card, raid, [shuttle], required=1), catalog=catalog)
    assert first.released and first.safe
    (raid / ROLL / BAD).unlink()
    out = run_stage2(first.stage2[0], catalog=catalog, report=False)
    assert out.result.state is OffloadState.COMPLETED_WITH_ERRORS
    assert [f.rel_path for f in out.result.failures] == [BAD]
    assert not (shuttle / ROLL / BAD).exists()
    return catalog, out


def test_a_stage_one_copy_found_gone_in_stage_two_no_longer_counts(make_card: CardBuilder, tmp_path: Path) -> None:
    catalog, out = _stage1_copy_lost(make_card, tmp_path)
    assert _copy_states(catalog, out.cascade_of or 0)[BAD] != "verified"
    assert not out.safe and any(BAD.rsplit("/", 1)[1] in r for r in out.reasons), out.reasons


def test_a_stage_one_copy_found_gone_in_stage_two_is_said_of_the_stage_one_drive(make_card: CardBuilder,
                                                                                  tmp_path: Path) -> None:
    _, out = _stage1_copy_lost(make_card, tmp_path)
    [failed] = out.result.failures
    assert "card reader" not in failed.message and "stage-1 copy" in failed.message, failed.message
    assert "Copy it again from the card" in failed.message, failed.message


@pytest.mark.fuse
def test_a_stage_one_copy_stage_two_cannot_read_no_longer_counts(make_card: CardBuilder, faultfs: FaultFSFactory,
                                                                 tmp_path: Path) -> None:
    card = make_card()
    raid, shuttle = faultfs("raid"), tmp_path / "shuttle"
    shuttle.mkdir()
    catalog = tmp_path / "catalog.db"
    first = run_offload(_request(card, Path(raid), [shuttle], required=1), catalog=catalog)
    assert first.released and first.safe
    raid.eio_on_read(f"{ROLL}/{BAD}", offset=0)  # the RAID's sectors under that file went bad
    out = run_stage2(first.stage2[0], catalog=catalog, report=False)
    assert [f.rel_path for f in out.result.failures] == [BAD]
    assert _copy_states(catalog, first.offload_id)[BAD] != "verified"
    assert not out.safe, out.reasons
