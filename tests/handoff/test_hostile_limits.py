"""The limits a history from outside is read within (handoff.untrusted), each said in the refusal, and the
rules for paths and digests: what they refuse, and the real names and digests they must never refuse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datawrangler.core.hashing import REGISTRY, MultiHasher
from datawrangler.handoff.ascmhl import render_manifest
from datawrangler.handoff.history import load
from datawrangler.handoff.history_xml import parse_manifest
from datawrangler.handoff.untrusted import (
    MAX_CHAIN_BYTES,
    MAX_GENERATIONS,
    MAX_PATTERNS,
    Budget,
    Refused,
    digest_problem,
    path_problem,
)
from datawrangler.store.handoff_names import manifest_name
from tests.handoff.conftest import CREATOR, NOW
from tests.handoff.test_hostile import FILES, NAME, Drive, drive, genuine, manifest, run_cli, seal, snapshot

__all__ = ["drive"]  # the fixture


def test_more_ignore_patterns_than_a_generation_may_have(drive: Drive, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    patterns = [f"*.tmp{i}" for i in range(MAX_PATTERNS + 1)]
    m = seal(drive.roll, {NAME: render_manifest(genuine(drive), CREATOR, "in-place", patterns, NOW)})
    before = snapshot(tmp_path)
    run = run_cli(capsys, "import", drive.root)
    (roll,) = run.done["rolls"]
    assert run.code == 1 and f"{m} has more than {MAX_PATTERNS:,} ignore patterns" in roll["message"], roll
    assert snapshot(tmp_path) == before


def test_exactly_as_many_ignore_patterns_as_allowed_is_read(drive: Drive) -> None:
    patterns = [f"*.tmp{i}" for i in range(MAX_PATTERNS - 3)]  # the writer adds ascmhl's own three
    seal(drive.roll, {NAME: render_manifest(genuine(drive), CREATOR, "in-place", patterns, NOW)})
    history = load(str(drive.roll))
    assert history is not None and len(history.latest_ignore()) == MAX_PATTERNS


def test_more_manifests_than_a_history_may_hold(drive: Drive, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    seal(drive.roll, {NAME: manifest(drive)})
    for n in range(2, MAX_GENERATIONS + 2):
        (drive.folder / manifest_name(n, "A001R2EC", NOW)).touch()
    before = snapshot(tmp_path)
    run = run_cli(capsys, "verify", drive.root)
    (roll,) = run.done["rolls"]
    assert run.code == 1 and roll["checked"] == 0
    assert any(f"{drive.folder} holds more than {MAX_GENERATIONS:,} manifests" in p for p in roll["problems"])
    assert snapshot(tmp_path) == before


def test_a_chain_over_its_size_is_not_read(drive: Drive, capsys: pytest.CaptureFixture[str]) -> None:
    seal(drive.roll, {NAME: manifest(drive)})
    chain = drive.folder / "ascmhl_chain.xml"
    with open(chain, "r+b") as f:
        f.truncate(MAX_CHAIN_BYTES + 1)  # sparse
    run = run_cli(capsys, "import", drive.root)
    (roll,) = run.done["rolls"]
    assert run.code == 1
    assert f"{chain} is 16.0 MB (16,000,001 bytes), over the 16.0 MB this kind of file may have" in roll["message"]


def test_a_history_over_its_entries_or_bytes_stops_there(drive: Drive) -> None:
    """The budget is over the whole history (every generation); here a small one on a real manifest."""
    m = seal(drive.roll, {NAME: manifest(drive)})
    assert len(parse_manifest(str(m), 1, Budget(entries_left=len(FILES))).records) == len(FILES)
    with pytest.raises(Refused) as many:
        parse_manifest(str(m), 1, Budget(entries_left=len(FILES) - 1))
    assert f"{m}: the history lists more than 1,000,000 file entries" in str(many.value)
    with pytest.raises(Refused) as big:
        parse_manifest(str(m), 1, Budget(bytes_left=os.path.getsize(m) - 1))
    assert "the history's files together are over 1.0 GB" in str(big.value)


@pytest.mark.parametrize(("rel", "why"), [
    ("../x", "climbs out of its folder with '..'"),
    ("a/..", "climbs out of its folder with '..'"),
    ("a\\..\\..\\x", "climbs out of its folder with '..'"),
    ("/etc/passwd", "is absolute"),
    ("\\Windows", "is absolute"),
    ("\\\\server\\share", "is a network (UNC) path"),
    ("//server/share", "is a network (UNC) path"),
    ("C:\\x", "starts with a drive letter"),
    ("c:x", "starts with a drive letter"),
    ("a\x00b", "holds a NUL byte"),
    ("", "is empty"),
    ("a//b", "has an empty or '.' component"),
    ("./a", "has an empty or '.' component"),
    ("a/", "has an empty or '.' component"),
    ("a/" * 2100, "is over 4096 bytes long"),
])
def test_paths_that_cannot_be_a_file_in_the_roll(rel: str, why: str) -> None:
    assert path_problem(rel) == why


@pytest.mark.parametrize("rel", ["Clips/A001C001.mov", "Clips/Ünïcode clip.mov", "a..b/c..", "...", ".hidden/.x",
                                 "#1 take!", "dir\\name.mov", "CLIPS/A:B.mov", "x" * 255, "ascmhl_chain.xml"])
def test_real_names_are_never_refused(rel: str) -> None:
    assert path_problem(rel) is None


@pytest.mark.parametrize("algorithm", list(REGISTRY))
def test_every_algorithms_real_digest_is_accepted_and_a_damaged_one_is_not(algorithm: str) -> None:
    hasher = MultiHasher([algorithm])
    hasher.update(b"a clip")
    value = hasher.hexdigests()[algorithm]
    assert digest_problem(algorithm, value) is None
    assert digest_problem(algorithm, value.upper() if algorithm != "c4" else value) is None
    assert digest_problem(algorithm, value[:-1]) is not None
    assert digest_problem(algorithm, value[:-1] + "!") is not None
    assert digest_problem(algorithm, "") is not None
