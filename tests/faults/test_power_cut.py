"""Power cuts: a destination loses everything not yet synced, then comes back (tests/powercutfs.py: file bytes
are stored only at fsync of the file, names only at fsync of their folder; syncfs does nothing, as on any
FUSE drive).

First the model itself, so these tests would fail if it stopped biting: an unsynced rename is undone, a name
synced without its bytes comes back empty, a folder whose parent was not synced is gone. Then real
`datawrangler offload --json` processes onto a PowerCutFS drive and a plain folder, the power cut right after
a VERIFIED offload, while the ASC MHL is written, and at seeded random requests inside it: either the machine
loses power (the writer SIGKILLed) or the drive alone (the writer goes on, records what it concluded, gets EIO).
Every copy the catalog calls verified must be on the drive with the card's bytes under its final name, no
ASC MHL may list a file that is not there, `datawrangler resume` brings the rest, and a second cut after it
loses nothing.

These tests found two engine bugs, fixed in core/medium/fs.py: on Linux copies were made durable with one
syncfs per batch, which reaches no FUSE filesystem (now each copy on a FUSE or network drive is fsynced as it
closes), and the parents of the folders an offload makes were never synced (a power cut right after a
VERIFIED offload lost the whole roll).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.conftest import write_file
from tests.faultfs import FaultMount, fuse_unavailable_reason
from tests.faults.common import (
    assert_nothing_claimed_falsely,
    copies,
    footage,
    has_copies_table,
    mhl_entries,
    temp_files,
    tree,
)
from tests.integration.conftest import mount_factory
from tests.powercutfs import REPO, PowerCutMount

pytestmark = [pytest.mark.root, pytest.mark.fuse]

PowerCutFactory = Callable[..., PowerCutMount]

TRIALS = 10
NAMING = ("mkdir", "link", "unlink", "rename", "fsyncdir")


@pytest.fixture
def powercut(tmp_path: Path) -> Iterator[PowerCutFactory]:
    """``powercut(name="pc") -> PowerCutMount`` over a fresh, empty backing folder; unmounted at teardown."""
    reason = fuse_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)

    def make(name: str = "pc") -> PowerCutMount:
        root = tmp_path / name
        return PowerCutMount(root / "backing", root / "mnt", root / "work")

    yield from mount_factory(make, PowerCutMount.stop)


# -- the model bites --------------------------------------------------------------------------------------


def _put(path: Path, data: bytes, *, sync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _syncfs(path: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert libc.syncfs(fd) == 0, os.strerror(ctypes.get_errno())
    finally:
        os.close(fd)


def _names(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_rename_whose_folder_was_not_synced_is_undone(powercut: PowerCutFactory) -> None:
    pc = powercut()
    data = os.urandom(70_000)
    _put(pc / "clip.tmp", data, sync=True)
    _sync_folder(pc.mountpoint)  # the temp name and its bytes are durable
    os.rename(pc / "clip.tmp", pc / "clip.mov")
    _put(pc / "other.mov", data, sync=True)  # bytes synced, name never
    pc.power_cut()
    assert _names(pc.mountpoint) == {"clip.tmp": data}, "an unsynced rename (or name) survived the cut"

    os.rename(pc / "clip.tmp", pc / "clip.mov")
    _sync_folder(pc.mountpoint)
    pc.power_cut()
    assert _names(pc.mountpoint) == {"clip.mov": data}


def test_a_name_synced_without_its_bytes_comes_back_empty_and_syncfs_does_not_help(
        powercut: PowerCutFactory) -> None:
    pc = powercut()
    _put(pc / "clip.mov", b"x" * 50_000, sync=False)
    _syncfs(pc.mountpoint)  # what the engine does on Linux: nothing reaches a FUSE filesystem
    _sync_folder(pc.mountpoint)
    point = pc.power_cut()
    assert _names(pc.mountpoint) == {"clip.mov": b""}
    assert (point["files"], point["with_data"]) == (1, 0)


def test_the_kernel_tells_a_fuse_filesystem_nothing_of_syncfs(faultfs: Callable[..., FaultMount]) -> None:
    """Why the model ignores syncfs: the kernel sends no request for it to a FUSE filesystem (only virtiofs
    asks for one), so neither the filesystem's process nor the storage behind it is asked to store anything."""
    fs = faultfs()
    _put(fs / "clip.mov", b"x" * 100_000, sync=False)
    before = len(fs.events())
    _syncfs(fs.mountpoint)
    assert fs.events()[before:] == []
    fd = os.open(fs / "clip.mov", os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    assert [e["op"] for e in fs.events()[before:]] == ["open", "fsync"]  # an fsync does reach it


def test_a_folder_is_stored_only_once_its_parent_is_synced(powercut: PowerCutFactory) -> None:
    pc = powercut()
    (pc / "A001" / "CLIPS").mkdir(parents=True)
    _put(pc / "A001" / "CLIPS" / "c.mov", b"clip", sync=True)
    _sync_folder(pc / "A001" / "CLIPS")  # the file and its name: but not the folders' names
    pc.power_cut()
    assert list(pc.mountpoint.iterdir()) == []

    (pc / "A001" / "CLIPS").mkdir(parents=True)
    _put(pc / "A001" / "CLIPS" / "c.mov", b"clip", sync=True)
    for folder in (pc / "A001" / "CLIPS", pc / "A001", pc.mountpoint):
        _sync_folder(folder)
    pc.power_cut()
    assert _names(pc.mountpoint) == {"A001/CLIPS/c.mov": b"clip"}


def test_the_handoff_folder_survives_a_power_cut(powercut: PowerCutFactory) -> None:
    """handoff.common.make_folder syncs the parent of each folder it makes: the ASC MHL written into a new
    ascmhl/ folder is on the drive after a cut; made with a plain makedirs, the same folder is gone."""
    from datawrangler.handoff.common import make_folder, write_atomic

    pc = powercut()
    (pc / "A001").mkdir()
    (pc / "B001").mkdir()
    _sync_folder(pc.mountpoint)
    os.makedirs(pc / "B001" / "ascmhl")
    write_atomic(str(pc / "B001" / "ascmhl" / "ascmhl_chain.xml"), b"<chain/>")
    make_folder(str(pc / "A001" / "ascmhl"))
    write_atomic(str(pc / "A001" / "ascmhl" / "ascmhl_chain.xml"), b"<chain/>")
    pc.power_cut()
    assert _names(pc.mountpoint) == {"A001/ascmhl/ascmhl_chain.xml": b"<chain/>"}
    assert (pc / "B001").is_dir() and not (pc / "B001" / "ascmhl").exists()


def test_a_link_then_unlink_rename_follows_its_folder_sync(powercut: PowerCutFactory) -> None:
    """The engine's commit is link(temp, final) + unlink(temp): both names are one file until the folder is
    synced, and a cut keeps whichever names were synced, as links of one file."""
    pc = powercut()
    _put(pc / "t.part", b"bytes", sync=True)
    _sync_folder(pc.mountpoint)
    os.link(pc / "t.part", pc / "final.mov")
    _sync_folder(pc.mountpoint)  # both names durable
    os.unlink(pc / "t.part")  # this one is not
    pc.power_cut()
    assert _names(pc.mountpoint) == {"t.part": b"bytes", "final.mov": b"bytes"}
    assert (pc / "t.part").stat().st_ino == (pc / "final.mov").stat().st_ino


def test_a_cut_armed_at_a_request_lands_inside_a_running_writer(powercut: PowerCutFactory) -> None:
    """A writer that stores each file properly (fsync, rename, folder fsync): the power goes at its 40th
    changing request, its requests then hang (it is SIGKILLed); after the cut, the files it finished are
    there whole, nothing else is but at most one temp name."""
    pc = powercut()
    script = ("import os,sys\nroot=sys.argv[1]\n"
              "for i in range(100):\n"
              " t=os.path.join(root,f'{i}.tmp'); fd=os.open(t,os.O_WRONLY|os.O_CREAT,0o644)\n"
              " os.write(fd,bytes([i])*5000); os.fsync(fd); os.close(fd)\n"
              " os.rename(t,os.path.join(root,f'{i}.mov'))\n"
              " d=os.open(root,os.O_RDONLY); os.fsync(d); os.close(d)\n")
    pc.cut_after(40)
    writer = subprocess.Popen([sys.executable, "-c", script, str(pc.mountpoint)])
    try:
        point = pc.wait_cut(20)
    finally:
        writer.send_signal(signal.SIGKILL)
        pc.power_cut()
        writer.wait(30)
    assert point is not None and point["counted"] == 40, f"the armed cut did not fire: {point}"
    assert writer.returncode == -signal.SIGKILL, "the writer went on past the cut"
    names = _names(pc.mountpoint)
    finished = sorted(int(n.removesuffix(".mov")) for n in names if n.endswith(".mov"))
    assert finished == list(range(len(finished))) and len(finished) >= 3
    for n, data in names.items():
        i = int(n.split(".")[0])
        assert data == bytes([i]) * 5000 or (n.endswith(".tmp") and data == b""), f"{n}: wrong bytes after the cut"
    assert len(names) - len(finished) <= 1


# -- the engine ----------------------------------------------------------------------------------------


def _card(root: Path) -> Path:
    """A card of 300 files (more than the engine's 256-file sync batch: a cut can fall between two batches) in
    two folders, one nested (the offload makes folders within folders). Not media files: reading clips is not
    what is tested, and costs seconds."""
    card = root / "A001R2EC"
    rnd = random.Random(16)
    for i in range(292):
        size = rnd.choice([0, 1, 700, 4096]) if i % 25 else rnd.choice([70_000, 300_000])
        write_file(card / f"CLIPS/A001C{i:03d}.bin", size, seed=i + 1)
    for i in range(8):
        write_file(card / f"SOUND/DAY01/A001_T{i:02d}.bin", 40_000 + i, seed=1000 + i)
    return card


ENGINE = "datawrangler"  # `python -m datawrangler`: the engine as it is


def _dw(module: str, home: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start `datawrangler ARGS --json` (from `module`), its output into files in its home (`_output`): a pipe
    nobody reads while the test waits for a cut would fill and stop the process."""
    env = {**os.environ, "DATAWRANGLER_HOME": str(home), "PYTHONPATH": str(REPO)}
    extra = ["--no-clips"] if args[0] == "offload" else []
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "stdout", "ab") as out, open(home / "stderr", "ab") as err:
        return subprocess.Popen([sys.executable, "-m", module, *args, "--json", *extra], cwd=REPO, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err)


def _output(home: Path, since: tuple[int, int] = (0, 0)) -> str:
    """What the processes started in `home` printed (from byte offsets `since`), stdout then stderr."""
    return "".join((home / name).read_bytes()[start:].decode(errors="replace")
                   for name, start in zip(("stdout", "stderr"), since, strict=True))


def _printed(home: Path) -> tuple[int, int]:
    out, err = (os.path.getsize(p) if p.exists() else 0 for p in (home / "stdout", home / "stderr"))
    return out, err


def _stuck(p: subprocess.Popen[bytes], home: Path, what: str, pc: PowerCutMount | None = None) -> NoReturn:
    """Fail (not as an AssertionError: no xfail may swallow it) with where a hung process and the filesystem
    wait, then kill the process."""
    stacks = []
    for pid in [p.pid, *([pc.process.pid] if pc is not None else [])]:
        spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
        if spy:
            stacks.append(subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True).stdout)
        with contextlib.suppress(OSError):
            stacks.append(str({tid: Path(f"/proc/{pid}/task/{tid}/wchan").read_text()
                               for tid in os.listdir(f"/proc/{pid}/task")}))
    p.kill()
    p.wait()
    pytest.fail(f"{what} hung; where it and the filesystem wait:\n" + "\n".join(stacks) + _output(home)[-3000:])


def _run(module: str, home: Path, *args: str) -> tuple[int, str]:
    """Run `datawrangler ARGS --json` to its end: (exit code, what it printed this time)."""
    before = _printed(home)
    p = _dw(module, home, *args)
    try:
        p.wait(timeout=90)
    except subprocess.TimeoutExpired:
        _stuck(p, home, f"datawrangler {' '.join(args)}")
    return p.returncode, _output(home, before)


def _offload(catalog: Path) -> tuple[int, str] | None:
    """The (id, state) of the one offload in the catalog, or None before it was recorded."""
    if not catalog.exists():
        return None
    con = sqlite3.connect(catalog)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        row = con.execute("SELECT id, state FROM offloads ORDER BY id").fetchone() if "offloads" in tables else None
    finally:
        con.close()
    return (int(row[0]), str(row[1])) if row else None


def _check_complete(card_state: dict[str, tuple[int, int, str]], catalog: Path, rolls: list[Path],
                    when: str) -> None:
    """The offload is verified, and every roll holds the card whole, listed whole by its ASC MHL."""
    offload = _offload(catalog)
    assert offload is not None and offload[1] == "verified", f"{when}: the offload is {offload}"
    assert_nothing_claimed_falsely(card_state, catalog=catalog, rolls=rolls)
    card_digests = {rel: v[2] for rel, v in card_state.items()}
    for roll in rolls:
        assert footage(roll) == card_digests, f"{when}: {roll} does not hold the card whole"
        assert set(mhl_entries(roll)) == set(card_state), f"{when}: the ASC MHL of {roll} does not list every file"
        assert not temp_files(roll), f"{when}: temp files left in {roll}"


def test_a_verified_offload_survives_a_power_cut_right_after_it(tmp_path: Path,
                                                                powercut: PowerCutFactory) -> None:
    module = ENGINE
    card = _card(tmp_path / "card")
    card_state = tree(card)
    pc, plain = powercut(), tmp_path / "plain"
    plain.mkdir()
    home = tmp_path / "home"
    code, out = _run(module, home, "offload", str(card), str(pc.mountpoint), str(plain))
    assert code == 0, out[-3000:]
    assert '"safe_to_format": true' in out
    pc.power_cut()
    _check_complete(card_state, home / "data" / "catalog.sqlite", [pc / card.name, plain / card.name],
                    "after a power cut that followed a VERIFIED offload")


def test_a_drive_that_loses_power_mid_offload_holds_what_the_catalog_claims(
        tmp_path: Path, powercut: PowerCutFactory) -> None:
    """Only the drive loses power (its own supply, a pulled cable), after the engine's first sync batch (256
    files) and one copy of the second: the process goes on, records what it had concluded, fails the rest on
    that drive. Back on, the drive holds every copy the catalog calls verified; resume brings the rest."""
    module = ENGINE
    card = _card(tmp_path / "card")
    card_state = tree(card)
    pc, plain, home = powercut(), tmp_path / "plain", tmp_path / "home"
    plain.mkdir()
    rolls, catalog = [pc / card.name, plain / card.name], home / "data" / "catalog.sqlite"
    pc.cut_after(1, glob=f"{card.name}/CLIPS/A001C260.bin", ops=["link"])  # its commit, in the second batch
    offload = _dw(module, home, "offload", str(card), str(pc.mountpoint), str(plain))
    try:
        if pc.wait_cut(90) is None:
            _stuck(offload, home, "the offload (no commit of A001C260.bin)", pc)
        time.sleep(1.0)  # the catalog takes in what was concluded before the cut
        pc.fail_requests()
        offload.wait(90)
    finally:
        offload.send_signal(signal.SIGKILL)
        pc.power_cut()
        offload.wait(60)
    claimed = [c.rel_path for c in copies(catalog) if c.state == "verified" and Path(c.roll) == rolls[0]]
    if not claimed:
        pytest.fail("the catalog claims no copy on the drive that lost power: the cut came before anything was "
                    "verified there, so this test proves nothing; move the cut later")
    assert_nothing_claimed_falsely(card_state, catalog=catalog, rolls=rolls)
    recorded = _offload(catalog)
    assert recorded is not None and recorded[1] != "verified", f"a drive lost power, yet the offload is {recorded}"
    code, out = _run(module, home, "resume", str(recorded[0]))
    assert code == 0, f"resume after the drive's power cut exited {code}: {out[-3000:]}"
    _check_complete(card_state, catalog, rolls, f"after the drive lost power ({len(claimed)} copies claimed) and "
                    "a resume")


def test_a_power_cut_while_the_asc_mhl_is_written_is_resumed(tmp_path: Path, powercut: PowerCutFactory) -> None:
    card = _card(tmp_path / "card")
    card_state = tree(card)
    pc, plain, home = powercut(), tmp_path / "plain", tmp_path / "home"
    plain.mkdir()
    rolls, catalog = [pc / card.name, plain / card.name], home / "data" / "catalog.sqlite"
    pc.cut_after(1, glob=f"{card.name}/ascmhl*")  # right after the ASC MHL folder is made
    offload = _dw(ENGINE, home, "offload", str(card), str(pc.mountpoint), str(plain))
    try:
        point = pc.wait_cut(90)
        if point is None:
            _stuck(offload, home, "the offload (no request on its ASC MHL folder)", pc)
    finally:
        offload.send_signal(signal.SIGKILL)
        pc.power_cut()
        offload.wait(timeout=60)
    if point["op"] != "mkdir":
        pytest.fail(f"the cut did not land where the handoff begins: {point}")
    assert_nothing_claimed_falsely(card_state, catalog=catalog, rolls=rolls)
    recorded = _offload(catalog)
    assert recorded is not None
    code, out = _run(ENGINE, home, "resume", str(recorded[0]))
    assert code == 0, f"offload {recorded} was cut while its ASC MHL was written; resume exited {code}: {out[-2000:]}"
    _check_complete(card_state, catalog, rolls, "after a cut in the handoff, then resume")


def _changing_requests(module: str, card: Path, tmp_path: Path, powercut: PowerCutFactory
                       ) -> tuple[int, int, int]:
    """How many changing requests, of them naming requests (NAMING), and folder syncs an uninterrupted offload
    of the card sends to a PowerCutFS drive."""
    pc, plain = powercut("reference"), tmp_path / "reference-plain"
    plain.mkdir()
    code, out = _run(module, tmp_path / "reference-home", "offload", str(card), str(pc.mountpoint), str(plain))
    assert code == 0, out[-3000:]
    pc.stop()
    return pc.counted(), pc.counted(NAMING), pc.counted(["fsyncdir"])


@pytest.mark.slow
def test_power_cuts_at_random_points_then_resume(tmp_path: Path, powercut: PowerCutFactory) -> None:
    module = ENGINE
    card = _card(tmp_path / "card")
    card_state = tree(card)
    total, naming, syncs = _changing_requests(module, card, tmp_path, powercut)
    rnd = random.Random(20240616)
    hits: list[str] = []
    for trial in range(TRIALS):
        pc, plain, home = powercut(f"pc{trial}"), tmp_path / f"plain{trial}", tmp_path / f"home{trial}"
        plain.mkdir()
        rolls, catalog = [pc / card.name, plain / card.name], home / "data" / "catalog.sqlite"
        if trial % 3 == 1:  # right after a folder sync: some names just stored, the catalog not told yet
            pc.cut_after(rnd.randint(1, syncs), ops=["fsyncdir"])
        elif trial % 3 == 2:  # among the requests that name files: commits, folder syncs, the handoff's renames
            pc.cut_after(rnd.randint(1, naming), ops=NAMING)
        else:  # anywhere, now and then past the end (the cut then follows the offload)
            pc.cut_after(rnd.randint(1, total + total // 10))
        drive_only = trial % 2 == 1
        offload = _dw(module, home, "offload", str(card), str(pc.mountpoint), str(plain))
        try:
            deadline = time.monotonic() + 90
            while pc.wait_cut(0.05) is None and offload.poll() is None:
                if time.monotonic() > deadline:
                    _stuck(offload, home, f"trial {trial}: the offload", pc)
            if drive_only:  # only the drive lost power: the process records what it concluded, then fails it
                time.sleep(1.0)
                pc.fail_requests()
                offload.wait(timeout=90)
        finally:
            offload.send_signal(signal.SIGKILL)  # the machine lost power: the process goes with it
            point = pc.power_cut()  # releases the requests the killed process waits in
            offload.wait(timeout=60)
        claimed = sum(c.state == "verified" and Path(c.roll) == rolls[0] for c in copies(catalog)) \
            if catalog.exists() and has_copies_table(catalog) else 0
        hits.append(f"{point['op']} {point['path']} (request {point['counted']}/{total}"
                    f"{', the drive alone' if drive_only else ''}): {point['files']} files kept, {claimed} claimed "
                    "verified")
        when = f"trial {trial}, power cut after {hits[-1]}"
        # every verified copy there whole, every final name with the card's bytes, no MHL entry without its file
        assert_nothing_claimed_falsely(card_state, catalog=catalog if catalog.exists() else None, rolls=rolls)

        recorded = _offload(catalog)
        if recorded is None:  # the cut came before the offload was recorded: nothing to resume, start again
            code, out = _run(module, home, "offload", str(card), str(pc.mountpoint), str(plain))
        elif recorded[1] != "verified" or any(set(mhl_entries(roll)) != set(card_state) for roll in rolls):
            # an offload cut while its handoff was written is verified without its ASC MHL: resume writes it
            code, out = _run(module, home, "resume", str(recorded[0]))
        else:
            code, out = 0, ""
        assert code == 0, f"{when}: the offload or resume after it exited {code}: {out[-3000:]}"
        _check_complete(card_state, catalog, rolls, f"{when}, then resumed")

        pc.power_cut()  # and the power goes again: nothing verified may go with it
        _check_complete(card_state, catalog, rolls, f"{when}, resumed, then cut again")
        pc.stop()
    print(f"\n{TRIALS} power cuts ({module}):\n  " + "\n  ".join(hits), file=sys.stderr)
    assert sum("freeze" not in h for h in hits) >= TRIALS // 2, "too few cuts landed inside the offload"
