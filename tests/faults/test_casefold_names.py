"""Names a destination cannot hold, proved with real `datawrangler offload` processes.

Destinations that fold names (exFAT, NTFS, APFS, HFS+) are real here: CaseFoldFS (tests/casefoldfs.py) is a
FUSE filesystem whose lookups ignore letter case and/or Unicode form, as those drives' do. Nothing tells the
preflight that it is one (its type is fuse.casefoldfs): only the preflight's probes of the drive can find out,
and a control experiment proves on each mount that the drive really folds, so a probe that looked wrong
would fail these tests instead of passing them quietly.

Names that no destination can take as they are (control characters, bytes that are not UTF-8) are refused
whatever the drive; each message names the file, escaped so that it can be read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from datawrangler.core import names
from datawrangler.core import plan as plan_mod
from tests.casefoldfs import CaseFoldMount
from tests.conftest import CardBuilder
from tests.faults.common import assert_nothing_claimed_falsely, footage, offload_rows, tree
from tests.faults.conftest import Run
from tests.integration.conftest import _fresh_dir, mount_factory, require_fuse

REPO = Path(__file__).resolve().parents[2]
NFC = unicodedata.normalize("NFC", "Scène 1.wav")
NFD = unicodedata.normalize("NFD", "Scène 1.wav")
FUSE = [pytest.mark.root, pytest.mark.fuse]

MountCaseFold = Callable[..., CaseFoldMount]
RunCli = Callable[..., Run]


@dataclass
class Offload:
    code: int
    events: list[dict[str, Any]]
    stderr: str

    def errors(self, code: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == "error" and e.get("code") == code]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == kind]


def offload(card: Path, *dests: Path | CaseFoldMount) -> Offload:
    """`datawrangler offload CARD DEST... --json` in a process of its own (the test's DATAWRANGLER_HOME)."""
    p = subprocess.run([sys.executable, "-m", "datawrangler", "offload", str(card), *map(str, dests), "--json"],
                       cwd=REPO, capture_output=True, timeout=300)
    out = p.stdout.decode("utf-8", "surrogateescape")  # a name that is not UTF-8 comes back as its bytes
    return Offload(p.returncode, [json.loads(line) for line in out.splitlines() if line.strip()],
                   p.stderr.decode("utf-8", "replace"))


def refused(run: Offload, code: str) -> str:
    """Exit 2, refused in preflight with this code, nothing started; the error messages, joined."""
    assert run.code == 2, f"exit {run.code}: {run.events} {run.stderr[-2000:]}"
    errors = run.errors(code)
    assert errors, f"no {code!r} error: {run.events}"
    assert not run.of("start") and not run.of("file"), "a refused offload must not copy"
    assert offload_rows() == [], "a refused offload left a row in the catalog"
    return " ".join(e["message"] for e in errors)


def holds_nothing(drive: Path) -> None:
    """Nothing at all on the drive: not the roll folder, not a probe file left behind."""
    assert sorted(os.listdir(drive)) == [], f"{drive} holds files after a refusal"


@pytest.fixture
def casefold(tmp_path: Path) -> Iterator[MountCaseFold]:
    """``casefold(fold="case,form") -> CaseFoldMount`` over a fresh backing folder; unmounted at teardown."""
    require_fuse()

    def make(fold: str = "case,form") -> CaseFoldMount:
        root = _fresh_dir(tmp_path, "drive-" + fold.replace(",", "-"))
        return CaseFoldMount(root / "backing", root / "mnt", root / "work", fold=fold)

    yield from mount_factory(make, CaseFoldMount.stop)


def assert_folds(drive: CaseFoldMount) -> None:
    """The control experiment: writing both spellings through the mount leaves one file (the second write's
    bytes under the first spelling), and the preflight's probes see what the drive does."""
    folds = drive.folds
    pairs = ([("PROBE.MOV", "probe.mov")] if "case" in folds else []) + \
        ([(f"probe {NFD}", f"probe {NFC}")] if "form" in folds else [])
    for first, second in pairs:
        (drive / first).write_bytes(b"first")
        (drive / second).write_bytes(b"second!")
        assert os.listdir(drive.backing) == [first], "the drive does not fold these names"
        assert (drive.backing / first).read_bytes() == b"second!"
        os.unlink(drive / second)
    if "case" not in folds:  # and what it keeps apart, it keeps apart
        (drive / "PROBE.MOV").write_bytes(b"1")
        (drive / "probe.mov").write_bytes(b"2")
        assert sorted(os.listdir(drive.backing)) == ["PROBE.MOV", "probe.mov"]
        for name in ("PROBE.MOV", "probe.mov"):
            os.unlink(drive / name)
    assert names.probe(str(drive))[1:] == ("case" in folds, "")
    assert names.folds_form(str(drive)) is ("form" in folds)
    assert os.listdir(drive.backing) == []
    assert names.probe(str(drive.backing))[1] is False and not names.folds_form(str(drive.backing))


# ------------------------------------------------------------------------------- drives that fold names


# (what the drive folds, two files on the card, the two names the message must give, what they are)
COLLISIONS = [
    ("case,form", "CLIP/A001C001.MOV", "CLIP/a001c001.mov", None, "file"),  # APFS, HFS+
    ("case,form", NFC, NFD, None, "file"),
    ("case,form", "CLIPS/A.mov", "clips/B.mov", ("CLIPS", "clips"), "folder"),
    ("case", "A001C001.MOV", "A001C001.mov", None, "file"),  # exFAT, NTFS
    ("case", NFC, NFD, None, "file"),  # kept apart by exFAT itself, but one name on macOS, which reads such drives
    ("form", NFC, NFD, None, "file"),  # a case-sensitive APFS
]


@pytest.mark.parametrize(("fold", "first", "second", "named", "kind"), COLLISIONS,
                         ids=[f"{c[0]}-{c[4]}-{i}" for i, c in enumerate(COLLISIONS)])
@pytest.mark.root
@pytest.mark.fuse
def test_names_one_drive_takes_for_one_are_refused_before_a_byte_moves(
        make_card: CardBuilder, casefold: MountCaseFold, fold: str, first: str, second: str,
        named: tuple[str, str] | None, kind: str) -> None:
    card = make_card(files={first: 1000, second: 2000, "OTHER.MOV": 300})
    before = tree(card)
    drive = casefold(fold)
    assert_folds(drive)
    message = refused(offload(card, drive), "name_collision")
    for name in named or (first, second):
        assert names.shown(name) in message, message
    assert f"would be one {kind}" in message and "Copy them to a case-sensitive destination" in message
    assert str(drive / card.name) in message  # which destination
    holds_nothing(drive.backing)
    assert tree(card) == before


@pytest.mark.root
@pytest.mark.fuse
def test_names_that_differ_in_case_copy_as_two_files_to_a_drive_that_keeps_case(make_card: CardBuilder,
                                                                                casefold: MountCaseFold) -> None:
    """The refusal follows the drive, not the names: a case-sensitive drive that folds only the Unicode
    form (a case-sensitive APFS) holds CLIP.MOV and clip.mov as two files, verified."""
    card = make_card(files={"CLIP.MOV": 1000, "clip.mov": 2000})
    drive = casefold("form")
    assert_folds(drive)
    run = offload(card, drive)
    assert run.code == 0, f"{run.events} {run.stderr[-2000:]}"
    assert not [w for w in run.of("warning") if w.get("code") == "name_collision"]
    roll = drive.backing / card.name
    assert footage(roll) == {rel: v[2] for rel, v in tree(card).items()}
    assert_nothing_claimed_falsely(tree(card), rolls=[drive / card.name])


@pytest.mark.root
@pytest.mark.fuse
def test_a_card_without_collisions_offloads_and_verifies_on_a_drive_that_folds(make_card: CardBuilder,
                                                                               casefold: MountCaseFold,
                                                                               dest_dirs) -> None:
    """Mixed case, a decomposed name and nested folders, but no two names that fold alike: every file is
    copied under the card's own spelling and verified from the drive, and the ASC MHL lists them."""
    files = {"A001R2EC/A001C001_231014_R2EC.MOV": 3_000_000, "A001R2EC/a001c002_231014_r2ec.mov": 1_000_000,
             f"Sound/{NFD}": 50_000, "SDINFO.TXT": 120, "Clip.Mov": 7}
    card = make_card(files=files)
    drive = casefold("case,form")
    assert_folds(drive)
    (other,) = dest_dirs(1)
    run = offload(card, drive, other)
    assert run.code == 0, f"{run.events} {run.stderr[-2000:]}"
    assert run.of("done")[-1]["state"] == "verified"
    assert run.of("done")[-1]["files_verified"] == len(files)
    state = tree(card)
    expected = {rel: v[2] for rel, v in state.items()}
    assert footage(drive.backing / card.name) == expected  # the card's spelling, byte for byte (not folded)
    assert footage(other / card.name) == expected
    assert_nothing_claimed_falsely(state, rolls=[drive / card.name, other / card.name])


@pytest.mark.root
@pytest.mark.fuse
def test_many_collisions_are_said_ten_at_a_time(make_card: CardBuilder, casefold: MountCaseFold) -> None:
    card = make_card(files={**{f"C{i:03d}.MOV": 10 for i in range(13)}, **{f"c{i:03d}.mov": 20 for i in range(13)}})
    drive = casefold("case")
    run = offload(card, drive)
    refused(run, "name_collision")
    errors = run.errors("name_collision")
    assert len(errors) == 11
    assert errors[-1]["message"].startswith("3 more pairs of names on the card differ only in letter case")
    holds_nothing(drive.backing)


# ----------------------------------------------------------------------- names no destination can take


CONTROL_NAMES = {"A001/a\nb.mov": "'A001/a\\nb.mov'", "A001/tab\there.wav": "'A001/tab\\there.wav'",
                 "A001/c\x01.mov": "'A001/c\\x01.mov'", "del\x7f.mov": "'del\\x7f.mov'"}


@pytest.mark.parametrize("where", ["a plain folder", pytest.param("a drive that folds names", marks=FUSE)])
def test_control_characters_in_names_are_refused_whatever_the_drive(make_card: CardBuilder, dest_dirs,
                                                                    request: pytest.FixtureRequest,
                                                                    where: str) -> None:
    """Once a warning on ext4 and an offload 'VERIFIED' whose ASC MHL silently left the file out."""
    card = make_card(files={**dict.fromkeys(CONTROL_NAMES, 10), "A001/ok.mov": 10})
    before = tree(card)
    if where == "a plain folder":
        (dest,) = dest_dirs(1)
        backing = dest
    else:
        mount = request.getfixturevalue("casefold")()
        dest, backing = mount.mountpoint, mount.backing
    run = offload(card, dest)
    message = refused(run, "name_not_allowed")
    assert "4 names on the card contain control characters" in message
    assert "Rename them on a copy of the card and offload the copy" in message
    assert sum(shown in message for shown in CONTROL_NAMES.values()) == 3  # three examples, each escaped
    assert not any(c in message for c in "\n\t\x01\x7f"), "the message must show the names escaped"
    assert run.errors("name_not_allowed")[0]["path"] in CONTROL_NAMES
    holds_nothing(backing)
    assert tree(card) == before


def test_a_name_that_is_not_utf8_is_refused_not_a_crash(make_card: CardBuilder, dest_dirs) -> None:
    """Once an internal error (the catalog cannot store the name) after the preflight had passed."""
    card = make_card(files={"A001/ok.mov": 10})
    with open(os.fsencode(card / "A001") + b"/latin1-\xe9.wav", "wb") as f:
        f.write(b"x")
    (dest,) = dest_dirs(1)
    run = offload(card, dest)
    message = refused(run, "name_not_allowed")
    assert "1 name on the card is not valid UTF-8" in message and "'A001/latin1-\\xe9.wav'" in message
    assert "Rename it on a copy of the card" in message
    assert not run.errors("internal")
    holds_nothing(dest)


def test_a_path_too_long_for_the_destination_is_named_by_its_end(make_card: CardBuilder, tmp_path: Path) -> None:
    """The message shows where the path differs (its end), not only its first characters."""
    rel = "/".join(["p" * 250] * 4) + "/A001C007.mov"
    card = make_card(files={rel: 100, "short.mov": 100})
    deep = tmp_path.joinpath(*(["D" * 250] * 14))
    deep.mkdir(parents=True)
    run = offload(card, deep)
    message = refused(run, "path_too_long")
    assert "would be longer than 4096 bytes" in message and "Choose a destination folder with a shorter path" in message
    assert "/A001C007.mov'" in message and "…" in message
    assert run.errors("path_too_long")[0]["path"] == rel
    holds_nothing(deep)


def test_an_exfat_or_ntfs_drive_refuses_case_pairs_even_where_linux_keeps_case(
        dw: RunCli, make_card: CardBuilder, dest_dirs, monkeypatch: pytest.MonkeyPatch) -> None:
    """Linux's ntfs3 and a Samba share can keep case apart, but such a drive is read on Windows or macOS,
    where the pair is one file: refused by the drive's type, as the characters exFAT and NTFS forbid are.
    Simulated type (the kernel here has no exFAT); two folders that differ in case are one pair, said once."""
    card = make_card(files={"CLIPS/A.mov": 1, "CLIPS/B.mov": 2, "clips/C.mov": 3, "clips/D.mov": 4})
    (d,) = dest_dirs(1)
    monkeypatch.setattr(plan_mod.platform, "fstype", lambda path: "ntfs3")
    run = dw("offload", card, d)
    assert run.code == 2
    (err,) = [e for e in run.errors if e["code"] == "name_collision"]
    assert "'CLIPS' and 'clips' differ only in letter case" in err["message"] and "one folder" in err["message"]
    assert err["path"] == "clips"
    assert not (d / card.name).exists()
    monkeypatch.setattr(plan_mod.platform, "fstype", lambda path: "ext4")
    run = dw("offload", card, d)
    assert run.code == 0 and not [w for w in run.of("warning") if w.get("code") == "name_collision"]
