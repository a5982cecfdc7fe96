"""store.handoff's reads (what the ASC MHL, checksum lists and manifests are written from, and how a roll folder
is found in the catalog) on catalogs written by real offloads (the CLI's), once on an SQLite file and once on a
PostgreSQL server (`catalog_location`). Each answer is checked against the card and the drives on disk, not
against the catalog's own rows."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from pathlib import Path

from datawrangler.cli import main
from datawrangler.core.medium.fs import read_back
from datawrangler.store import handoff
from datawrangler.store.location import open_location
from tests.conftest import CardBuilder, write_file

FILES = {"CLIPS/A001C001.mov": 3000, "CLIPS/A001C002.mov": 2000, "SDINFO.TXT": 120}


def _offload(card: Path, dests: list[Path], location: str, *extra: str, code: int = 0) -> int:
    """Offload through the CLI into the catalog at `location`; the new offload's id."""
    assert main(["offload", str(card), *map(str, dests), "-q", "--no-clips", "--catalog", location, *extra]) == code
    db = open_location(location)
    try:
        return int(db.value("SELECT MAX(id) FROM offloads"))
    finally:
        db.close()


def test_the_summary_says_what_the_offload_was_given(make_card: CardBuilder,
                                                     dest_dirs: Callable[[int], list[Path]],
                                                     catalog_location: str) -> None:
    dests = dest_dirs(2)
    card = make_card({**FILES, "CLIPS/skip.tmp": 5}, name="A001R2EC")
    oid = _offload(card, dests, catalog_location, "--hash", "xxh64,md5", "--operator", "Ana", "--project", "NS",
                   "--reel", "A001", "--ignore", "*.tmp")
    db = open_location(catalog_location)
    try:
        s = handoff.offload_summary(db, oid)
        assert s is not None
        assert (s.id, s.source, s.roll_name, s.reel, s.project, s.operator, s.host) == (
            oid, str(card), "A001R2EC", "A001", "NS", "Ana", socket.gethostname())
        assert str(uuid.UUID(s.uuid)) == s.uuid
        assert (s.algorithms, s.verify_mode, s.state) == (("xxh64", "md5"), "full", "verified")
        assert s.ended_at is not None and s.started_at <= s.ended_at
        assert "*.tmp" in s.ignore and ".DS_Store" in s.ignore
        assert [(d.idx, d.path, d.state) for d in s.destinations] == [
            (0, str(dests[0] / "A001R2EC"), "verified"), (1, str(dests[1] / "A001R2EC"), "verified")]
        assert handoff.offload_summary(db, oid + 1000) is None
    finally:
        db.close()


def test_the_files_come_in_listing_order_with_each_copy(make_card: CardBuilder,
                                                        dest_dirs: Callable[[int], list[Path]],
                                                        catalog_location: str) -> None:
    """A different file already sat under SDINFO.TXT's name on drive 1: that copy failed, drive 2's did not."""
    dests = dest_dirs(2)
    card = make_card(FILES, name="A001R2EC")
    write_file(dests[0] / "A001R2EC" / "SDINFO.TXT", 99, seed=4242)
    oid = _offload(card, dests, catalog_location, "--hash", "xxh64,md5", code=1)
    db = open_location(catalog_location)
    try:
        summary = handoff.offload_summary(db, oid)
        assert summary is not None and summary.state == "completed with errors"
        d0, d1 = (d.id for d in summary.destinations)
        files = list(handoff.offload_files(db, oid))
        listed = [r[0] for r in db.run("SELECT rel_path FROM files WHERE offload_id = :o ORDER BY id", {"o": oid})]
        assert [f.rel_path for f in files] == listed and sorted(listed) == sorted(FILES)
        buf = bytearray(1 << 16)
        for f in files:
            on_card = card / f.rel_path
            assert (f.size, f.mtime_ns) == (FILES[f.rel_path], on_card.stat().st_mtime_ns)
            assert f.digests == read_back(str(on_card), ["md5", "xxh64"], buf).digests
            assert sorted(f.copies) == [d0, d1]
            assert not any(c.already_present for c in f.copies.values())
            second = f.copies[d1]
            assert (second.state, second.digests) == ("verified", f.digests)
            assert second.verified_at is not None and isinstance(second.cache_bypassed, bool)
        by_path = {f.rel_path: f for f in files}
        assert by_path["SDINFO.TXT"].status == "failed" and by_path["SDINFO.TXT"].copies[d0].state == "failed"
        assert by_path["SDINFO.TXT"].copies[d0].verified_at is None
        assert [by_path[p].status for p in ("CLIPS/A001C001.mov", "CLIPS/A001C002.mov")] == ["verified"] * 2
        assert [by_path[p].copies[d0].state for p in ("CLIPS/A001C001.mov", "CLIPS/A001C002.mov")] == ["verified"] * 2
        assert list(handoff.offload_files(db, oid + 1000)) == []
    finally:
        db.close()


def test_files_named_finds_the_card_files_among_many_names(make_card: CardBuilder,
                                                           dest_dirs: Callable[[int], list[Path]],
                                                           catalog_location: str) -> None:
    oid = _offload(make_card(FILES, name="A001R2EC"), dest_dirs(2), catalog_location)
    db = open_location(catalog_location)
    try:
        others = [f"A001R2EC_{i:04d}.csv" for i in range(1200)]  # more names than one statement is given
        assert handoff.files_named(db, oid, [*others, "SDINFO.TXT", "CLIPS/A001C002.mov", "sdinfo.txt"]) == {
            "SDINFO.TXT", "CLIPS/A001C002.mov"}
        assert handoff.files_named(db, oid, others) == set()
        assert handoff.files_named(db, oid + 1000, ["SDINFO.TXT"]) == set()
        assert handoff.files_named(db, oid, []) == set()
    finally:
        db.close()


def test_the_sidecar_names_are_the_files_mhl_write_wrote(make_card: CardBuilder,
                                                         dest_dirs: Callable[[int], list[Path]],
                                                         catalog_location: str) -> None:
    dests = dest_dirs(2)
    oid = _offload(make_card(FILES, name="A001R2EC"), dests, catalog_location, "--hash", "xxh64,md5")
    assert main(["mhl-write", str(oid), "--csv", "--legacy", "--lists", "md5", "--manifest-json",
                 "--catalog", catalog_location]) == 0
    db = open_location(catalog_location)
    try:
        for dest in dests:
            roll = dest / "A001R2EC"
            written = {p.name for p in roll.iterdir() if p.is_file()} - set(FILES)
            assert len(written) == 4, written  # the CSV, the legacy MHL, the md5 list, the JSON manifest
            own = handoff.sidecar_names_at(db, handoff.destinations_at(db, str(roll)))
            assert written <= own and all(n.startswith("A001R2EC_") for n in own)
        assert handoff.sidecar_names_at(db, []) == set()
    finally:
        db.close()


def test_a_roll_folder_and_the_rolls_under_a_folder(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]],
                                                    tmp_path: Path, catalog_location: str) -> None:
    d1, d2 = dest_dirs(2)
    a = _offload(make_card({"A001C001.mov": 100}, name="A001R2EC"), [d1, d2], catalog_location)
    b = _offload(make_card({"B001C001.mov": 100}, name="B001R1AB"), [d1], catalog_location)
    db = open_location(catalog_location)
    try:
        sa, sb = handoff.offload_summary(db, a), handoff.offload_summary(db, b)
        assert sa is not None and sb is not None
        (a1, a2), (b1,) = [d.id for d in sa.destinations], [d.id for d in sb.destinations]
        roll = d1 / "A001R2EC"
        assert handoff.destinations_at(db, str(roll)) == [a1]
        assert handoff.destinations_at(db, f"{roll}/") == [a1]
        assert handoff.destinations_at(db, f"{d1}/./A001R2EC") == [a1]
        assert handoff.destinations_at(db, str(d1)) == [] and handoff.destinations_at(db, str(d1 / "A001")) == []
        # the functions promise no order: compared as sets (each id once)
        assert sorted(handoff.destinations_under(db, str(d1))) == sorted([a1, b1])
        assert sorted(handoff.destinations_under(db, str(tmp_path))) == sorted([a1, a2, b1])
        assert handoff.destinations_under(db, str(roll)) == [a1]
        assert handoff.destinations_under(db, str(d2 / "B001R1AB")) == []
        assert handoff.destinations_under(db, str(tmp_path / "drive")) == []  # a prefix of a name is not a folder
    finally:
        db.close()
