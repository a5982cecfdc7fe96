"""The CLI records into the catalog and answers from it: JSON ids, duplicates, history, verify, liveness."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from datawrangler.config import app_paths
from datawrangler.store.db import open_catalog
from datawrangler.store.liveness import mark_interrupted
from tests.conftest import CardBuilder
from tests.store.conftest import RunCli


def _catalog() -> sqlite3.Connection:
    return sqlite3.connect(app_paths().catalog_file)


def test_offload_events_name_the_offload_and_rows_match(dw: RunCli, make_card: CardBuilder, tmp_path: Path) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    code, events = dw("offload", str(card), str(tmp_path / "d1"), "--project", "Nightfall", "--operator", "kim")
    assert code == 0
    assert {e["offload_id"] for e in events} == {1}
    con = _catalog()
    try:
        assert con.execute("SELECT state, project, operator, reel, files_verified FROM offloads").fetchall() == [
            ("verified", "Nightfall", "kim", "A001", 4)]
        assert con.execute("SELECT status, COUNT(*) FROM files GROUP BY status").fetchall() == [("verified", 4)]
        assert con.execute("SELECT c.state, v.method, v.result FROM copies c JOIN verifications v ON v.copy_id = c.id"
                           ).fetchall() == [("verified", "offload-readback", "verified")] * 4
    finally:
        con.close()


def test_catalog_option_moves_the_catalog(dw: RunCli, make_card: CardBuilder, tmp_path: Path) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    elsewhere = tmp_path / "mine.sqlite"
    assert dw("--catalog", str(elsewhere), "offload", str(card), str(tmp_path / "d1"))[0] == 0
    assert elsewhere.exists() and not app_paths().catalog_file.exists()
    code, events = dw("history", "--catalog", str(elsewhere))
    assert code == 0 and [o["id"] for o in events[0]["offloads"]] == [1]


def test_a_known_card_is_recognised(dw: RunCli, make_card: CardBuilder, tmp_path: Path) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    assert dw("offload", str(card), str(tmp_path / "d1"))[0] == 0
    code, events = dw("offload", str(card), str(tmp_path / "d2"), "--incremental")
    known = [e for e in events if e["event"] == "known_card"]
    assert len(known) == 1 and known[0]["exact"] and known[0]["previous_offload"] == 1
    assert known[0]["offload_id"] == 2, "said once the new offload has its id, like every offload event"
    assert "already offloaded as A001 on" in known[0]["message"] and "1 verified copy on" in known[0]["message"]
    assert code == 0  # a new destination gets every file: nothing there was verified before
    assert len([e for e in events if e["event"] == "file"]) == 4


def test_history_filters(dw: RunCli, make_card: CardBuilder, tmp_path: Path) -> None:
    (tmp_path / "d1").mkdir()
    a = make_card(name="A001R2EC")
    b = make_card(name="B002R1AB", files={"B002C001.mov": 100})
    assert dw("offload", str(a), str(tmp_path / "d1"), "--project", "One")[0] == 0
    assert dw("offload", str(b), str(tmp_path / "d1"), "--project", "Two")[0] == 0
    reels = lambda *f: [o["reel"] for o in dw("history", *f)[1][0]["offloads"]]  # noqa: E731
    assert reels() == ["B002", "A001"]
    assert reels("--project", "One") == ["A001"]
    assert reels("--reel", "B002") == ["B002"]
    assert reels("--state", "interrupted") == []
    assert reels("--since", "2000-01-01", "--until", "2000-01-02") == []
    assert reels("--volume", str(tmp_path / "d1")) == ["B002", "A001"]
    assert dw("history", "--since", "yesterday")[0] == 2


def test_verify_reports_missing_changed_extra_and_keeps_history(
        dw: RunCli, make_card: CardBuilder, tmp_path: Path) -> None:
    card = make_card()
    d1 = tmp_path / "d1"
    d1.mkdir()
    assert dw("offload", str(card), str(d1))[0] == 0
    assert dw("verify", str(d1))[0] == 0
    roll = d1 / card.name
    (roll / "SDINFO.TXT").write_bytes(b"x" * 120)
    (roll / "A001R2EC" / "A001C003_231014_R2EC.mov").unlink()
    (roll / "notes.txt").write_text("hello")
    code, events = dw("verify", str(d1))
    done = events[-1]
    assert code == 1 and not done["ok"]
    assert done["changed"] == [str(roll / "SDINFO.TXT")]
    assert done["missing"] == [str(roll / "A001R2EC" / "A001C003_231014_R2EC.mov")]
    assert done["extra"] == [str(roll / "notes.txt")]
    con = _catalog()
    try:
        rows = con.execute("SELECT v.method, v.result FROM verifications v JOIN copies c ON c.id = v.copy_id"
                           " JOIN files f ON f.id = c.file_id WHERE f.rel_path = 'SDINFO.TXT' ORDER BY v.id").fetchall()
        assert rows == [("offload-readback", "verified"), ("reverify", "verified"), ("reverify", "changed")]
        assert con.execute("SELECT c.state FROM copies c JOIN files f ON f.id = c.file_id"
                           " WHERE f.rel_path = 'SDINFO.TXT'").fetchone() == ("changed",)
    finally:
        con.close()
    assert dw("verify", str(tmp_path / "nothing-here"))[0] == 2


def test_running_offload_of_a_dead_process_shows_as_interrupted(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import os
    import socket

    from datawrangler.store.liveness import start_token

    db = open_catalog(tmp_path / "c.sqlite")
    try:
        with db.atomic():
            for pid, token in ((dead.pid, "1"), (os.getpid(), start_token(os.getpid()))):
                db.conn.execute("INSERT INTO offloads (uuid, source, plan, state, started_at, host, pid, start_token)"
                                " VALUES (?, '/card', '{}', 'running', ?, ?, ?, ?)",
                                (f"u{pid}", time.time(), socket.gethostname(), pid, token))
        assert mark_interrupted(db) == [1]
        assert [r[0] for r in db.conn.execute("SELECT state FROM offloads ORDER BY id")] == ["interrupted", "running"]
    finally:
        db.close()
