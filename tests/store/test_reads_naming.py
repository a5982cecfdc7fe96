"""store.reads_naming, store.reads_verify, store.offloads.state_of and store.cards.record_vendor on catalogs
written by real offloads (the CLI's) and a real import, once on an SQLite file and once on a PostgreSQL server
(`catalog_location`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from datawrangler.cli import main
from datawrangler.store import cards, offloads, reads_naming, reads_verify
from datawrangler.store.handoff import ImportedFile, record_import
from datawrangler.store.location import open_location
from tests.conftest import CardBuilder


def _offload(card: Path, dests: list[Path], location: str, *extra: str) -> None:
    assert main(["offload", str(card), *map(str, dests), "-q", "--catalog", location, *extra]) == 0


def test_camera_reels_and_a_reel_taken_by_another_card(make_card: CardBuilder,
                                                        dest_dirs: Callable[[int], list[Path]],
                                                        catalog_location: str) -> None:
    dests = dest_dirs(2)
    _offload(make_card(name="A001R2EC"), dests, catalog_location, "--project", "NS")
    _offload(make_card(name="A002R3FD", files={"A002R3FD/A002C001_231014_R3FD.mov": 1000}), dests,
             catalog_location, "--project", "Other")
    _offload(make_card(name="B001R1AA", files={"B001R1AA/B001C001_231014_R1AA.mov": 1000}), dests,
             catalog_location, "--project", "NS")
    db = open_location(catalog_location)
    try:
        assert sorted(reads_naming.camera_reels(db, "A")) == ["A001", "A002"]
        assert sorted(reads_naming.camera_reels(db, "a")) == ["A001", "A002"]  # case-blind on both backends
        assert reads_naming.camera_reels(db, "A", "NS") == ["A001"]
        assert reads_naming.camera_reels(db, "C") == []
        first = db.row("SELECT o.id, o.started_at, c.fingerprint FROM offloads o JOIN cards c"
                       " ON c.id = o.card_id WHERE o.reel = 'A001'")
        assert first is not None
        taken = reads_naming.reel_taken(db, "A001", "f" * 64)
        assert taken == reads_naming.ReelTaken(first[0], first[1], first[2])
        assert reads_naming.reel_taken(db, "A001", first[2]) is None  # the same card is not another
        assert reads_naming.reel_taken(db, "A001", "f" * 64, project="Other") is None
        assert reads_naming.reel_taken(db, "A001", "f" * 64, project="NS") == taken
    finally:
        db.close()
    _offload(make_card(name="C009", files={"C009C001.mov": 100}), dests, catalog_location, "--reel", "C009")
    db = open_location(catalog_location)  # no project on that one
    try:
        assert reads_naming.camera_reels(db, "C") == ["C009"] and reads_naming.camera_reels(db, "C", "NS") == []
        unnamed = reads_naming.reel_taken(db, "C009", "f" * 64, project="NS")  # an offload of no project counts
        latest = db.value("SELECT MAX(id) FROM offloads")
        assert unnamed is not None and unnamed.offload_id == latest
    finally:
        db.close()


def test_offload_state_and_a_vendor_recorded_later(make_card: CardBuilder,
                                                   dest_dirs: Callable[[int], list[Path]],
                                                   catalog_location: str) -> None:
    _offload(make_card(name="A001R2EC"), dest_dirs(2), catalog_location)
    db = open_location(catalog_location)
    try:
        row = db.row("SELECT id, card_id FROM offloads")
        assert row is not None
        oid, card_id = row
        assert offloads.state_of(db, oid) == "verified"
        assert offloads.state_of(db, oid + 1000) is None
        with db.atomic():
            db.run("UPDATE cards SET vendor = NULL WHERE id = :id", {"id": card_id})
        cards.record_vendor(db, card_id, "ARRI")
        cards.record_vendor(db, card_id, "Sony")  # a vendor already recorded stays
    finally:
        db.close()
    db = open_location(catalog_location)  # committed: another connection reads it
    try:
        assert db.value("SELECT vendor FROM cards WHERE id = :id", {"id": card_id}) == "ARRI"
    finally:
        db.close()


def test_imported_rolls_are_the_imported_destinations_only(make_card: CardBuilder,
                                                           dest_dirs: Callable[[int], list[Path]],
                                                           tmp_path: Path, catalog_location: str) -> None:
    _offload(make_card(name="A001R2EC"), dest_dirs(2), catalog_location)  # an offload's destinations are not imports
    roll = make_card({"Clips/B002C001.mov": 100}, name="B002R1AB", root=tmp_path / "from_unit_b")
    db = open_location(catalog_location)
    try:
        assert reads_verify.imported_rolls(db) == set()
        record_import(db, str(roll), [ImportedFile("Clips/B002C001.mov", 100, 1, {"xxh64": "0" * 16}, "gen 1")],
                      ["xxh64"], "ascmhl:" + "1" * 64, "imported 1 file")
        assert reads_verify.imported_rolls(db) == {str(roll)}
    finally:
        db.close()
