"""Bad input through the command line: each case ends with a clear message (the stable code and a sentence
that says what to do), the right exit code, and nothing lost: the card unchanged, nothing under a final name
at the destinations that is not the card's bytes, and no catalog row claiming a copy that is not there.

Exit codes (cli/__init__.py): 2 refused before a byte moved; 1 finished with errors (the file named).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from datawrangler import platform
from datawrangler.cli import main
from datawrangler.core import plan as plan_mod
from datawrangler.core.scan import SourceFile, scan_source
from tests.conftest import CardBuilder, write_file
from tests.faults.common import assert_nothing_claimed_falsely, catalog_file, copies, footage, offload_rows, tree
from tests.faults.conftest import Run

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

RunCli = Callable[..., Run]


def refused(run: Run, code: str, *phrases: str) -> dict[str, Any]:
    """Exit 2, an error event with this code, a message holding each phrase; no offload started."""
    assert run.code == 2, f"exit {run.code}: {run.raw[-1500:]}"
    errors = [e for e in run.errors if e.get("code") == code]
    assert errors, f"no error with code {code!r}: {run.events}"
    for phrase in phrases:
        assert phrase in errors[0]["message"], errors[0]["message"]
    assert not run.of("start") and not run.of("file"), "a refused offload must not copy"
    return errors[0]


def nothing_written(*roots: Path, card_name: str) -> None:
    for root in roots:
        roll = root / card_name
        assert not roll.exists() or not any(roll.iterdir()), f"{roll} holds files after a refusal"


def no_offload_recorded() -> None:
    if catalog_file().exists():
        assert offload_rows() == [], "a refused offload left a row in the catalog"


@pytest.fixture
def card(make_card: CardBuilder) -> Path:
    return make_card()


# ------------------------------------------------------------------------------------------- the source


def test_source_missing(dw: RunCli, tmp_path: Path, dest_dirs) -> None:
    (d,) = dest_dirs(1)
    run = dw("offload", tmp_path / "NO_NAME", d)
    refused(run, "source_missing", "does not exist", "Check that the card is mounted")
    assert list(d.iterdir()) == []
    no_offload_recorded()


def test_source_is_a_file(dw: RunCli, card: Path, dest_dirs) -> None:
    (d,) = dest_dirs(1)
    run = dw("offload", card / "SDINFO.TXT", d)
    refused(run, "source_not_dir", "is not a folder", "Give the card's mount point")
    assert list(d.iterdir()) == []


# ----------------------------------------------------------------------------------- the destinations


def test_destination_is_the_source(dw: RunCli, card: Path) -> None:
    before = tree(card)
    run = dw("offload", card, card.parent)  # the roll folder <parent>/<card name> is the card itself
    refused(run, "dest_is_source", "is the card itself", "Choose a folder on another drive")
    assert tree(card) == before
    no_offload_recorded()


def test_destination_inside_the_source(dw: RunCli, card: Path) -> None:
    before = tree(card)
    run = dw("offload", card, card / "backup")
    refused(run, "dest_inside_source", "Never write to the card")
    assert tree(card) == before and not (card / "backup").exists()


def test_source_inside_the_destination(dw: RunCli, make_card: CardBuilder, tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    inner = make_card(root=drive / "ROLL", name="A001R2EC")  # the card folder lies inside the roll folder
    before = tree(drive)
    run = dw("offload", inner, drive, "--roll", "ROLL")
    refused(run, "source_inside_dest", "Choose a destination folder outside the card")
    assert tree(drive) == before


@pytest.mark.parametrize("how", ["same", "trailing slash", "symlink"])
def test_same_destination_twice(dw: RunCli, card: Path, dest_dirs, tmp_path: Path, how: str) -> None:
    (d,) = dest_dirs(1)
    other = {"same": str(d), "trailing slash": str(d) + "/", "symlink": str(tmp_path / "link")}[how]
    if how == "symlink":
        (tmp_path / "link").symlink_to(d)
    run = dw("offload", card, d, other)
    refused(run, "dest_duplicate", "given twice", "one folder is one copy")
    nothing_written(d, card_name=card.name)


def test_destination_missing(dw: RunCli, card: Path, tmp_path: Path) -> None:
    run = dw("offload", card, tmp_path / "SHUTTLE_not_mounted")
    refused(run, "dest_missing", "Connect the drive or create the folder")
    assert not (tmp_path / "SHUTTLE_not_mounted").exists()


def test_destination_is_a_file(dw: RunCli, card: Path, tmp_path: Path) -> None:
    f = tmp_path / "not_a_drive"
    f.write_bytes(b"x")
    run = dw("offload", card, f)
    refused(run, "dest_missing", "is not a folder")
    assert f.read_bytes() == b"x"


@pytest.mark.root
def test_destination_read_only(dw: RunCli, card: Path, tmp_path: Path, tmpfs_mount) -> None:
    drive = tmpfs_mount(16 << 20)
    writable = tmp_path / "raid"
    writable.mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(drive.mountpoint)], check=True, capture_output=True)
    run = dw("offload", card, writable, drive.mountpoint)
    err = refused(run, "dest_read_only", "Check the drive's write protection")
    assert "Read-only file system" in err["message"]
    nothing_written(writable, Path(drive.mountpoint), card_name=card.name)  # no half offload to the other one
    no_offload_recorded()


@pytest.mark.root
def test_not_enough_space(dw: RunCli, make_card: CardBuilder, tmp_path: Path, tmpfs_mount) -> None:
    card = make_card(files={f"C{i}.mov": 1 << 20 for i in range(6)})
    drive = tmpfs_mount(3 << 20)
    run = dw("offload", card, drive.mountpoint)
    refused(run, "no_space", "the offload needs", "Free space or choose a larger drive")
    nothing_written(Path(drive.mountpoint), card_name=card.name)


@pytest.mark.parametrize("roll", ["../escape", "A001:R2", "a/b"])
def test_a_roll_name_that_is_not_one_folder(dw: RunCli, card: Path, dest_dirs, roll: str) -> None:
    (d,) = dest_dirs(1)
    run = dw("offload", card, d, "--roll", roll)
    refused(run, "bad_roll_name", "Choose another")
    assert list(d.iterdir()) == [] and not (d.parent / "escape").exists()


# ----------------------------------------------------------------------------------------------- names


def test_names_illegal_on_exfat_are_refused_for_an_exfat_destination(dw: RunCli, make_card: CardBuilder, dest_dirs,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated exFAT (this kernel has no exfat driver): the preflight reads the destination's fstype."""
    card = make_card(files={"ok.mov": 10, "A001C001:take2.mov": 10, "what?.wav": 10})
    monkeypatch.setattr(platform, "fstype", lambda path: "exfat")
    (d,) = dest_dirs(1)
    run = dw("offload", card, d)
    err = refused(run, "name_not_allowed", "2 names contain characters that exFAT and NTFS forbid",
                  "copy to a drive formatted APFS, HFS+ or ext4")
    assert err["path"] in ("A001C001:take2.mov", "what?.wav")
    nothing_written(d, card_name=card.name)


def test_names_illegal_on_exfat_warn_on_ext4_and_copy(dw: RunCli, make_card: CardBuilder, dest_dirs) -> None:
    card = make_card(files={"A001C001:take2.mov": 10})
    (d,) = dest_dirs(1)
    run = dw("offload", card, d)
    assert run.code == 0
    assert any(w["code"] == "name_not_allowed" and "will fail on an exFAT or NTFS drive later" in w["message"]
               for w in run.of("warning"))
    assert footage(d / card.name) == {"A001C001:take2.mov": tree(card)["A001C001:take2.mov"][2]}


def _scan_with(monkeypatch: pytest.MonkeyPatch, *extra: str) -> None:
    """The card as another OS lists it: names the ext4 test disk cannot hold (HFS+ and NTFS allow 255
    UTF-16 units, up to 765 bytes)."""
    from datawrangler.app import offload as app_offload

    def scan(root: str, ignore: object = ()) -> Any:
        s = scan_source(root, ignore)  # type: ignore[arg-type]
        return dataclasses.replace(s, files=[*s.files, *(SourceFile(r, 1, 0) for r in extra)])

    monkeypatch.setattr(app_offload, "scan_source", scan)


def test_a_name_over_255_bytes(dw: RunCli, card: Path, dest_dirs, monkeypatch: pytest.MonkeyPatch) -> None:
    long_name = "é" * 128 + ".mov"  # 132 characters, 260 bytes in UTF-8
    _scan_with(monkeypatch, f"CLIPS/{long_name}")
    (d,) = dest_dirs(1)
    err = refused(dw("offload", card, d), "name_too_long", "longer than 255 bytes", "Rename it on a copy of the card")
    assert err["path"] == f"CLIPS/{long_name}"
    nothing_written(d, card_name=card.name)


def test_a_path_over_4096_bytes(dw: RunCli, make_card: CardBuilder, tmp_path: Path) -> None:
    """Real files: the card's deepest path fits under its own mount point, not under a deep destination."""
    rel = "/".join(["p" * 250] * 4) + "/clip.mov"
    card = make_card(files={rel: 100, "short.mov": 100})
    deep = tmp_path.joinpath(*(["D" * 250] * 14))
    deep.mkdir(parents=True)
    assert len(os.fsencode(str(deep / card.name / rel))) > 4096
    err = refused(dw("offload", card, deep), "path_too_long", "would be longer than 4096 bytes",
                  "Choose a destination folder with a shorter path")
    assert err["path"] == rel
    nothing_written(deep, card_name=card.name)


def test_nfc_nfd_collision_on_a_case_sensitive_destination_copies_both(dw: RunCli, make_card: CardBuilder,
                                                                      dest_dirs) -> None:
    nfc, nfd = "Cafe\u0301.wav".replace("e\u0301", "\u00e9"), "Cafe\u0301.wav"
    card = make_card(files={nfc: 100, nfd: 200})
    (d,) = dest_dirs(1)
    run = dw("offload", card, d)
    assert run.code == 0
    assert any(w["code"] == "name_collision" and "differ only in Unicode form" in w["message"]
               for w in run.of("warning"))
    assert set(footage(d / card.name)) == {nfc, nfd}  # written exactly as the card spells them
    assert_nothing_claimed_falsely(tree(card), rolls=[d / card.name])


@pytest.mark.parametrize("names", [("CLIP.mov", "clip.mov"), ("Caf\u00e9.wav", "Cafe\u0301.wav")],
                         ids=["case", "nfc-nfd"])
def test_collisions_on_a_case_insensitive_destination_are_refused(dw: RunCli, make_card: CardBuilder, dest_dirs,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  names: tuple[str, str]) -> None:
    """Simulated case-insensitive drive (this kernel's ext4 has no casefold): the probe says so."""
    real_probe = plan_mod.probe
    monkeypatch.setattr(plan_mod, "probe", lambda folder: (real_probe(folder)[0], True, ""))
    card = make_card(files={names[0]: 10, names[1]: 20})
    (d,) = dest_dirs(1)
    refused(dw("offload", card, d), "name_collision", "would be one file", "Copy them to a case-sensitive destination")
    nothing_written(d, card_name=card.name)


# ---------------------------------------------------------------------------------- odd entries on a card


def test_a_symlink_loop_is_reported_not_followed(dw: RunCli, card: Path, dest_dirs) -> None:
    (card / "loop1").symlink_to("loop2")
    (card / "loop2").symlink_to("loop1")
    (card / "A001R2EC" / "up").symlink_to("..")
    (d,) = dest_dirs(1)
    run = dw("offload", card, d)
    assert run.code == 0
    assert run.done["files_skipped"] == 3
    assert set(footage(d / card.name)) == set(tree(card))  # every real file, once
    assert not (d / card.name / "loop1").exists() and not (d / card.name / "A001R2EC" / "up").exists()
    con = sqlite3.connect(catalog_file())
    skipped = con.execute("SELECT code, message FROM events WHERE kind = 'skipped'").fetchall()
    con.close()
    assert len(skipped) == 3 and all(c == "symlink" and "not followed" in m for c, m in skipped)


def test_a_fifo_is_reported_and_never_opened(dw: RunCli, card: Path, dest_dirs) -> None:
    os.mkfifo(card / "pipe")  # opening it for reading would block forever
    (d,) = dest_dirs(1)
    t0 = time.monotonic()
    run = dw("offload", card, d)
    assert time.monotonic() - t0 < 30
    assert run.code == 0 and run.done["files_skipped"] == 1
    assert not (d / card.name / "pipe").exists()
    assert set(footage(d / card.name)) == set(tree(card))


# ----------------------------------------------------------------- unreadable entries (as a normal user)


@pytest.fixture
def world_tmp() -> Iterator[Path]:
    """A folder the unprivileged user can use (pytest's tmp_path is private to root)."""
    d = Path(tempfile.mkdtemp(prefix="dw-faults-"))
    d.chmod(0o777)
    try:
        yield d
    finally:
        for dirpath, dirnames, filenames in os.walk(d):
            for name in dirnames + filenames:
                with contextlib.suppress(OSError):
                    os.chmod(os.path.join(dirpath, name), 0o777, follow_symlinks=False)
        shutil.rmtree(d, ignore_errors=True)


def as_nobody(home: Path, *argvs: list[str]) -> list[tuple[int, list[dict[str, Any]]]]:
    """Run CLI commands in a forked child that dropped root (root reads every file whatever its mode)."""
    if not IS_ROOT:
        out = []
        for argv in argvs:
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                code = main([*argv, "--json"])
            out.append((code, [json.loads(x) for x in buf.getvalue().splitlines() if x.strip()]))
        return out
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: everything is imported already (the warm-up run); no exec
        status = 3
        try:
            os.close(rfd)
            os.environ["DATAWRANGLER_HOME"] = str(home)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            results = []
            for argv in argvs:
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
                    code = main([*argv, "--json"])
                results.append((code, [json.loads(x) for x in buf.getvalue().splitlines() if x.strip()]))
            with os.fdopen(wfd, "w") as w:
                w.write(json.dumps(results))
            status = 0
        except BaseException as exc:
            with contextlib.suppress(BaseException):
                os.write(2, f"child failed: {exc!r}\n".encode())
        finally:
            os._exit(status)
    os.close(wfd)
    with os.fdopen(rfd) as r:
        data = r.read()
    _, st = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(st) == 0, "the unprivileged run failed"
    return [(c, e) for c, e in json.loads(data)]


def _warm_up(card: Path, where: Path) -> None:
    """One offload and one status as root, so every module the CLI imports lazily is loaded before the
    child drops root (the interpreter's files are not readable by nobody here)."""
    where.mkdir()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["offload", str(card), str(where), "--json"])
        main(["status", "1", "--json"])


@pytest.mark.parametrize("what", ["file", "folder"])
def test_an_unreadable_entry_is_named_and_the_card_is_not_safe_to_format(world_tmp: Path, what: str) -> None:
    card = world_tmp / "A001R2EC"
    for i in range(1, 4):
        write_file(card / f"CLIPS/A001C00{i}.mov", 5000, seed=i)
    write_file(card / "LOCKED/A001C009.mov", 5000, seed=9)
    _warm_up(card, world_tmp / "warm")
    for p in [world_tmp, *world_tmp.rglob("*")]:
        p.chmod(0o777 if p.is_dir() else 0o666)
    os.chmod(card / "CLIPS/A001C002.mov" if what == "file" else card / "LOCKED", 0o000)
    d1, d2, home = world_tmp / "d1", world_tmp / "d2", world_tmp / "home"
    for p in (d1, d2, home):
        p.mkdir(mode=0o777)
        p.chmod(0o777)
    (off_code, off), (st_code, st) = as_nobody(home, ["offload", str(card), str(d1), str(d2)],
                                               ["status", "1", "--copies", "1"])
    bad = "CLIPS/A001C002.mov" if what == "file" else "LOCKED"
    done = [e for e in off if e["event"] == "done"][-1]
    assert off_code == 1 and done["state"] == "completed with errors", done
    assert "could not be read" in done["message"] and "Do not format the card" in done["message"]
    assert done["safe_to_format"] is False
    assert any(bad in r for r in done["reasons"]), done["reasons"]
    assert st_code == 1, st
    status = [e for e in st if e["event"] in ("done", "status")] or st
    assert all(s.get("safe_to_format") is not True for s in status), st
    for d in (d1, d2):
        assert not (d / card.name / bad).exists()
    os.chmod(card / "CLIPS/A001C002.mov" if what == "file" else card / "LOCKED", 0o666 if what == "file" else 0o777)
    assert_nothing_claimed_falsely(tree(card), catalog=home / "data" / "catalog.sqlite",
                                   rolls=[d1 / card.name, d2 / card.name])


# ------------------------------------------------------------------------- a card that changes underneath


@pytest.mark.fuse
@pytest.mark.parametrize("change", ["size", "mtime"])
def test_a_file_that_changes_while_copied_is_detected(dw: RunCli, faultfs, dest_dirs, change: str) -> None:
    """The camera (or anything) writes to the card while it is read: the engine compares size and mtime
    before and after reading; the file fails with source_changed and is never recorded verified."""
    files = {f"A001C00{i}.mov": os.urandom(256 * 1024) for i in range(1, 4)}
    card = faultfs("A001R2EC", files=files)
    card.stall("A001C002.mov", 1.5, ops=("read",), offset=128 * 1024, times=1)
    d1, d2 = dest_dirs(2)

    def touch_while_stalled() -> None:
        deadline = time.monotonic() + 20
        while not card.events("read", "A001C002.mov", fault="stall") and time.monotonic() < deadline:
            time.sleep(0.02)
        target = card.backing / "A001C002.mov"
        if change == "size":
            with open(target, "ab") as f:
                f.write(b"more frames")
        else:
            st = target.stat()
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    t = threading.Thread(target=touch_while_stalled)
    t.start()
    run = dw("offload", card.mountpoint, d1, d2, "--roll", "A001R2EC", "--retries", "0")
    t.join()
    assert run.code == 1
    bad = run.files()["A001C002.mov"]
    assert bad["status"] == "failed" and bad["code"] == "source_changed"
    assert "Make sure nothing else writes to the card" in bad["message"]
    assert {p: f["status"] for p, f in run.files().items() if p != "A001C002.mov"} == {
        "A001C001.mov": "verified", "A001C003.mov": "verified"}
    rows = {(c.rel_path, c.state) for c in copies()}
    assert ("A001C002.mov", "verified") not in rows
    for d in (d1, d2):
        assert not (d / "A001R2EC" / "A001C002.mov").exists()
    state = tree(card.backing)
    assert_nothing_claimed_falsely(state, rolls=[d1 / "A001R2EC", d2 / "A001R2EC"])


# --------------------------------------------------------------------------- catalog, settings, options


def test_a_corrupt_catalog_is_refused_and_kept(dw: RunCli, card: Path, dest_dirs) -> None:
    cat = catalog_file()
    cat.parent.mkdir(parents=True)
    junk = b"SQLite format 3\x00" + os.urandom(4000)
    cat.write_bytes(junk)
    (d,) = dest_dirs(1)
    run = dw("offload", card, d)
    assert run.code == 2
    assert "damaged or is not a DataWrangler catalog" in run.errors[0]["message"]
    assert "restore a backup" in run.errors[0]["message"]
    assert cat.read_bytes() == junk
    assert list(d.iterdir()) == []


def test_a_catalog_from_a_newer_version_is_refused_untouched(dw: RunCli, card: Path, dest_dirs) -> None:
    cat = catalog_file()
    cat.parent.mkdir(parents=True)
    con = sqlite3.connect(cat)
    con.execute("CREATE TABLE future (x)")
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    before = cat.read_bytes()
    (d,) = dest_dirs(1)
    run = dw("offload", card, d)
    assert run.code == 2
    assert "written by a newer DataWrangler" in run.errors[0]["message"] and "Update DataWrangler" in \
        run.errors[0]["message"]
    assert cat.read_bytes() == before
    assert list(d.iterdir()) == []


def test_a_catalog_path_that_is_a_folder(dw: RunCli, card: Path, dest_dirs, tmp_path: Path) -> None:
    (d,) = dest_dirs(1)
    run = dw("offload", card, d, "--catalog", tmp_path)
    assert run.code == 2 and "is not a file" in run.errors[0]["message"]
    assert list(d.iterdir()) == []


@pytest.mark.parametrize(("settings", "phrase"), [
    ({"algorithms": "xxh64"}, "'algorithms' must be a list of strings"),
    ({"copies_required": "two"}, "'copies_required' must be a whole number"),
    ({"overlap_verify": 1}, "'overlap_verify' must be true or false"),
    ({"algorithms": ["xxh65"]}, "'algorithms' must name one or more of"),
    ({"chunk_mib": 0}, "'chunk_mib' must be between 1 and 256"),
    ("{not json", "cannot be read"),
])
def test_a_settings_file_with_wrong_values(dw: RunCli, card: Path, dest_dirs, settings: object, phrase: str) -> None:
    from datawrangler.config import app_paths

    f = app_paths().settings_file
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(settings if isinstance(settings, str) else json.dumps(settings))
    (d,) = dest_dirs(1)
    run = dw("offload", card, d)
    assert run.code == 2
    assert phrase in run.errors[0]["message"]
    assert "Fix" in run.errors[0]["message"]
    assert list(d.iterdir()) == []
    no_offload_recorded()


@pytest.mark.parametrize("hashes", ["foo", "xxh64,sha256", "md5,,xxh9"])
def test_an_unknown_hash_name(dw: RunCli, card: Path, dest_dirs, hashes: str) -> None:
    (d,) = dest_dirs(1)
    run = dw("offload", card, d, "--hash", hashes)
    assert run.code == 2
    assert run.errors and run.errors[0]["code"] in ("unknown_hash", "settings")
    assert "Choose from" in run.errors[0]["message"] or "algorithm" in run.errors[0]["message"]
    assert list(d.iterdir()) == []


def test_resume_of_an_offload_that_does_not_exist(dw: RunCli) -> None:
    run = dw("resume", "42")
    assert run.code == 2 and "42" in run.errors[0]["message"]


# ----------------------------------------------------------------------- ASC MHL history on the source


def test_a_source_whose_asc_mhl_chain_is_broken(dw: RunCli, card: Path, dest_dirs, tmp_path: Path) -> None:
    """A shuttle drive offloaded again: its history was tampered with. The files are copied and verified,
    the broken chain is reported, and no generation is added on top of a chain that does not hold."""
    (first,) = dest_dirs(1)
    assert dw("offload", card, first).code == 0
    shuttle = tmp_path / "shuttle" / card.name
    shutil.copytree(first / card.name, shuttle)
    manifest = next((shuttle / "ascmhl").glob("*.mhl"))
    manifest.write_bytes(manifest.read_bytes().replace(b"<hostname>", b"<hostname>x"))
    d = tmp_path / "drive2"
    d.mkdir()
    run = dw("offload", shuttle, d)
    assert run.code == 0 and run.done["files_verified"] == len(tree(card))
    hist = run.of("source_history")[0]
    assert hist["ok"] is False and any("modified after it was written" in p for p in hist["problems"])
    assert any(w.get("code") == "source_history" for w in run.of("warning"))
    roll = d / card.name
    assert set(footage(roll)) == set(tree(card))
    assert sorted(p.name for p in (roll / "ascmhl").glob("*.mhl")) == [manifest.name]  # nothing added on top
    assert_nothing_claimed_falsely(tree(card), rolls=[roll])


# ------------------------------------------------------------------------- full disks: catalog, report


def _subprocess_cli(home: Path, *args: str, timeout: float = 60) -> tuple[int, list[dict[str, Any]], str]:
    env = {**os.environ, "DATAWRANGLER_HOME": str(home), "PYTHONPATH": str(REPO)}
    try:
        p = subprocess.run([sys.executable, "-m", "datawrangler", *args, "--json"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"datawrangler {' '.join(args)} hung for {timeout} s (a deadlock on a full disk?)")
    return p.returncode, [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")], p.stderr


@pytest.mark.root
@pytest.mark.slow
# the finished catalog of this card is about 1 MB, plus its WAL and the reports: every size here fills up
@pytest.mark.parametrize("size_kib", [400, 700, 1000])
def test_disk_full_while_writing_the_catalog(make_card: CardBuilder, tmp_path: Path, tmpfs_mount,
                                            size_kib: int) -> None:
    """The catalog's disk fills up (400 KiB: before the offload is recorded; 1000 KiB: while the files are
    recorded). The copies stay correct, the message names the catalog and what to do, the exit is 2,
    nothing hangs, and the catalog still passes its integrity check."""
    card = make_card(files={f"CLIPS/A001C{i:04d}.mov": 100 for i in range(3000)})
    home = tmpfs_mount(size_kib << 10)
    d = tmp_path / "drive"
    d.mkdir()
    code, events, stderr = _subprocess_cli(Path(home.mountpoint), "offload", str(card), str(d))
    assert "Traceback" not in stderr, stderr[-3000:]
    assert code == 2, (code, events[-3:], stderr[-2000:])
    err = [e for e in events if e["event"] == "error"][-1]
    assert "catalog" in err["message"] and ("free space" in err["message"].lower())
    cat = Path(home.mountpoint) / "data" / "catalog.sqlite"
    assert_nothing_claimed_falsely(tree(card), catalog=cat, rolls=[d / card.name])
    for row in offload_rows(cat):
        assert row["state"] != "verified"


@pytest.mark.root
def test_disk_full_while_writing_the_report(dw: RunCli, card: Path, dest_dirs, tmpfs_mount) -> None:
    """The reports folder's disk is full: the offload is still verified (the report never changes how an
    offload ended), and a warning says the report was not written and where."""
    from datawrangler.config import app_paths

    reports = app_paths().reports_dir
    reports.mkdir(parents=True)
    full = tmpfs_mount(64 << 10)
    subprocess.run(["mount", "--bind", str(full.mountpoint), str(reports)], check=True, capture_output=True)
    try:
        with open(reports / "filler", "wb") as f, contextlib.suppress(OSError):
            f.write(b"\0" * (64 << 10))
        d1, d2 = dest_dirs(2)
        run = dw("offload", card, d1, d2)
    finally:
        subprocess.run(["umount", "-l", str(reports)], capture_output=True, check=False)
    assert run.code == 0 and run.done["state"] == "verified"
    warnings = [w for w in run.of("warning") if w.get("code") == "report"]
    assert warnings, run.of("warning")
    assert "report" in warnings[0]["message"] and str(reports) in warnings[0]["message"]
    assert_nothing_claimed_falsely(tree(card), rolls=[d1 / card.name, d2 / card.name])


# --------------------------------------------------------------------------- two offloads of one card


@pytest.mark.fuse
def test_two_offloads_of_the_same_card_at_once(dw: RunCli, faultfs, dest_dirs, tmp_path: Path) -> None:
    """The second offload of a card into the same roll folders, while the first still runs, is refused
    (the engine holds a lock on each roll folder): exit 2, a message that says why, and no second offload
    left in the catalog to resume. The first one finishes verified."""
    card = faultfs("A001R2EC", files={f"A001C00{i}.mov": os.urandom(128 * 1024) for i in range(1, 4)})
    stall = card.stall("A001C002.mov", 30, ops=("read",))
    d1, d2 = dest_dirs(2)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen([sys.executable, "-m", "datawrangler", "offload", str(card.mountpoint), str(d1),
                              str(d2), "--roll", "A001R2EC", "--json"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not card.events("read", "A001C002.mov", fault="stall"):
            assert time.monotonic() < deadline and first.poll() is None, "the first offload never started"
            time.sleep(0.05)
        run = dw("offload", card.mountpoint, d1, d2, "--roll", "A001R2EC")
        card.remove(stall)
        _out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert run.code == 2
    assert any("Another offload is writing to" in e["message"] and "Wait for it to finish" in e["message"]
               for e in run.errors), run.events
    assert first.returncode == 0, err[-2000:]
    rows = offload_rows()
    assert [r["state"] for r in rows] == ["verified"], [(r["id"], r["state"], r["message"]) for r in rows]
    assert_nothing_claimed_falsely(tree(card.backing), rolls=[d1 / "A001R2EC", d2 / "A001R2EC"])
