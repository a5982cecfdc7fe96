"""ASC MHL written after real offloads, checked by the reference implementation (ascmhl 1.2): verify, XSD,
and `ascmhl create` on top of ours."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from datawrangler.handoff.history import load
from datawrangler.handoff.writer import HandoffOptions, write_handoff
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder, write_file
from tests.handoff.conftest import CREATOR, NOW, Oracle, Recorded, RunOffload

CARD = {
    "A001C001_231014_R2EC.mov": 300_000,
    "Clips/A001C002 231014.mov": 200_000,  # a space
    "Clips/Über Straße/Café_ñ.wav": 50_000,  # Unicode folders and names
    "Clips/deep/er/still/frame.0000001.ari": 70_000,
    "Clips/empty.bin": 0,
    "SDINFO.TXT": 120,
    "odd & <chars> 'q' \"dq\".txt": 10,  # XML escaping
}


def _write(rec: Recorded, options: HandoffOptions | None = None) -> list[str]:
    db = open_catalog(rec.db_path)
    try:
        result = write_handoff(db, rec.offload_id, options, now=NOW, creator=CREATOR)
    finally:
        db.close()
    assert not result.warnings, result.warnings
    return result.written


@pytest.fixture
def offloaded(make_card: CardBuilder, dest_dirs, recorded_offload: RunOffload) -> tuple[Recorded, list[Path]]:
    card = make_card(CARD, name="A001R2EC")
    rec = recorded_offload(card, dest_dirs(2), algorithms=("xxh64", "md5", "c4"))
    assert rec.result.all_verified
    _write(rec)
    return rec, [Path(p) for p in rec.plan.destinations]


def test_every_roll_gets_a_generation_the_reference_verifies(offloaded, oracle: Oracle) -> None:
    _, rolls = offloaded
    for roll in rolls:
        names = sorted(os.listdir(roll / "ascmhl"))
        assert names == ["0001_A001R2EC_2023-10-14_224105Z.mhl", "ascmhl_chain.xml"]
        v = oracle.verify(roll)
        assert v.returncode == 0, v.stdout + v.stderr
        assert oracle.schema_check(roll / "ascmhl" / names[0]).returncode == 0
        c = oracle.chain_check(roll / "ascmhl" / "ascmhl_chain.xml")
        assert c.returncode == 0, c.stdout + c.stderr
        history = load(str(roll))
        assert history is not None
        [gen] = history.generations
        assert gen.process == "transfer"
        assert {r.path for r in gen.records} == set(CARD)
        for r in gen.records:
            assert [(h.algorithm, h.action) for h in r.hashes] == [("c4", "original"), ("md5", "original"),
                                                                  ("xxh64", "original")]
            assert r.size == CARD[r.path]


def test_a_changed_byte_is_a_mismatch_for_the_reference(offloaded, oracle: Oracle) -> None:
    _, rolls = offloaded
    victim = rolls[0] / "Clips" / "Über Straße" / "Café_ñ.wav"
    data = bytearray(victim.read_bytes())
    data[1234] ^= 0x01
    st = victim.stat()
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    v = oracle.verify(rolls[0])
    assert v.returncode == 11, v.stdout + v.stderr
    assert "hash mismatch" in v.stdout + v.stderr and "Café_ñ.wav" in v.stdout + v.stderr
    assert oracle.verify(rolls[1]).returncode == 0  # the other drive is untouched


def test_a_removed_file_is_missing_for_the_reference(offloaded, oracle: Oracle) -> None:
    _, rolls = offloaded
    (rolls[1] / "Clips" / "A001C002 231014.mov").unlink()
    v = oracle.verify(rolls[1])
    assert v.returncode == 10, v.stdout + v.stderr
    assert "A001C002 231014.mov" in v.stdout + v.stderr


def test_reference_create_adds_a_generation_on_top_of_ours(offloaded, oracle: Oracle) -> None:
    _, rolls = offloaded
    c = oracle.run("ascmhl", "create", "-h", "xxh64", "-h", "md5", rolls[0])
    assert c.returncode == 0, c.stdout + c.stderr
    history = load(str(rolls[0]))
    assert history is not None and [g.number for g in history.generations] == [1, 2]
    second = history.generations[1]
    assert second.process == "in-place" and {r.path for r in second.records} == set(CARD)
    assert all(h.action == "verified" for r in second.records for h in r.hashes)
    assert oracle.verify(rolls[0]).returncode == 0


def test_ignore_patterns_are_recorded(make_card: CardBuilder, dest_dirs, recorded_offload: RunOffload,
                                      oracle: Oracle) -> None:
    card = make_card({"A.mov": 1000, "scratch.tmp": 10, ".DS_Store": 5})
    rec = recorded_offload(card, dest_dirs(1), ignore=(".DS_Store", "*.tmp"))
    _write(rec)
    roll = Path(rec.plan.destinations[0])
    assert not (roll / "scratch.tmp").exists()
    text = next((roll / "ascmhl").glob("0001_*.mhl")).read_text()
    assert "<pattern>*.tmp</pattern>" in text and "<pattern>ascmhl</pattern>" in text
    write_file(roll / "later.tmp", 3)  # a file the recorded patterns ignore
    assert oracle.verify(roll).returncode == 0
    write_file(roll / "later.mov", 3)  # one they do not: new
    assert oracle.verify(roll).returncode == 21


def test_only_what_the_catalog_has_verified_is_listed(make_card: CardBuilder, dest_dirs,
                                                      recorded_offload: RunOffload, oracle: Oracle) -> None:
    card = make_card({"A.mov": 1000, "B.mov": 2000})
    rec = recorded_offload(card, dest_dirs(2))
    con = sqlite3.connect(rec.db_path)
    with con:  # the catalog says B's copy on the second drive failed
        con.execute("UPDATE copies SET state = 'failed' WHERE destination_id = 2 AND file_id = "
                    "(SELECT id FROM files WHERE rel_path = 'B.mov')")
        con.execute("UPDATE offloads SET state = 'completed with errors'")
    con.close()
    _write(rec)
    first, second = (load(p) for p in rec.plan.destinations)
    assert first is not None and second is not None
    assert {r.path for r in first.generations[0].records} == {"A.mov", "B.mov"}
    assert {r.path for r in second.generations[0].records} == {"A.mov"}
    assert oracle.verify(Path(rec.plan.destinations[1])).returncode == 21  # B is there, but not vouched for


@pytest.mark.parametrize("state", ["interrupted", "cancelled", "running"])
def test_an_unfinished_offload_leaves_no_mhl(make_card: CardBuilder, dest_dirs, recorded_offload: RunOffload,
                                             state: str) -> None:
    rec = recorded_offload(make_card({"A.mov": 1000}), dest_dirs(1))
    con = sqlite3.connect(rec.db_path)
    with con:
        con.execute("UPDATE offloads SET state = ?", (state,))
    con.close()
    db = open_catalog(rec.db_path)
    try:
        result = write_handoff(db, rec.offload_id, HandoffOptions(legacy_mhl=True, csv=True), now=NOW,
                               creator=CREATOR)
    finally:
        db.close()
    assert result.written == [] and state in result.warnings[0]
    assert os.listdir(rec.plan.destinations[0]) == ["A.mov"]


def test_a_second_offload_into_the_roll_continues_the_chain(make_card: CardBuilder, dest_dirs,
                                                            recorded_offload: RunOffload, oracle: Oracle) -> None:
    card = make_card({"A.mov": 1000})
    dest = dest_dirs(1)
    rec = recorded_offload(card, dest)
    _write(rec)
    write_file(card / "B.mov", 500, seed=9)  # the card went back into the camera
    rec2 = recorded_offload(card, dest)
    db = open_catalog(rec2.db_path)
    try:
        result = write_handoff(db, rec2.offload_id, now=NOW.replace(hour=23), creator=CREATOR)
    finally:
        db.close()
    roll = Path(rec.plan.destinations[0])
    history = load(str(roll))
    assert history is not None and [g.number for g in history.generations] == [1, 2]
    assert [link.sequence for link in history.chain] == [1, 2]
    actions = {r.path: r.hashes[0].action for r in history.generations[1].records}
    assert actions == {"A.mov": "verified", "B.mov": "original"}
    assert result.written[-1].endswith("0002_A001R2EC_2023-10-14_234105Z.mhl")
    assert oracle.verify(roll).returncode == 0
    assert oracle.chain_check(roll / "ascmhl" / "ascmhl_chain.xml").returncode == 0
