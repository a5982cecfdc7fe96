"""A source with an ASC MHL history (checked while offloading, chain continued at the destination); a drive
with no catalog record (checked against its histories, imported into the catalog); re-verify generations."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
from pathlib import Path

import pytest

from datawrangler.cli import handoff_cmds
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import scan_source
from datawrangler.handoff.history import load
from datawrangler.handoff.source import prepare_source
from datawrangler.handoff.writer import write_handoff
from datawrangler.store import reverify
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder, write_file
from tests.handoff.conftest import CREATOR, NOW, Oracle, RunOffload

SHUTTLE = {"Clips/A001C001.mov": 120_000, "Clips/Ünïcode clip.mov": 40_000, "REPORT.CSV": 300}


def _flip(path: Path, at: int = 7) -> None:
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[at] ^= 0x20
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _shuttle(make_card: CardBuilder, oracle: Oracle) -> Path:
    """A copy of a copy: a roll that another tool sealed with ascmhl (md5 originals)."""
    card = make_card(SHUTTLE, name="A001R2EC")
    c = oracle.run("ascmhl", "create", "-h", "md5", card)
    assert c.returncode == 0, c.stdout + c.stderr
    return card


def _offload_with_history(card: Path, dests, recorded_offload: RunOffload):
    plan, src = prepare_source(OffloadPlan.create(card, [str(d) for d in dests], algorithms=("xxh64",)))
    assert src is not None
    rec = recorded_offload(card, dests, plan=plan, on_file=src.check)
    src.finish([f.rel_path for f in scan_source(plan.source, plan.ignore).files])
    db = open_catalog(rec.db_path)
    try:
        result = write_handoff(db, rec.offload_id, now=NOW, creator=CREATOR, source_history=src.history)
    finally:
        db.close()
    return rec, src, result


def test_source_history_is_checked_and_continued(make_card, dest_dirs, recorded_offload, oracle: Oracle) -> None:
    card = _shuttle(make_card, oracle)
    rec, src, result = _offload_with_history(card, dest_dirs(2), recorded_offload)
    assert rec.plan.algorithms == ("xxh64", "md5")  # the history's algorithm was added to compare with it
    rep = src.report()
    assert rep.ok and rep.matched == rep.checked == len(SHUTTLE) and rep.generations == 1
    assert not result.warnings, result.warnings
    for roll in map(Path, rec.plan.destinations):
        history = load(str(roll))
        assert history is not None and [g.number for g in history.generations] == [1, 2]
        first, ours = history.generations
        assert first.process == "in-place" and ours.process == "transfer"
        # the source's manifest travels byte for byte
        assert (roll / "ascmhl" / first.filename).read_bytes() == (card / "ascmhl" / first.filename).read_bytes()
        assert {r.path: [(h.algorithm, h.action) for h in r.hashes] for r in ours.records} == {
            p: [("md5", "verified"), ("xxh64", "verified")] for p in SHUTTLE}
        v = oracle.verify(roll)
        assert v.returncode == 0, v.stdout + v.stderr
        assert oracle.chain_check(roll / "ascmhl" / "ascmhl_chain.xml").returncode == 0
        assert oracle.schema_check(roll / "ascmhl" / ours.filename).returncode == 0


def test_a_source_that_differs_from_its_history_is_reported(make_card, dest_dirs, recorded_offload,
                                                            oracle: Oracle) -> None:
    card = _shuttle(make_card, oracle)
    _flip(card / "Clips" / "Ünïcode clip.mov")  # bit rot on the shuttle drive
    (card / "REPORT.CSV").unlink()
    rec, src, _ = _offload_with_history(card, dest_dirs(1), recorded_offload)
    rep = src.report()
    assert [p for p, _ in rep.mismatches] == ["Clips/Ünïcode clip.mov"] and "md5: history" in rep.mismatches[0][1]
    assert rep.missing == ["REPORT.CSV"] and not rep.ok
    roll = Path(rec.plan.destinations[0])
    history = load(str(roll))
    assert history is not None
    actions = {r.path: r.hashes[0].action for r in history.generations[-1].records}
    assert actions == {"Clips/A001C001.mov": "verified", "Clips/Ünïcode clip.mov": "failed"}
    v = oracle.verify(roll)  # the history of every file is kept: the reference sees the damage too
    assert v.returncode == 11, v.stdout + v.stderr


def _cli(*argv: str) -> int:
    p = argparse.ArgumentParser()
    handoff_cmds.register(p.add_subparsers(dest="command"))
    args = p.parse_args(argv)
    return int(args.func(args))


def test_a_foreign_drive_is_verified_against_its_histories(make_card, oracle: Oracle, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    drive = tmp_path / "from_unit_b"
    for name in ("A001R2EC", "B002R1AB"):
        make_card(SHUTTLE, name=name, root=drive)
        assert oracle.run("ascmhl", "create", "-h", "xxh64", drive / name).returncode == 0
    db = open_catalog(tmp_path / "cat.sqlite")
    try:
        ns = argparse.Namespace(target=str(drive), json=True)
        assert handoff_cmds.verify_if_unknown(db, ns) == 0
        done = [json.loads(x) for x in capsys.readouterr().out.splitlines()][-1]
        assert done["ok"] and [r["verified"] for r in done["rolls"]] == [3, 3]
        _flip(drive / "B002R1AB" / "REPORT.CSV")
        write_file(drive / "A001R2EC" / "Clips" / "stray.mov", 10)
        assert handoff_cmds.verify_if_unknown(db, argparse.Namespace(target=str(drive), json=False)) == 1
        out = capsys.readouterr().out
        assert "1 mismatch: REPORT.CSV" in out and "1 new: Clips/stray.mov" in out
    finally:
        db.close()


def test_import_then_verify_and_the_reverify_generation(make_card, oracle: Oracle, tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    roll = make_card(SHUTTLE, name="A001R2EC", root=drive)
    assert oracle.run("ascmhl", "create", "-h", "xxh64", "-h", "md5", roll).returncode == 0
    catalog = tmp_path / "cat.sqlite"
    assert _cli("import", str(drive), "--catalog", str(catalog)) == 0
    assert _cli("import", str(drive), "--catalog", str(catalog)) == 1  # already imported: nothing new
    con = sqlite3.connect(catalog)
    try:
        assert con.execute("SELECT state, files_total FROM offloads").fetchall() == [("imported", 3)]
        rows = con.execute("SELECT f.rel_path, c.state, f.digests FROM files f JOIN copies c ON c.file_id = f.id"
                           ).fetchall()
        assert {r[0] for r in rows} == set(SHUTTLE) and {r[1] for r in rows} == {"copied"}
        assert all(set(json.loads(r[2])) == {"md5", "xxh64"} for r in rows)
    finally:
        con.close()
    _flip(roll / "REPORT.CSV")
    db = open_catalog(catalog)
    try:
        report = reverify.reverify(db, str(drive))
        assert report.verified == 2 and report.changed == [str(roll / "REPORT.CSV")]
        written = handoff_cmds.after_reverify(db, report.rolls)
    finally:
        db.close()
    assert len(written) == 1
    history = load(str(roll))
    assert history is not None
    last = history.generations[-1]
    assert last.process == "in-place"
    assert {r.path: {h.action for h in r.hashes} for r in last.records} == {
        "Clips/A001C001.mov": {"verified"}, "Clips/Ünïcode clip.mov": {"verified"}, "REPORT.CSV": {"failed"}}
    assert oracle.schema_check(Path(written[0])).returncode == 0
    v = oracle.verify(roll)
    assert v.returncode == 11 and "REPORT.CSV" in v.stdout + v.stderr
