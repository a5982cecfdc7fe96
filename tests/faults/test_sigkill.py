"""50 SIGKILLs at random points of real offloads, then resume (the harness of tests/integration/test_resume.py,
with a smaller card so 50 trials fit the CI budget).

After each kill: the catalog passes integrity_check; no copy is recorded verified unless its bytes on disk
match the card; no file under a final name has wrong bytes; no ASC MHL lists a file that is not verified.
After the resume: every file verified, no temp file left, and the catalog's word on the offload is the same
as an uninterrupted run's.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from datawrangler.core.transfer import is_temp_name
from tests.conftest import BigData, write_file
from tests.faults.common import assert_nothing_claimed_falsely, footage, mhl_entries, tree
from tests.integration.test_resume import _check_after_kill, _offload_id, _projection, _run, kill_trial, reference_run

TRIALS = 50
FILES = 120


def _card(root: Path) -> Path:
    card = root / "A001R2EC"
    rnd = random.Random(8)
    for i in range(FILES):
        size = rnd.choice([0, 1, 700, 4096, 20_000, 65_536, 150_000]) if i % 40 else 2 << 20
        write_file(card / f"CLIPS/A001C{i:03d}_231014_R2EC.mov", size, seed=i + 1)
    return card


def _state(catalog: Path, oid: int) -> str:
    con = sqlite3.connect(catalog)
    try:
        return str(con.execute("SELECT state FROM offloads WHERE id = ?", (oid,)).fetchone()[0])
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.timeout(900)  # a real offload and resume per trial, each reading 300 clips: minutes on a loaded 2-core VM
def test_fifty_sigkills_then_resume(tmp_path: Path, big_data: BigData) -> None:
    # 50 trials write 2 copies each of a 10 MB card (~1 GB in all): each trial's are removed once checked
    # (a failing trial's are kept, to look at), so the test holds the card and two or three copies at most
    big_data.need(100 << 20)
    big_data.remove_later(tmp_path / "card", tmp_path / "ref1", tmp_path / "ref2")
    card = _card(tmp_path / "card")
    card_state = tree(card)
    duration, reference = reference_run(tmp_path, card, big_data)
    assert reference[0] == ("verified", FILES, FILES, 0)

    rnd = random.Random(20231015)
    killed_running = resumed = 0
    for trial in range(TRIALS):
        home, rolls, catalog, returncode, out = kill_trial(tmp_path, trial, card, rnd.uniform(0.0, duration * 1.05))
        dests = [r.parent for r in rolls]
        killed_running += returncode == -signal.SIGKILL
        assert_nothing_claimed_falsely(card_state, catalog=catalog if catalog.exists() else None, rolls=rolls)

        oid = _offload_id(home, out)
        if oid is None:  # killed before the offload was recorded: nothing to resume, start again
            code, out, err = _run(home, "offload", str(card), *map(str, dests), "--json")
            assert code == 0, err
            oid = _offload_id(home, out)
            assert oid is not None
        elif _state(catalog, oid) != "verified":
            code, out, err = _run(home, "resume", str(oid), "--json")
            assert code == 0, f"trial {trial}: resume exited {code}: {err[-2000:]}{out[-2000:]}"
            resumed += 1
        assert _state(catalog, oid) == "verified"
        _check_after_kill(catalog, card, rolls)
        assert_nothing_claimed_falsely(card_state, catalog=catalog, rolls=rolls)
        for roll in rolls:
            assert not [q for q in roll.rglob("*") if is_temp_name(q.name)], "temp files left after resume"
            assert set(footage(roll)) == set(card_state)
            assert set(mhl_entries(roll)) == set(card_state), f"trial {trial}: the ASC MHL does not list every file"
        assert _projection(catalog, oid) == reference, f"trial {trial}: catalog differs from a clean run"
        big_data.remove_now(*dests)  # checked: free this trial's copies before the next
    assert killed_running >= TRIALS // 2, f"only {killed_running} kills hit a running process"
    assert resumed >= TRIALS // 3, f"only {resumed} of {TRIALS} kills left an offload to resume: widen the window"
    print(f"\n{TRIALS} kills: {killed_running} while running, {resumed} resumed; reference run {duration:.2f} s",
          file=sys.stderr)
