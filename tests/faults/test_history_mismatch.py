"""A card that no longer matches its own ASC MHL history (issue 16): the card was sealed by the reference
`ascmhl create`, then one byte of one clip changed. Tried as a new user would, in a real `datawrangler offload`
process: the verdict, the exit code, the catalog, `status`, the PDF report and the ASC MHL generation must all
say that this file is damaged against the card's own history (naming the history's date, the algorithm and
both digests), and `ascmhl verify` on the destination must reach the same conclusion. The unchanged files are
verified as usual; the same card without the change offloads VERIFIED (the control).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader

from datawrangler.config import app_paths
from datawrangler.core.errors import Code
from datawrangler.core.events import CopyResult, CopyState, FileResult, FileStatus
from datawrangler.handoff.history import load
from datawrangler.handoff.source import HISTORY_MISMATCH, SourceHistory
from tests.conftest import CardBuilder
from tests.faults.common import (
    MHL_NS,
    assert_nothing_claimed_falsely,
    catalog_file,
    copies,
    mhl_entries,
    tree,
    xxh64_of,
)
from tests.handoff.conftest import Oracle
from tests.handoff.conftest import oracle as oracle  # the reference ascmhl (a fixture of tests/handoff)

REPO = Path(__file__).resolve().parents[2]
CLIPS = {"Clips/A001C001.mov": 300_000, "Clips/A001C002.mov": 200_000, "Clips/A001C003.mov": 150_000}
DAMAGED = "Clips/A001C002.mov"
SAFE_ONES = sorted(set(CLIPS) - {DAMAGED})


@dataclass(frozen=True)
class Card:
    path: Path
    history_xxh64: str  # what the card's own history recorded for DAMAGED
    history_date: str  # that manifest's creation date, as the message gives it ("2026-12-04 09:21 UTC")


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`datawrangler ARGS` in a process of its own, as a user runs it (the test's DATAWRANGLER_HOME)."""
    return subprocess.run([sys.executable, "-m", "datawrangler", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})


def _sealed_card(make_card: CardBuilder, oracle: Oracle, damage: bool, generations: int = 1) -> Card:
    """A001R1AB with an ASC MHL history made by the reference tool (`generations` runs of `ascmhl create`: the
    later ones check the files again); with `damage`, one byte of DAMAGED flipped since (its size and
    modification time kept, as bit rot leaves them)."""
    card = make_card(CLIPS, name="A001R1AB")
    for _ in range(generations):
        made = oracle.run("ascmhl", "create", "-h", "xxh64", card)
        assert made.returncode == 0, made.stdout + made.stderr
    [manifest] = (card / "ascmhl").glob("0001_*.mhl")
    root = ET.parse(manifest).getroot()
    created = root.findtext(f"{MHL_NS}creatorinfo/{MHL_NS}creationdate")
    assert created
    date = dt.datetime.fromisoformat(created).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    recorded = {h.findtext(f"{MHL_NS}path"): h.findtext(f"{MHL_NS}xxh64") for h in root.iter(f"{MHL_NS}hash")}
    assert recorded[DAMAGED] == xxh64_of(card / DAMAGED)
    if damage:
        victim = card / DAMAGED
        st = victim.stat()
        data = bytearray(victim.read_bytes())
        data[100_000] ^= 0x01
        victim.write_bytes(bytes(data))
        os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    return Card(card, str(recorded[DAMAGED]), date)


@pytest.fixture(autouse=True)
def _one_copy_is_enough() -> None:
    """Both destinations of these tests are folders on one drive: with one copy required, 'safe to format'
    then depends only on whether every file is verified, which is what these tests are about."""
    settings = app_paths().settings_file
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"copies_required": 1}))


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_a_card_changed_since_its_own_history_fails_that_file_everywhere(make_card: CardBuilder, dest_dirs,
                                                                        oracle: Oracle) -> None:
    card = _sealed_card(make_card, oracle, damage=True)
    now_xxh64 = xxh64_of(card.path / DAMAGED)
    assert now_xxh64 != card.history_xxh64
    d1, d2 = dest_dirs(2)
    run = _cli("offload", card.path, d1, d2)

    # the verdict and the exit code
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    assert "COMPLETED WITH ERRORS: 1 of 3 files failed. Do not format the card." in out, out
    assert "VERIFIED:" not in out
    assert "files: 2 verified, 0 copied (not verified), 1 failed" in out
    assert out.count("completed with errors") >= 2  # each destination: 2 ok, 1 failed
    failed = [line for line in out.splitlines() if line.strip().startswith(f"FAILED {DAMAGED}:")]
    assert len(failed) == 1, out
    message = failed[0].split(f"{HISTORY_MISMATCH.value}: ", 1)[1]
    assert message.startswith(f"{DAMAGED} does not match the card's own ASC MHL history of {card.history_date}")
    assert f"xxh64 was {card.history_xxh64}, is now {now_xxh64}" in message
    assert "The card's file changed since it was last checked" in message and "Do not format the card" in message
    assert "safe to format: NO" in out and DAMAGED in out.split("safe to format: NO", 1)[1]

    # the catalog: that file failed with its code on both drives, never verified; the others verified
    con = sqlite3.connect(catalog_file())
    try:
        assert con.execute("SELECT state FROM offloads").fetchall() == [("completed with errors",)]
        status, code, stored = con.execute("SELECT status, code, message FROM files WHERE rel_path = ?",
                                           (DAMAGED,)).fetchone()
        verifications = con.execute(
            "SELECT v.result, v.code FROM verifications v JOIN copies c ON c.id = v.copy_id JOIN files f"
            " ON f.id = c.file_id WHERE f.rel_path = ?", (DAMAGED,)).fetchall()
    finally:
        con.close()
    assert (status, code, stored) == ("failed", HISTORY_MISMATCH.value, message)
    assert verifications == [("failed", HISTORY_MISMATCH.value)] * 2
    rows = copies()
    assert {(Path(c.roll).parent, c.state, c.code) for c in rows if c.rel_path == DAMAGED} == {
        (d1, "failed", HISTORY_MISMATCH.value), (d2, "failed", HISTORY_MISMATCH.value)}
    assert sorted((c.rel_path, c.state) for c in rows if c.rel_path != DAMAGED) == [
        (p, "verified") for p in SAFE_ONES for _ in (d1, d2)]
    rolls = [d1 / card.path.name, d2 / card.path.name]
    assert_nothing_claimed_falsely(tree(card.path), rolls=rolls)

    # status: not safe to format, because of that file alone
    st = _cli("status", "A001", "--json")
    assert st.returncode == 1, st.stdout + st.stderr
    [said] = [json.loads(line) for line in st.stdout.splitlines() if line.startswith("{")]
    assert said["safe_to_format"] is False and [f["rel_path"] for f in said["short"]] == [DAMAGED]
    assert any(DAMAGED in r for r in said["reasons"])

    # the offload report (PDF), as filed after the offload
    [pdf] = [Path(line.split("offload report: ", 1)[1].strip()) for line in run.stderr.splitlines()
             if "offload report: " in line]
    text = _flat(" ".join(page.extract_text() for page in PdfReader(pdf).pages))
    assert _flat("NOT SAFE TO FORMAT") in text and _flat("completed with errors") in text
    assert _flat(f"{DAMAGED} does not match the card's own ASC MHL history of {card.history_date}") in text
    assert card.history_xxh64 in text and now_xxh64 in text

    # the ASC MHL: the card's history continued, the new generation says failed, the reference agrees
    for roll in rolls:
        entries = mhl_entries(roll)
        assert entries[DAMAGED] == {"xxh64": (now_xxh64, "failed")}
        assert all(entries[p]["xxh64"] == (xxh64_of(card.path / p), "verified") for p in SAFE_ONES)
        v = oracle.verify(roll)
        said_by_reference = v.stdout + v.stderr
        assert v.returncode == 11, said_by_reference
        assert "hash mismatch" in said_by_reference and DAMAGED in said_by_reference
        assert card.history_xxh64 in said_by_reference and now_xxh64 in said_by_reference
        for p in SAFE_ONES:
            assert (roll / p).read_bytes() == (card.path / p).read_bytes()


def test_the_json_events_and_a_resume_say_the_same(make_card: CardBuilder, dest_dirs, oracle: Oracle) -> None:
    """For scripts: the file event is failed with the code, the done event is completed with errors and not
    safe; with a history of two generations the message names the one that last checked the file. A resume
    copies that file again, checks it against the history again, and it fails again: a retry never turns it
    verified while the card still differs."""
    card = _sealed_card(make_card, oracle, damage=True, generations=2)
    (d1,) = dest_dirs(1)
    run = _cli("offload", card.path, d1, "--json", "--no-clips")
    assert run.returncode == 1, run.stdout + run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    files = {e["path"]: e for e in events if e["event"] == "file"}
    assert files[DAMAGED]["status"] == "failed" and files[DAMAGED]["code"] == HISTORY_MISMATCH.value
    assert [c["state"] for c in files[DAMAGED]["copies"]] == ["failed"]
    assert files[DAMAGED]["message"].startswith(f"{DAMAGED} does not match the card's own ASC MHL history of "
                                                f"{card.history_date} (generation 1, ascmhl")
    assert "changed since it was last checked, on " in files[DAMAGED]["message"]
    assert "(generation 2, ascmhl" in files[DAMAGED]["message"]
    assert all(files[p]["status"] == "verified" for p in SAFE_ONES)
    [done] = [e for e in events if e["event"] == "done"]
    assert (done["state"], done["exit_code"], done["files_verified"], done["files_failed"]) == (
        "completed with errors", 1, 2, 1)
    assert done["safe_to_format"] is False and any(DAMAGED in r for r in done["reasons"])
    [hist] = [e for e in events if e["event"] == "source_history"]
    assert hist["ok"] is False and [p for p, _ in hist["mismatches"]] == [DAMAGED] and hist["failed"] == [DAMAGED]

    again = _cli("resume", str(done["offload_id"]), "--json")
    assert again.returncode == 1, again.stdout + again.stderr
    events = [json.loads(line) for line in again.stdout.splitlines() if line.startswith("{")]
    assert [(e["path"], e["status"], e["code"]) for e in events if e["event"] == "file"] == [
        (DAMAGED, "failed", HISTORY_MISMATCH.value)]
    assert [c.state for c in copies() if c.rel_path == DAMAGED] == ["failed"]


def test_sizes_only_the_file_still_fails(make_card: CardBuilder, dest_dirs, oracle: Oracle) -> None:
    """Verify mode 'size' reads the card once and hashes it: the history check fails the file there too, and
    the offload ends completed with errors (exit 1), not 'copied' (exit 3)."""
    card = _sealed_card(make_card, oracle, damage=True)
    (d1,) = dest_dirs(1)
    run = _cli("offload", card.path, d1, "--verify", "size", "--no-clips")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "COMPLETED WITH ERRORS: 1 of 3 files failed. Do not format the card." in run.stdout
    assert "files: 0 verified, 2 copied (not verified), 1 failed" in run.stdout
    assert {(c.rel_path, c.state) for c in copies()} == {(DAMAGED, "failed"), *((p, "copied") for p in SAFE_ONES)}


def test_the_same_card_unchanged_is_verified(make_card: CardBuilder, dest_dirs, oracle: Oracle) -> None:
    """The control: the history check fails nothing on a card that matches its history."""
    card = _sealed_card(make_card, oracle, damage=False)
    d1, d2 = dest_dirs(2)
    run = _cli("offload", card.path, d1, d2)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "VERIFIED: All 3 files verified on 2 destinations." in run.stdout
    assert "safe to format: YES" in run.stdout
    assert {(c.rel_path, c.state, c.code) for c in copies()} == {(p, "verified", None) for p in CLIPS}
    assert _cli("status", "A001").returncode == 0
    by_path = _cli("status", card.path)  # the card's own ascmhl/ folder is its history, not footage to offload
    assert by_path.returncode == 0, by_path.stdout + by_path.stderr
    inspected = json.loads(_cli("inspect", card.path, "--json").stdout.splitlines()[0])
    assert inspected["file_count"] == len(CLIPS), inspected  # the footage, not the history's manifests
    for roll in (d1 / card.path.name, d2 / card.path.name):
        assert {p: e["xxh64"][1] for p, e in mhl_entries(roll).items()} == {p: "verified" for p in CLIPS}
        v = oracle.verify(roll)
        assert v.returncode == 0, v.stdout + v.stderr


def _result(card: Path, rel: str, status: FileStatus = FileStatus.VERIFIED) -> FileResult:
    """What the engine says of a file it read (its real size, time and xxh64), copied to two drives."""
    st = (card / rel).stat()
    digests = {"xxh64": xxh64_of(card / rel)}
    copies = tuple(CopyResult(i, CopyState.VERIFIED, digests=digests, verified_at=1.0) for i in (0, 1))
    return FileResult(rel, st.st_size, st.st_mtime_ns, status, digests, copies)


def test_the_check_names_what_changed_and_leaves_the_rest_alone(make_card: CardBuilder, oracle: Oracle) -> None:
    """The check itself, on the history the reference wrote: a file that grew fails with both sizes and both
    digests; a file that failed already keeps its own failure; a file the history never saw, and one that
    matches, come back as they are."""
    card = _sealed_card(make_card, oracle, damage=False)
    with open(card.path / DAMAGED, "ab") as fh:
        fh.write(b"x")
    (card.path / "Clips" / "A001C004.mov").write_bytes(b"new since the history")
    history = load(str(card.path))
    assert history is not None
    src = SourceHistory(history)

    grown = src.check(_result(card.path, DAMAGED))
    assert grown.status is FileStatus.FAILED and grown.code is HISTORY_MISMATCH
    assert [(c.state, c.code, c.digests["xxh64"]) for c in grown.copies] == [
        (CopyState.FAILED, HISTORY_MISMATCH, xxh64_of(card.path / DAMAGED))] * 2
    assert grown.message.startswith(f"{DAMAGED} does not match the card's own ASC MHL history of "
                                    f"{card.history_date} (generation 1, ascmhl")
    assert (f"its size was {CLIPS[DAMAGED]:,} bytes, is now {CLIPS[DAMAGED] + 1:,}; xxh64 was {card.history_xxh64}, "
            f"is now {xxh64_of(card.path / DAMAGED)}.") in grown.message

    unreadable = dataclasses.replace(_result(card.path, DAMAGED, FileStatus.FAILED), code=Code.SOURCE_READ_ERROR)
    assert src.check(unreadable) is unreadable
    for rel in (SAFE_ONES[0], "Clips/A001C004.mov"):
        same = _result(card.path, rel)
        assert src.check(same) is same
    rep = src.report()
    assert [p for p, _ in rep.mismatches] == [DAMAGED, DAMAGED] and rep.failed == {DAMAGED}
    assert rep.new == ["Clips/A001C004.mov"] and rep.matched == 1
