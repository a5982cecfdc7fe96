"""The handoff files of a roll are written as the catalog's rows arrive (handoff.roll): the same bytes as when
they were made whole in memory (committed expectations, tests/handoff/golden/streamed), nothing under a final
name when writing fails half way, and no generation (nor an ascmhl folder) for a roll where nothing is verified."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from datawrangler.handoff import common
from datawrangler.handoff.options import HandoffResult
from datawrangler.handoff.roll import write_roll
from datawrangler.handoff.writer import HandoffOptions, write_handoff
from datawrangler.store import offloads
from datawrangler.store.db import open_catalog
from datawrangler.store.handoff import CopyRow, FileRow, files_named
from datawrangler.store.handoff_names import sidecar_name
from tests.faultfs import mount_tmpfs
from tests.handoff import streamed_input as si
from tests.handoff.conftest import CREATOR, Oracle, RunOffload
from tests.integration.conftest import require_root

GOLDEN = Path(__file__).parent / "golden" / "streamed"


def _write(out: Path, second: bool, rows: list[FileRow] | None = None) -> dict[str, dict[str, list[str]]]:
    said = {}
    summary = si.summary(second)
    rows = si.rows(second) if rows is None else rows
    for dest, d in zip(si.DESTS, summary.destinations, strict=True):
        roll = out / dest / si.ROLL
        roll.mkdir(parents=True, exist_ok=True)
        res = HandoffResult()
        write_roll(summary, d.id, str(roll), iter(rows), {f.rel_path for f in rows}, si.OPTIONS,
                   si.NOW2 if second else si.NOW1, CREATOR, None, res)
        said[f"{'second' if second else 'first'}/{dest}"] = {
            "warnings": [w.replace(str(out), "<OUT>") for w in res.warnings],
            "written": [w.replace(str(out), "<OUT>") for w in res.written]}
    return said


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_offloads_give_the_bytes_the_whole_document_writer_gave(tmp_path: Path) -> None:
    """Every sidecar, both ASC MHL generations (the second continues the first: verified, failed, original)
    and the chains, byte for byte; the same warnings, in the same order, and the same files written."""
    said = {**_write(tmp_path, False), **_write(tmp_path, True)}
    expected = _tree(GOLDEN)
    got = _tree(tmp_path)
    assert json.loads(expected.pop("result.json")) == said
    assert sorted(got) == sorted(expected)
    for name, data in expected.items():
        assert got[name] == data, f"{name} differs from the committed expectation"


def test_a_roll_with_no_file_gives_empty_sidecars_and_no_generation(tmp_path: Path) -> None:
    """No row at all: the CSV is its header, the JSON an empty file list, the lists are empty, and there is no
    ASC MHL generation (said), nor an ascmhl folder, nor a temporary file left."""
    summary = si.summary()
    roll = tmp_path / si.ROLL
    roll.mkdir()
    res = HandoffResult()
    write_roll(summary, 11, str(roll), iter(()), set(), si.OPTIONS, si.NOW1, CREATOR, None, res)
    assert res.warnings == [f"{roll}: no file is verified there: no ASC MHL generation was written."]
    assert not (roll / "ascmhl").exists()
    assert not list(roll.glob(".dwtmp-*"))
    stem = "A001R2EC_2023-10-14_223000Z"
    doc = json.loads((roll / f"{stem}.json").read_text())
    assert doc["files"] == [] and doc["offload"]["uuid"] == summary.uuid
    assert (roll / f"{stem}.csv").read_bytes().count(b"\r\n") == 1
    assert (roll / f"{stem}.xxh64").read_bytes() == b""
    assert (roll / f"{stem}.mhl").read_bytes().endswith(b"</creatorinfo>\n</hashlist>\n")
    assert sorted(res.written) == sorted(str(p) for p in roll.iterdir())


def test_nothing_verified_there_writes_no_generation(tmp_path: Path) -> None:
    """Files, none of them verified at this destination: sidecars listing none, no generation."""
    rows = [FileRow("A.mov", 1, 0, "failed", {"xxh64": "1" * 16}, {11: CopyRow("failed", {}, None, None, False)})]
    roll = tmp_path / si.ROLL
    roll.mkdir()
    res = HandoffResult()
    write_roll(si.summary(), 11, str(roll), iter(rows), set(), si.OPTIONS, si.NOW1, CREATOR, None, res)
    assert res.warnings[-1].endswith("no file is verified there: no ASC MHL generation was written.")
    assert not (roll / "ascmhl").exists()
    assert b"A.mov,1,1970-01-01T00:00:00+00:00,1111111111111111" in (roll / "A001R2EC_2023-10-14_223000Z.csv"
                                                                      ).read_bytes()


def _failing_rows(rows: list[FileRow], after: int) -> Iterator[FileRow]:
    for i, f in enumerate(rows):
        if i == after:
            raise OSError(errno.EIO, "Input/output error (the catalog's drive)")
        yield f


def test_a_failure_half_way_leaves_no_half_file(tmp_path: Path) -> None:
    """The rows stop half way (a read error): the earlier generation and its chain are as they were, no new
    file is under a final name, and no temporary file is left."""
    _write(tmp_path, False)
    before = _tree(tmp_path)
    summary = si.summary(True)
    roll = tmp_path / "d1" / si.ROLL
    with pytest.raises(OSError, match="Input/output error"):
        write_roll(summary, 11, str(roll), _failing_rows(si.rows(True), 6), set(), si.OPTIONS, si.NOW2, CREATOR,
                   None, HandoffResult())
    assert _tree(tmp_path) == before
    assert not [p for p in tmp_path.rglob(".dwtmp-*")]


def test_a_full_drive_at_the_sync_leaves_no_half_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The drive refuses the last bytes (ENOSPC when the manifest is synced): the sidecars already renamed
    stay whole, the manifest and the chain do not appear, no temporary file is left."""
    roll = tmp_path / si.ROLL
    roll.mkdir()
    real = common.platform.sync_file
    synced: list[int] = []

    def sync_file(fd: int) -> None:
        synced.append(fd)
        if len(synced) == 9:  # 8 sidecars, then the manifest
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(common.platform, "sync_file", sync_file)
    res = HandoffResult()
    with pytest.raises(OSError, match="No space left"):
        write_roll(si.summary(), 11, str(roll), iter(si.rows()), set(), si.OPTIONS, si.NOW1, CREATOR, None, res)
    assert len(res.written) == 8 and all(os.path.dirname(p) == str(roll) for p in res.written)
    assert not [p for p in roll.rglob("*") if p.is_file() and str(p) not in res.written]
    for p in res.written:
        assert Path(p).read_bytes() == (GOLDEN / "d1" / si.ROLL / Path(p).name).read_bytes()
    monkeypatch.setattr(common.platform, "sync_file", real)  # space freed: written again, whole
    again = HandoffResult()
    write_roll(si.summary(), 11, str(roll), iter(si.rows()), set(), si.OPTIONS, si.NOW1, CREATOR, None, again)
    expected = json.loads((GOLDEN / "result.json").read_text())["first/d1"]["warnings"]
    assert [w.replace(str(tmp_path), "<OUT>/d1") for w in again.warnings] == expected
    first = {k: v for k, v in _tree(GOLDEN / "d1" / si.ROLL).items() if "2023-10-14" in k}  # offload 1's
    assert {k: v for k, v in _tree(roll).items() if k != "ascmhl/ascmhl_chain.xml"} == first
    assert b"0001_A001R2EC_2023-10-14_224105Z.mhl" in (roll / "ascmhl" / "ascmhl_chain.xml").read_bytes()


def test_a_card_file_named_as_a_sidecar_is_found_in_the_catalog_and_kept(
        make_card, dest_dirs, recorded_offload: RunOffload, oracle: Oracle, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real offload whose card holds, at its top, a file named as the roll's CSV manifest: the catalog says
    so (store.handoff.files_named, no set of every path), the card's file is left as copied, the other files
    are written, and the reference verifies the roll."""
    monkeypatch.setattr(offloads, "time", SimpleNamespace(time=lambda: si.STARTED1))  # the offload's start
    name = sidecar_name(si.ROLL, si.STARTED1, "csv")
    card = make_card({"A001C001.mov": 20_000, name: 300, "Clips/B.wav": 0}, name=si.ROLL)
    rec = recorded_offload(card, dest_dirs(2))
    db = open_catalog(rec.db_path)
    try:
        assert files_named(db, rec.offload_id, [name, "Clips/B.wav", "B.wav", "nothing"]) == {name, "Clips/B.wav"}
        result = write_handoff(db, rec.offload_id, HandoffOptions(csv=True, json=True), now=si.NOW1,
                               creator=CREATOR)
    finally:
        db.close()
    for dest in rec.plan.destinations:
        roll = Path(dest)
        assert f"{dest}: the card has a file named {name}; the csv file was not written." in result.warnings
        assert (roll / name).read_bytes() == (card / name).read_bytes()
        assert (roll / sidecar_name(si.ROLL, si.STARTED1, "json")).is_file()
        done = oracle.verify(roll)
        assert done.returncode == 0, done.stdout + done.stderr
    assert len(result.written) == 4  # per roll: the JSON and the ASC MHL manifest


def test_a_chain_that_cannot_be_written_takes_its_manifest_back(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The drive fails when the chain of the second generation is synced: the new manifest is removed again,
    so that the history is what it was (a manifest its chain does not name would break it for good), and
    writing again later gives the very files of an undisturbed run."""
    _write(tmp_path, False)
    history_before = _tree(tmp_path / "d1" / si.ROLL / "ascmhl")
    rows = si.rows(True)
    roll = tmp_path / "d1" / si.ROLL
    real = common.platform.sync_file
    synced: list[int] = []

    def sync_file(fd: int) -> None:
        synced.append(fd)
        if len(synced) == 9:  # 7 sidecars (the md5 list's name is a card file's), the manifest, then the chain
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(common.platform, "sync_file", sync_file)
    with pytest.raises(OSError, match="Input/output error"):
        write_roll(si.summary(True), 11, str(roll), iter(rows), {f.rel_path for f in rows}, si.OPTIONS, si.NOW2,
                   CREATOR, None, HandoffResult())
    assert _tree(roll / "ascmhl") == history_before
    assert not list(roll.rglob(".dwtmp-*"))
    monkeypatch.setattr(common.platform, "sync_file", real)
    write_roll(si.summary(True), 11, str(roll), iter(rows), {f.rel_path for f in rows}, si.OPTIONS, si.NOW2,
               CREATOR, None, HandoffResult())
    assert _tree(roll) == _tree(GOLDEN / "d1" / si.ROLL)


def test_one_pass_feeds_every_roll_and_a_full_drive_costs_only_its_own(
        tmp_path: Path, make_card, recorded_offload: RunOffload, oracle: Oracle) -> None:
    """The rows are read once for every roll (handoff.writer). One roll is a small tmpfs: the copies fit, the
    handoff files do not (ENOSPC half way). That roll is said and left as it was (its copies whole, no file of
    the handoff, no temporary file); the other roll gets every file, and the reference verifies it."""
    require_root()
    card = make_card({f"A001C{i:04d}/F{i:05d}.dpx": 0 for i in range(2000)}, name=si.ROLL)
    roomy = tmp_path / "roomy"
    roomy.mkdir()
    small = mount_tmpfs(tmp_path / "small", 32 << 10)  # 8 pages: the sidecars of 2,000 files need far more
    try:
        rec = recorded_offload(card, [roomy, small.mountpoint])
        assert rec.result.all_verified
        copies = _tree(small.mountpoint)
        db = open_catalog(rec.db_path)
        statements: list[str] = []
        db.conn.set_trace_callback(statements.append)
        try:
            result = write_handoff(db, rec.offload_id, HandoffOptions(csv=True, json=True, checksum_lists=("xxh64",)),
                                   now=si.NOW1, creator=CREATOR)
        finally:
            db.close()
        assert len([s for s in statements if "LEFT JOIN copies" in s]) == 1  # the rows, read once for both rolls
        full, whole = rec.plan.destinations[1], rec.plan.destinations[0]
        assert [w for w in result.warnings if "Could not write the handoff files" in w] == [
            f"Could not write the handoff files into {full} (No space left on device). The copies are not "
            f"affected; write them again with 'datawrangler mhl-write {rec.offload_id}' once the drive is "
            "writable."]
        assert _tree(small.mountpoint) == copies  # nothing added, nothing left half way
        assert all(p.startswith(whole + os.sep) for p in result.written) and len(result.written) == 4
        done = oracle.verify(Path(whole))
        assert done.returncode == 0, done.stdout + done.stderr
        (csv,) = Path(whole).glob("*.csv")
        assert b"F01999.dpx" in csv.read_bytes()
    finally:
        small.cleanup()
