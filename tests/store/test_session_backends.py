"""store.session on a catalog written by real offloads (the CLI's), once on an SQLite file and once on a
PostgreSQL server (`catalog_location`): which card an offload read, and opening an offload's row for a card the
catalog may know — a new card starts its own lineage, the same card continues its own, a card that went back
into the camera and shot more continues the lineage of the card it grew from, and an incremental offload
carries the copies its earlier offloads verified at the same roll folders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from datawrangler.cli import main
from datawrangler.core.cards import fingerprint
from datawrangler.core.plan import OffloadPlan
from datawrangler.core.scan import ScanResult, scan_source
from datawrangler.store import session
from datawrangler.store.catalog import Catalog
from datawrangler.store.location import open_location
from datawrangler.store.offloads import OffloadMeta
from tests.conftest import CardBuilder, write_file

FILES = {"A001C001_231014_R2EC.mov": 3000, "A001C002_231014_R2EC.mov": 5000, "SDINFO.TXT": 120}


def _cli_offload(card: Path, dests: list[Path], location: str) -> int:
    assert main(["offload", str(card), *map(str, dests), "-q", "--reel", "A001", "--no-clips",
                 "--catalog", location]) == 0
    db = open_location(location)
    try:
        return int(db.value("SELECT MAX(id) FROM offloads"))
    finally:
        db.close()


def _offload_row(db: Catalog, oid: int) -> tuple:
    return tuple(db.row("SELECT card_id, state, reel, incremental_of, files_total, bytes_total FROM offloads"
                        " WHERE id = ?", (oid,)) or ())


def _card_row(db: Catalog, card_id: int) -> tuple:
    return tuple(db.row("SELECT fingerprint, lineage, reel FROM cards WHERE id = ?", (card_id,)) or ())


def _begin(db: Catalog, card: Path, dests: list[Path], *, incremental: bool = False
           ) -> tuple[session.Begun, ScanResult, str]:
    scan = scan_source(card)
    fp = fingerprint(scan)
    plan = OffloadPlan.create(card, dests)
    return session.begin(db, plan, scan, fp, OffloadMeta(reel="A001"), incremental=incremental), scan, fp


def test_card_of_names_the_card_an_offload_read(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]],
                                                catalog_location: str) -> None:
    d1, d2 = dest_dirs(2)
    card = make_card(FILES, name="A001R2EC")
    other = make_card({"B001C001_231014_R3EC.mov": 700}, name="B001R3EC")
    o1 = _cli_offload(card, [d1], catalog_location)
    o2 = _cli_offload(other, [d2], catalog_location)
    db = open_location(catalog_location)
    try:
        c1, c2 = session.card_of(db, o1), session.card_of(db, o2)
        assert c1 is not None and c2 is not None and c1 != c2
        assert _card_row(db, c1)[0] == fingerprint(scan_source(card))
        assert _card_row(db, c2)[0] == fingerprint(scan_source(other))
        assert session.card_of(db, o2 + 1) is None
    finally:
        db.close()


def test_a_new_card_begins_its_own_lineage(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]],
                                           catalog_location: str) -> None:
    card = make_card(FILES, name="A001R2EC")
    d1, d2 = dest_dirs(2)
    db = open_location(catalog_location)
    try:
        begun, scan, fp = _begin(db, card, [d1, d2], incremental=True)  # nothing known: nothing carried
        assert begun.known is None and begun.pairs == {}
        oid = begun.record.offload_id
        card_id = session.card_of(db, oid)
        assert card_id is not None
        assert _offload_row(db, oid) == (card_id, "running", "A001", None, 3, 8120)
        assert _card_row(db, card_id) == (fp, card_id, "A001")  # its own lineage
        dests = [tuple(r) for r in db.run("SELECT id, path FROM destinations WHERE offload_id = ? ORDER BY idx",
                                          (oid,))]
        assert dests == [(begun.record.destination_ids[0], str(d1 / "A001R2EC")),
                         (begun.record.destination_ids[1], str(d2 / "A001R2EC"))]
        assert sorted(tuple(r) for r in db.run("SELECT rel_path, size, mtime_ns FROM files WHERE offload_id = ?",
                                               (oid,))) == sorted(tuple(f) for f in scan.files)
    finally:
        db.close()


def test_the_same_card_again_continues_its_lineage_and_carries_verified_copies(
        make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]], catalog_location: str) -> None:
    card = make_card(FILES, name="A001R2EC")
    d1, d2, d3 = dest_dirs(3)
    o1 = _cli_offload(card, [d1, d2], catalog_location)
    db = open_location(catalog_location)
    try:
        first_card = session.card_of(db, o1)
        assert first_card is not None
        again, scan, fp = _begin(db, card, [d1, d2])  # not incremental: everything copied again
        assert again.known is not None
        assert (again.known.card_id, again.known.lineage, again.known.exact, again.known.last_offload_id,
                again.known.new_or_changed, again.known.fingerprint) == (first_card, first_card, True, o1, 0, fp)
        assert again.pairs == {}
        o2 = again.record.offload_id
        assert _offload_row(db, o2) == (first_card, "running", "A001", None, 3, 8120)

        inc, _, _ = _begin(db, card, [d1, d2], incremental=True)
        assert inc.known is not None and inc.known.last_offload_id == o2  # the lineage's newest offload
        assert inc.pairs == {(f.rel_path, f.size, f.mtime_ns): {0, 1} for f in scan.files}  # o1's, verified
        assert _offload_row(db, inc.record.offload_id) == (first_card, "running", "A001", o2, 3, 8120)

        moved, _, _ = _begin(db, card, [d3, d2], incremental=True)  # d2's copies are this plan's index 1
        assert moved.pairs == {(f.rel_path, f.size, f.mtime_ns): {1} for f in scan.files}
        assert db.value("SELECT COUNT(*) FROM cards") == 1
    finally:
        db.close()


def test_a_grown_card_continues_the_lineage_of_the_card_it_grew_from(
        make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]], catalog_location: str) -> None:
    """The card went back into the camera and shot one more clip: a new fingerprint, the same reel, most of
    the listing unchanged. Its incremental offload carries what the first one verified, not the new clip."""
    card = make_card(FILES, name="A001R2EC")
    d1, d2 = dest_dirs(2)
    o1 = _cli_offload(card, [d1, d2], catalog_location)
    before = scan_source(card)
    write_file(card / "A001C003_231015_R2EC.mov", 4000, seed=9)
    db = open_location(catalog_location)
    try:
        first_card = session.card_of(db, o1)
        grown, scan, fp = _begin(db, card, [d1, d2], incremental=True)
        assert fp != fingerprint(before)
        assert grown.known is not None
        assert (grown.known.card_id, grown.known.lineage, grown.known.exact, grown.known.last_offload_id,
                grown.known.new_or_changed) == (first_card, first_card, False, o1, 1)
        assert grown.pairs == {(f.rel_path, f.size, f.mtime_ns): {0, 1} for f in before.files}
        new_card = session.card_of(db, grown.record.offload_id)
        assert new_card is not None and new_card != first_card
        assert _card_row(db, new_card) == (fp, first_card, "A001")  # the lineage it grew from
        assert _offload_row(db, grown.record.offload_id) == (new_card, "running", "A001", o1, 4, 12120)
        assert len(scan.files) == 4
    finally:
        db.close()
