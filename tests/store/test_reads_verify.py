"""What the reads report after `datawrangler verify` (the CLI's re-verify) found copies gone bad on a drive, and
after a drive from another unit was imported (`datawrangler import`) and verified: store.handoff's
latest_reverify and offload_files, store.reads_verify's imported_rolls, and what History and the reports
show of the same copies (reads_browse, reads_reports). Once on an SQLite file and once on a PostgreSQL server
(`catalog_location`); every catalog row is written by the CLI, every expected value comes from the files."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from datawrangler.core.medium.fs import read_back
from datawrangler.store import handoff, reads_browse, reads_reports, reads_verify
from datawrangler.store.location import open_location
from tests.conftest import CardBuilder, write_file
from tests.store.conftest import RunCli

FILES = {"CLIPS/A001C001.mov": 3000, "CLIPS/A001C002.mov": 2000, "SDINFO.TXT": 120}
CHANGED, KEPT, GONE = "CLIPS/A001C001.mov", "CLIPS/A001C002.mov", "SDINFO.TXT"


def _digests(path: Path) -> dict[str, str]:
    return read_back(str(path), ["xxh64"], bytearray(1 << 16)).digests


def _done(events: list[dict]) -> dict:
    (done,) = [e for e in events if e["event"] == "done"]
    return done


def test_copies_changed_and_gone_on_a_drive_read_as_failed(make_card: CardBuilder,
                                                           dest_dirs: Callable[[int], list[Path]], dw: RunCli,
                                                           catalog_location: str) -> None:
    d1, d2 = dest_dirs(2)
    card = make_card(FILES, name="A001R2EC")
    assert dw("offload", str(card), str(d1), str(d2), "-q", "--no-clips", "--catalog", catalog_location)[0] == 0
    roll = d2 / "A001R2EC"
    write_file(roll / CHANGED, FILES[CHANGED], seed=777)  # the same size, other bytes
    (roll / GONE).unlink()

    code, events = dw("verify", str(d2), "--catalog", catalog_location)
    assert code == 1
    done = _done(events)
    assert (done["checked"], done["verified"]) == (3, 1)
    assert done["changed"] == [str(roll / CHANGED)] and done["missing"] == [str(roll / GONE)]

    db = open_location(catalog_location)
    try:
        oid = int(db.value("SELECT MAX(id) FROM offloads"))
        summary = handoff.offload_summary(db, oid)
        assert summary is not None
        first, second = (d.id for d in summary.destinations)
        rows = {r.rel_path: r for r in handoff.latest_reverify(db, [second])}
        assert {p: r.result for p, r in rows.items()} == {CHANGED: "changed", KEPT: "verified", GONE: "missing"}
        assert rows[CHANGED].digests == _digests(roll / CHANGED) != _digests(card / CHANGED)  # what it read
        assert rows[KEPT].digests == _digests(card / KEPT) and rows[GONE].digests == {}
        assert [rows[p].size for p in (CHANGED, KEPT, GONE)] == [FILES[CHANGED], FILES[KEPT], FILES[GONE]]
        assert list(handoff.latest_reverify(db, [first])) == []  # drive 1 was not re-read
        assert list(handoff.latest_reverify(db, [])) == []

        copies = {f.rel_path: f.copies for f in handoff.offload_files(db, oid)}
        assert {p: (c[first].state, c[second].state) for p, c in copies.items()} == {
            CHANGED: ("verified", "changed"), KEPT: ("verified", "verified"), GONE: ("verified", "missing")}

        page = {f.rel_path: f for f in reads_browse.files_page(db, oid)}
        assert {p: (f.verified, f.copies) for p, f in page.items()} == {CHANGED: (1, 2), KEPT: (2, 2), GONE: (1, 2)}
        checks = reads_browse.copy_checks(db, page[CHANGED].id)
        assert [(c.destination, c.method, c.result) for c in checks] == [
            (str(d1 / "A001R2EC"), "offload-readback", "verified"), (str(roll), "offload-readback", "verified"),
            (str(roll), "reverify", "changed")]
        assert "the catalog has" in checks[-1].message

        _d1, on_d2 = reads_reports.destinations(db, oid)
        assert (on_d2["verified"], on_d2["changed"], on_d2["failed"]) == (1, 1, 0)
        table = {r[0]: r[6] for r in reads_reports.file_rows(db, oid, [first, second])}
        assert table == {CHANGED: ("verified", "changed"), KEPT: ("verified", "verified"),
                         GONE: ("verified", "missing")}
    finally:
        db.close()

    shutil.copy2(card / CHANGED, roll / CHANGED)  # the copy put right: the latest re-verify is what counts
    code, events = dw("verify", str(roll), "--catalog", catalog_location)
    assert code == 1 and _done(events)["missing"] == [str(roll / GONE)]
    db = open_location(catalog_location)
    try:
        rows = {r.rel_path: r for r in handoff.latest_reverify(db, [second])}
        assert {p: r.result for p, r in rows.items()} == {CHANGED: "verified", KEPT: "verified", GONE: "missing"}
        assert rows[CHANGED].digests == _digests(card / CHANGED)
        assert [c.result for c in reads_browse.copy_checks(db, page[CHANGED].id)][-2:] == ["changed", "verified"]
    finally:
        db.close()


def test_a_drive_from_another_unit_imported_then_verified(make_card: CardBuilder, tmp_path: Path, dw: RunCli,
                                                          catalog_location: str) -> None:
    shuttle = tmp_path / "shuttle"
    shuttle.mkdir()
    card = make_card(FILES, name="B002R1AB")
    unit_b = str(tmp_path / "unit_b.sqlite")  # the other unit's own catalog: only its ASC MHL travels
    assert dw("offload", str(card), str(shuttle), "-q", "--no-clips", "--catalog", unit_b)[0] == 0
    roll = shuttle / "B002R1AB"
    assert (roll / "ascmhl").is_dir()

    db = open_location(catalog_location)
    try:
        assert reads_verify.imported_rolls(db) == set()
    finally:
        db.close()
    code, events = dw("import", str(shuttle), "--catalog", catalog_location)
    assert code == 0
    (imported,) = _done(events)["rolls"]
    oid = imported["offload_id"]
    assert imported["roll"] == str(roll) and isinstance(oid, int)

    db = open_location(catalog_location)
    try:
        assert reads_verify.imported_rolls(db) == {str(roll)}
        summary = handoff.offload_summary(db, oid)
        assert summary is not None
        assert (summary.state, summary.source, summary.algorithms) == ("imported", str(roll), ("xxh64",))
        (dest,) = summary.destinations
        assert (dest.path, dest.state) == (str(roll), "imported")
        assert handoff.destinations_at(db, str(roll)) == [dest.id]
        files = {f.rel_path: f for f in handoff.offload_files(db, oid)}
        assert sorted(files) == sorted(FILES)
        for path, f in files.items():
            assert (f.size, f.status, f.digests) == (FILES[path], "copied", _digests(card / path))
            assert f.copies[dest.id].state == "copied" and f.copies[dest.id].already_present
        assert list(handoff.latest_reverify(db, [dest.id])) == []
    finally:
        db.close()

    assert dw("import", str(shuttle), "--catalog", catalog_location)[0] == 1  # already imported: nothing added
    write_file(roll / CHANGED, FILES[CHANGED], seed=778)
    code, events = dw("verify", str(shuttle), "--catalog", catalog_location)
    assert code == 1 and _done(events)["changed"] == [str(roll / CHANGED)]

    db = open_location(catalog_location)
    try:
        assert reads_verify.imported_rolls(db) == {str(roll)}
        assert db.value("SELECT COUNT(*) FROM offloads") == 1
        rows = {r.rel_path: r.result for r in handoff.latest_reverify(db, [dest.id])}
        assert rows == {CHANGED: "changed", KEPT: "verified", GONE: "verified"}
        states = {f.rel_path: f.copies[dest.id].state for f in handoff.offload_files(db, oid)}
        assert states == {CHANGED: "changed", KEPT: "verified", GONE: "verified"}
    finally:
        db.close()
