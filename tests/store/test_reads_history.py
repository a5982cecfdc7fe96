"""store.history (the CLI's `history` and `status` searches) per function on catalogs written by real offloads
(the CLI's), once on an SQLite file and once on a PostgreSQL server (`catalog_location`): each filter of
`Filters` alone, an offload's destinations, an offload and a card by id, a card found by id, fingerprint prefix
or reel, and a card that grew between two offloads read as one lineage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler.store import history
from datawrangler.store.history import Filters
from datawrangler.store.location import open_location
from tests.conftest import CardBuilder, write_file
from tests.store.conftest import RunCli


def _offload(dw: RunCli, card: Path, dests: list[Path], location: str, *extra: str) -> int:
    code, events = dw("offload", str(card), *map(str, dests), "-q", "--no-clips", "--catalog", location, *extra)
    assert code == 0, events[-1]
    return int(events[-1]["offload_id"])


def test_each_filter_alone(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]], dw: RunCli,
                           catalog_location: str) -> None:
    d1, d2 = dest_dirs(2)
    a1 = _offload(dw, make_card({"A001C001.mov": 100}, name="A001R2EC"), [d1, d2], catalog_location,
                  "--project", "Night Shoot", "--camera", "A", "--reel", "A001")
    a2 = _offload(dw, make_card({"A002C001.mov": 100}, name="A002R2EC"), [d1], catalog_location,
                  "--project", "Night Shoot", "--camera", "A", "--reel", "A002")
    b1 = _offload(dw, make_card({"B001C001.mov": 100}, name="B001R1AB"), [d2], catalog_location,
                  "--project", "Pickups", "--camera", "B", "--reel", "B001")
    db = open_location(catalog_location)
    try:
        everything = history.offloads(db, Filters())
        assert [o["id"] for o in everything] == [b1, a2, a1]  # newest first
        day, last_day = (dt.datetime.fromtimestamp(o["started_at"]).date() for o in (everything[-1], everything[0]))
        cases = {
            Filters(project="night"): [a2, a1], Filters(project="PICK"): [b1], Filters(camera="b"): [b1],
            Filters(reel="a00"): [a2, a1], Filters(reel="001"): [],  # a reel is matched from its start
            Filters(state="verified"): [b1, a2, a1], Filters(state="interrupted"): [],
            Filters(volume=str(d1)): [a2, a1], Filters(volume=f"{d2}/"): [b1, a1],
            Filters(volume=str(d2 / "B001R1AB")): [b1], Filters(text="pickups"): [b1], Filters(text="a002"): [a2],
            Filters(since=day.isoformat()): [b1, a2, a1], Filters(until=last_day.isoformat()): [b1, a2, a1],
            Filters(since=(last_day + dt.timedelta(days=1)).isoformat()): [],
            Filters(until=(day - dt.timedelta(days=1)).isoformat()): [],
            Filters(limit=2): [b1, a2], Filters(project="night", camera="A", reel="A001", volume=str(d2)): [a1],
        }
        for f, want in cases.items():
            assert [o["id"] for o in history.offloads(db, f)] == want, f
        assert history.where_clause(Filters()) == ("", [])
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            history.offloads(db, Filters(until="14/10/2023"))

        one = everything[-1]
        assert (one["project"], one["camera"], one["reel"], one["files_total"], one["bytes_total"]) == (
            "Night Shoot", "A", "A001", 1, 100)
        dests = history.destinations(db, a1)
        assert [(d["path"], d["state"]) for d in dests] == [(str(d1 / "A001R2EC"), "verified"),
                                                            (str(d2 / "A001R2EC"), "verified")]
        assert all(d["volume"] for d in dests) and len({d["disk"] for d in dests}) == 1  # one physical disk
        assert one["destinations"] == dests and history.destinations(db, a1 + 1000) == []
    finally:
        db.close()


def test_an_offload_a_card_and_finding_a_card(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]],
                                              dw: RunCli, catalog_location: str) -> None:
    dests = dest_dirs(2)
    card = make_card({"CLIPS/A001C001.mov": 1000}, name="A001R2EC")
    first = _offload(dw, card, dests, catalog_location, "--reel", "A001", "--project", "NS")
    write_file(card / "CLIPS/A001C002.mov", 500, seed=9)  # shot more on the same card, then offloaded again
    grown = _offload(dw, card, dests, catalog_location, "--reel", "A001", "--project", "NS")
    other = _offload(dw, make_card({"B001C001.mov": 10}, name="B001R1AB"), dests, catalog_location)
    db = open_location(catalog_location)
    try:
        o = history.offload(db, grown)
        assert o is not None and (o["id"], o["reel"], o["project"], o["state"]) == (grown, "A001", "NS", "verified")
        assert (o["files_total"], o["bytes_total"]) == (2, 1500)
        assert [d["path"] for d in o["destinations"]] == [str(d / "A001R2EC") for d in dests]
        assert history.offload(db, other + 1000) is None

        card_id = o["card_id"]
        c = history.card(db, card_id)
        assert c is not None and (c["id"], c["reel"], c["file_count"], c["total_bytes"]) == (card_id, "A001", 2, 1500)
        assert [x["id"] for x in c["offloads"]] == [first, grown]  # the card it grew from, oldest first
        assert history.card(db, card_id + 1000) is None

        fingerprint = c["fingerprint"]
        other_card = history.offload(db, other)
        assert other_card is not None
        assert history.find_card(db, f"card:{card_id}") == card_id and history.find_card(db, str(card_id)) == card_id
        assert history.find_card(db, fingerprint[:8].upper()) == card_id
        assert history.find_card(db, "A001") == card_id  # the reel's latest card
        assert history.find_card(db, "B001") == other_card["card_id"]
        assert history.find_card(db, "Z999") is None and history.find_card(db, "card:99999") is None
    finally:
        db.close()
