"""A destination's small files written and verified in a process of its own (core.lane): the same outcomes, copies
and words as when the engine's threads do it, on real folders, a full tmpfs and a FUSE drive that corrupts what
it stores; a lane that dies hands its files back to the threads, and no process outlives the offload."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from datawrangler.core import lane
from datawrangler.core.destination import IN_TURN_FILE_BYTES
from datawrangler.core.errors import Code
from datawrangler.core.events import CopyState, FileResult, OffloadResult, OffloadState
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.transfer import is_temp_name, offload
from tests.conftest import CardBuilder
from tests.core.test_transfer import CardReads
from tests.integration.conftest import faultfs, tmpfs_mount  # noqa: F401  (fixtures)

KIB = 1024
REPO = Path(__file__).resolve().parents[2]


def run(card: Path, roots: Sequence[Path], check: bool = True, **options: object
        ) -> tuple[OffloadResult, dict[str, FileResult]]:
    files: dict[str, FileResult] = {}
    options = {"verify_mode": "destinations", **options}
    plan = OffloadPlan.create(card, [str(r) for r in roots], chunk_size=64 * KIB, batch_files=64,
                              **options)  # type: ignore[arg-type]
    result = offload(plan, on_file=lambda f: files.__setitem__(f.rel_path, f), check=check)
    return result, files


def outcome(files: dict[str, FileResult]) -> dict[str, tuple[object, ...]]:
    """What a file's result says, without what differs from run to run (times, folders)."""
    return {p: (f.status, tuple((c.destination, c.state, c.code, c.digests, c.attempts) for c in f.copies))
            for p, f in files.items()}


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def children() -> set[int]:
    """The processes this one started that still run."""
    pids: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as fh:
            pids.update(int(p) for p in fh.read().split())
    return pids


class LaneSpy:
    """Counts the batches each lane took (the real Lane.run, called through), and can kill a lane's process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, kill: bool = False) -> None:
        self.batches = 0
        self.fell_back = 0
        self.killed: set[int] = set()
        self.sizes: list[float] = []  # the average file size of each batch a lane took
        real: Callable[[lane.Lane, object], bool] = lane.Lane.run
        spy = self

        def counted(self: lane.Lane, files):  # type: ignore[no-untyped-def]
            took = real(self, files)
            spy.sizes.append(sum(w.job.file.size for w in files) / len(files))
            spy.batches += took
            spy.fell_back += not took
            if kill and took and id(self) not in spy.killed:  # each lane, after its first batch
                spy.killed.add(id(self))
                os.kill(self._process.pid, signal.SIGKILL)
                self._process.wait()
            return took

        monkeypatch.setattr(lane.Lane, "run", counted)
        monkeypatch.setattr(lane, "MIN_SMALL_FILES", 1)  # these cards are small: a lane for them all the same


def sequence(n: int) -> dict[str, int]:
    """An image sequence in two folders, one large file among the frames, one empty frame."""
    files = {f"A001C{1 + i // 150:03d}/F{i:06d}.dpx": (0 if i == 7 else 3000 + i) for i in range(n)}
    files["A001C001/A001C001.mov"] = 200 * KIB  # larger than a chunk: written by the threads between batches
    return files


def test_small_files_go_through_a_lane_and_end_as_with_the_threads(make_card: CardBuilder, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    card = make_card(sequence(300))
    roots = [tmp_path / n for n in ("l1", "l2", "t1", "t2")]
    for r in roots:
        r.mkdir()
    before = children()
    spy = LaneSpy(monkeypatch)
    in_lanes, by_lanes = run(card, roots[:2])
    assert spy.batches >= 2 * 300 * 3000 // (64 * KIB) and not spy.fell_back  # each batch, on both drives
    batches_with_lanes = spy.batches
    in_threads, by_threads = run(card, roots[2:], lanes=False)
    assert in_lanes.state is in_threads.state is OffloadState.VERIFIED
    assert in_lanes.files_verified == in_threads.files_verified == 301
    assert outcome(by_lanes) == outcome(by_threads)
    expected = tree(card)
    for r in roots:
        assert tree(r / card.name) == expected
        assert not [p for p in r.rglob("*") if is_temp_name(p.name)]
    assert children() == before  # both lanes ended with the offload
    assert spy.batches == batches_with_lanes  # none when told not to


def test_a_lane_that_dies_hands_its_files_back_to_the_threads(make_card: CardBuilder, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The lane processes are killed after their first batch: the next batch finds them gone, and the threads
    write and verify it and every later one. Every file is verified once, whole, under its name."""
    card = make_card(sequence(300))
    roots = [tmp_path / "d1", tmp_path / "d2"]
    for r in roots:
        r.mkdir()
    before = children()
    spy = LaneSpy(monkeypatch, kill=True)
    result, files = run(card, roots)
    assert len(spy.killed) == spy.fell_back == 2  # each lane was found gone at its next batch
    assert result.state is OffloadState.VERIFIED and result.files_verified == 301
    assert all(c.state is CopyState.VERIFIED and c.attempts == 1 for f in files.values() for c in f.copies)
    for r in roots:
        assert tree(r / card.name) == tree(card)
        assert not [p for p in r.rglob("*") if is_temp_name(p.name)]
    assert children() == before


def test_a_full_drive_fails_in_a_lane_as_with_the_threads(make_card: CardBuilder, tmp_path: Path,
                                                          tmpfs_mount,  # noqa: F811
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    """A tmpfs too small for the card: the same files fail with the same words in a lane as with the threads,
    the drive is given up as a whole, and the other destination has every file. What the lane logs reaches
    this process's log, and nothing of it the terminal."""
    caplog.set_level(logging.WARNING)
    card = make_card({f"A001C001/F{i:06d}.dpx": 4000 for i in range(300)})
    runs = []
    for lanes in (True, False):
        small = tmpfs_mount(256 * KIB)
        roomy = tmp_path / f"roomy-{lanes}"
        roomy.mkdir()
        spy = LaneSpy(monkeypatch)
        result, files = run(card, [small.mountpoint, roomy], check=False, lanes=lanes)  # past preflight: it fills
        assert bool(spy.batches) is lanes
        assert result.state is OffloadState.COMPLETED_WITH_ERRORS
        said = [r.getMessage() for r in caplog.records if "failed: The destination drive is full" in r.getMessage()]
        assert said == [f"destination {small.mountpoint / card.name} failed: {result.destinations[0].message}"]
        assert "drive is full" not in capfd.readouterr().err
        caplog.clear()
        assert tree(roomy / card.name) == tree(card)
        assert not [p for p in small.mountpoint.rglob("*") if is_temp_name(p.name)]
        for rel, data in tree(small.mountpoint / card.name).items():  # what is there is whole and right
            assert data == (card / rel).read_bytes()
        runs.append(({p: (f.copies[0].state, f.copies[0].code) for p, f in files.items()},
                     [(d.state, d.files_ok, d.files_failed, d.code, d.message.replace(str(small.mountpoint), "<drive>"))
                      for d in result.destinations]))
    assert runs[0][0] == runs[1][0]
    assert runs[0][1] == runs[1][1] and runs[0][1][0][3] is Code.DEST_FULL and runs[0][1][1][3] is None


@pytest.mark.fuse
def test_a_copy_the_drive_stores_wrong_is_caught_in_the_lane(make_card: CardBuilder, tmp_path: Path,
                                                              faultfs,  # noqa: F811
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A FUSE drive flips a byte of every copy of file number 40 as it stores it: the lane's read-back sees it,
    the copy is made again (retries) and, as with the threads, never gets its name."""
    card = make_card({f"A001C001/F{i:06d}.dpx": 3000 + i for i in range(120)})
    runs = []
    for lanes in (True, False):
        drive = faultfs(f"drive-{lanes}")
        drive.corrupt_on_store("*-40.part")
        good = tmp_path / f"good-{lanes}"
        good.mkdir()
        spy = LaneSpy(monkeypatch)
        result, files = run(card, [drive.mountpoint, good], lanes=lanes)
        assert bool(spy.batches) is lanes
        bad = files["A001C001/F000040.dpx"].copies[0]
        assert bad.state is CopyState.FAILED and bad.code is Code.VERIFY_MISMATCH and bad.attempts == 3
        assert not (drive.mountpoint / card.name / "A001C001" / "F000040.dpx").exists()
        assert result.files_verified == 119
        runs.append(outcome(files))
    assert runs[0] == runs[1]


def test_files_larger_than_the_in_turn_size_stay_with_the_threads(make_card: CardBuilder, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Frames of 100 KB fit in a chunk but are larger than what a destination verifies in turn with its writing:
    the threads keep them (a batch's read-back overlaps the next one's writing); only the card's tiny files go
    through the lanes."""
    card = make_card({**{f"A001C001/F{i:06d}.dpx": 100 * KIB for i in range(40)},
                      **{f"A001C002/S{i:03d}.txt": 500 for i in range(20)}})
    roots = [tmp_path / "d1", tmp_path / "d2"]
    for r in roots:
        r.mkdir()
    spy = LaneSpy(monkeypatch)
    result = offload(OffloadPlan.create(card, [str(r) for r in roots], verify_mode="destinations",
                                        chunk_size=1024 * KIB))  # a batch of small files: 1 MiB at most
    assert result.state is OffloadState.VERIFIED and result.files_verified == 60
    assert spy.batches >= 2 and max(spy.sizes) <= IN_TURN_FILE_BYTES  # the tiny files' batch, on each drive
    assert len(spy.sizes) < 2 * 5  # the frames' batches were not offered to the lanes
    for r in roots:
        assert tree(r / card.name) == tree(card)


def test_full_mode_sends_a_lane_only_what_the_card_gave_twice_alike(make_card: CardBuilder, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Full mode: the writer thread waits for the card's second read of each file of a batch before the lane
    takes it. A frame the card gives differently on every read after the first fails as with the threads (the
    same words, attempts and codes) and never gets a name; every other frame is verified and re-verified."""
    card = make_card(sequence(200))
    flaky = "A001C001/F000042.dpx"
    runs = []
    for lanes in (True, False):
        roots = [tmp_path / f"{lanes}-1", tmp_path / f"{lanes}-2"]
        for r in roots:
            r.mkdir()
        with monkeypatch.context() as m:
            reads = CardReads(m, card / flaky)
            reads.flip_on_reads = set(range(2, 100))  # every read after the first differs
            spy = LaneSpy(m)
            result, files = run(card, roots, verify_mode="full", retries=1, lanes=lanes)
        assert bool(spy.batches) is lanes
        bad = files[flaky]
        assert bad.code is Code.SOURCE_UNSTABLE and "different bytes" in bad.message
        assert result.files_verified == 200
        assert all(f.source_reverified for p, f in files.items() if p != flaky)
        for r in roots:
            assert not (r / card.name / flaky).exists()
            assert not [p for p in r.rglob("*") if is_temp_name(p.name)]
        runs.append(outcome(files))
    assert runs[0] == runs[1]


def _lanes_of(pid: int) -> list[int]:
    """The lane processes that offload process `pid` started, still running."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                args = fh.read().split(b"\0")
        except OSError:
            continue
        if b"from datawrangler.core.lane import main; main()" in args and args[-2:] == [str(pid).encode(), b""]:
            found.append(int(entry))
    return found


def test_ctrl_c_at_the_terminal_cancels_an_offload_whose_lanes_run(make_card: CardBuilder, tmp_path: Path) -> None:
    """The command is interrupted from the terminal (SIGINT to its process group) while its lanes copy: the
    offload is cancelled as always (the lanes, in a session of their own, are never hit by it and finish their
    batch), only whole, verified files have names, and no lane process is left."""
    card = make_card({f"A001C{1 + i // 1000:03d}/F{i:06d}.dpx": 2000 for i in range(6000)})
    roots = [tmp_path / "d1", tmp_path / "d2"]
    for r in roots:
        r.mkdir()
    env = dict(os.environ)
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[var] = str(tmp_path / var.lower())
    proc = subprocess.Popen([sys.executable, "-m", "datawrangler", "offload", str(card), *map(str, roots),
                             "--verify", "destinations", "--json", "--no-clips"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if '"event": "file"' in line:
            break
    lanes = _lanes_of(proc.pid)
    assert len(lanes) == 2  # one per destination, copying
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    events = [json.loads(line) for line in [*lines, *out.splitlines()] if line.startswith("{")]
    assert proc.returncode != 0, err
    done = [e for e in events if e["event"] == "done"]
    assert done and done[-1]["state"] == "cancelled", err
    assert "Traceback" not in err
    assert _lanes_of(proc.pid) == [] and all(not os.path.exists(f"/proc/{p}") for p in lanes)
    for r in roots:
        for rel, data in tree(r / card.name).items():  # what has its name is whole
            assert data == (card / rel).read_bytes()
        assert not [p for p in r.rglob("*") if is_temp_name(p.name)]
