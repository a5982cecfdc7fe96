"""store.reads_reports on a catalog written by a real offload that partly failed (the CLI's): a different
file already sat under one card file's name on drive 1, so that copy failed and was not overwritten. What
the reports read, and the file table streamed from one query however many files there are. Each once on an
SQLite file and once on a PostgreSQL server (`catalog_location`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from datawrangler.cli import main
from datawrangler.store import reads_reports as q
from datawrangler.store.location import open_location
from tests.conftest import CardBuilder, write_file
from tests.store.test_reads_browse import statements

FILES = {"B001C001.mov": 2000, "B001C002.mov": 1500, "SDINFO.TXT": 120}


def _offload(make_card: CardBuilder, dests: list[Path], location: str) -> None:
    card = make_card(FILES, name="B001R1AB")
    write_file(dests[0] / "B001R1AB" / "SDINFO.TXT", 99, seed=4242)  # a different file, already there
    code = main(["offload", str(card), *map(str, dests), "-q", "--project", "NS", "--catalog", location])
    assert code == 1  # completed with errors


def test_what_the_offload_report_reads(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]],
                                       catalog_location: str) -> None:
    dests = dest_dirs(2)
    _offload(make_card, dests, catalog_location)
    db = open_location(catalog_location)
    try:
        oid = q.offloads_between(db, 0, time.time() + 1)[0]["id"]
        o = q.offload(db, oid)
        assert o is not None and o["state"] == "completed with errors" and o["project"] == "NS"
        assert q.offload(db, oid + 1000) is None
        card = q.card(db, o["card_id"])
        assert card is not None and card["file_count"] == 3 and q.card(db, None) is None

        d0, d1 = q.destinations(db, oid)
        assert (d0["idx"], d0["verified"], d0["failed"], d0["changed"]) == (0, 2, 1, 0)
        assert (d1["idx"], d1["verified"], d1["failed"], d1["bypassed"] + d1["not_bypassed"]) == (1, 3, 0, 3)
        vol = q.volume(db, d0["volume_id"])
        assert vol is not None and vol["id"] == d0["volume_id"] and q.volume(db, None) is None
        assert q.destination(db, d1["id"]) == {"id": d1["id"], "offload_id": oid, "idx": 1, "path": d1["path"],
                                               "mount_point": d1["mount_point"], "volume_id": d1["volume_id"]}

        assert q.status_counts(db, oid) == {"verified": 2, "failed": 1}
        assert sorted(q.rel_paths(db, oid)) == sorted(FILES)
        failed = list(q.failed_copies(db, oid))
        assert [(idx, path) for idx, path, _code, _msg in failed] == [(0, "SDINFO.TXT")]
        code = failed[0][2]
        assert code and failed[0][3]
        assert list(q.failed_files_without_copy(db, oid)) == []

        rows = {r[0]: r for r in q.file_rows(db, oid, [d0["id"], d1["id"]])}
        assert rows["SDINFO.TXT"][1] == 120 and rows["SDINFO.TXT"][3] == "failed"
        assert rows["SDINFO.TXT"][6] == (f"failed: {code}", "verified")
        assert rows["B001C001.mov"][6] == ("verified", "verified") and "xxh64" in rows["B001C001.mov"][2]
        assert next(iter(q.file_rows(db, oid, [d1["id"]])))[6] == ("verified",)  # only the destinations asked

        kinds = [e["kind"] for e in q.events(db, oid)]
        assert kinds[0] == "started"
        assert [e["kind"] for e in q.events(db, oid, ("started",))] == ["started"]
        assert q.events(db, oid, ("started",))[0]["data"]["destinations"] == [str(d / "B001R1AB") for d in dests]
        assert q.offloads_between(db, 0, o["started_at"]) == []
    finally:
        db.close()


def test_what_the_day_and_redundancy_reports_read(make_card: CardBuilder,
                                                  dest_dirs: Callable[[int], list[Path]],
                                                  catalog_location: str) -> None:
    dests = dest_dirs(2)
    _offload(make_card, dests, catalog_location)
    db = open_location(catalog_location)
    try:
        o = q.offloads_between(db, 0, time.time() + 1)[0]
        oid, card_id = o["id"], o["card_id"]
        assert q.card_ids(db) == [card_id]
        assert q.latest_offload_of_card(db, card_id) == oid and q.latest_offload_of_card(db, card_id + 9) is None
        assert q.projects(db, [oid]) == {"NS"} and q.projects(db, []) == set()
        (total,) = q.drive_totals(db, [oid])  # both folders are on one physical disk
        assert (total["cards"], total["copies_verified"], total["bytes_verified"], total["copies_failed"]) == \
            (1, 5, 2 * 2000 + 2 * 1500 + 120, 1)
        assert q.drive_totals(db, []) == []
        held = list(q.disk_membership(db, card_id))
        assert sorted((p, s) for p, s, _ in held) == sorted(FILES.items())
        assert {disk for _, _, disk in held} == {total["disk"]}  # SDINFO.TXT verified on drive 2
        info = q.disks(db, [total["disk"]])
        held_by = {d["volume_id"] for d in q.destinations(db, oid)}
        assert held_by and {v["id"] for v in info[total["disk"]]["volumes"]} >= held_by
        sources = list(q.copy_sources(db, card_id))
        assert sources == [(total["disk"], oid, 1, None, None, None)] * 2  # one row per destination
        assert q.stage2_offloads(db, oid) == [] and q.stage2_not_ended(db, [oid]) == []
        assert q.stage2_not_ended(db, []) == []
    finally:
        db.close()


def test_the_file_table_is_one_query_however_many_files(make_card: CardBuilder,
                                                        dest_dirs: Callable[[int], list[Path]],
                                                        catalog_location: str) -> None:
    dests = dest_dirs(2)
    card = make_card({f"C{i:04d}.mov": 10 + i for i in range(300)}, name="A001R2EC")
    assert main(["offload", str(card), *map(str, dests), "-q", "--catalog", catalog_location]) == 0
    db = open_location(catalog_location)
    try:
        oid = q.offloads_between(db, 0, time.time() + 1)[0]["id"]
        ids = [d["id"] for d in q.destinations(db, oid)]
        with statements(db) as seen:
            rows = list(q.file_rows(db, oid, ids))
    finally:
        db.close()
    assert len(rows) == 300 and all(r[6] == ("verified", "verified") for r in rows)
    assert len(seen) == 1, seen
