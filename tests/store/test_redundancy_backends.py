"""Safe to format and the cascade's catalog rows on both backends (the SQLite file and a PostgreSQL server),
from real rows written through the Catalog handle: every function of store.redundancy, redundancy_files,
rule_judge and cascade gives the same answer on either.

The first test is the server's reason to exist: two stations offload one card (one fingerprint) into one
catalog, each to its own drive, and the card counts both drives, whoever made the copies."""

from __future__ import annotations

import json
from dataclasses import dataclass

from datawrangler.core.plan import OffloadPlan
from datawrangler.core.protection import Rule
from datawrangler.store import cascade
from datawrangler.store.catalog import Catalog
from datawrangler.store.redundancy import card_disks, card_redundancy, disks_of_card, per_file, unreadable_entries

MTIME = 1_700_000_000_000_000_000  # beyond 32 bits, as every real mtime_ns is


@dataclass
class Rows:
    """Catalog rows written as the recorder writes them (ids from RETURNING, never given)."""

    db: Catalog

    def volume(self, disk: str, kind: str = "destination", label: str | None = None, media: str | None = None,
               mount: str | None = None) -> int:
        return self.db.new_id(
            "INSERT INTO volumes (key, disk, kind, label, media_kind, last_mount_point) VALUES (:key, :disk,"
            " :kind, :label, :media, :mount) RETURNING id",
            {"key": f"uuid:{disk}", "disk": disk, "kind": kind, "label": label, "media": media, "mount": mount})

    def card(self, fingerprint: str, reel: str, volume: int | None = None) -> int:
        card = self.db.new_id("INSERT INTO cards (fingerprint, reel, volume_id) VALUES (:f, :reel, :vol) RETURNING id",
                              {"f": fingerprint, "reel": reel, "vol": volume})
        self.db.run("UPDATE cards SET lineage = id WHERE id = :id", {"id": card})
        return card

    def offload(self, card: int, source: str, at: float, station: str, site: str | None = None,
                stage: int | None = None) -> int:
        return self.db.new_id(
            "INSERT INTO offloads (uuid, card_id, reel, source, plan, started_at, state, station, site, stage)"
            " VALUES (:uuid, :card, 'A001', :source, :plan, :at, 'verified', :station, :site, :stage) RETURNING id",
            {"uuid": f"{station}-{at}", "card": card, "source": source, "at": at, "station": station, "site": site,
             "stage": stage, "plan": json.dumps({"source": source, "destinations": []})})

    def destination(self, offload: int, idx: int, path: str, volume: int) -> int:
        return self.db.new_id("INSERT INTO destinations (offload_id, idx, path, volume_id, state) VALUES (:o, :i,"
                              " :p, :v, 'verified') RETURNING id", {"o": offload, "i": idx, "p": path, "v": volume})

    def file(self, offload: int, rel_path: str, size: int, digest: str | None = None) -> int:
        return self.db.new_id(
            "INSERT INTO files (offload_id, rel_path, size, mtime_ns, digests, status) VALUES (:o, :r, :s, :m, :d,"
            " 'verified') RETURNING id", {"o": offload, "r": rel_path, "s": size, "m": MTIME + size,
                                          "d": json.dumps({"xxh64": digest}) if digest else None})

    def copy(self, file: int, destination: int, state: str = "verified") -> int:
        return self.db.new_id("INSERT INTO copies (file_id, destination_id, state) VALUES (:f, :d, :s) RETURNING id",
                              {"f": file, "d": destination, "s": state})

    def skipped(self, offload: int, path: str) -> None:
        self.db.run("INSERT INTO events (at, offload_id, kind, code, message, data) VALUES (1.0, :o, 'skipped',"
                    " 'unreadable', 'Permission denied', :data)", {"o": offload, "data": json.dumps({"path": path})})


FILES = (("A001C001.mov", 1000), ("A001C002.mov", 2000), ("A001C003.mov", 3000))


def test_copies_made_by_two_stations_of_one_card_count_as_two_drives(catalog_db: Catalog) -> None:
    rows = Rows(catalog_db)
    with catalog_db.atomic():
        card = rows.card("fp-A001", "A001", rows.volume("disk:card", "card", mount="/Volumes/A001"))
        shuttle = rows.volume("disk:A", label="SHUTTLE_A", media="shuttle")
        raid = rows.volume("disk:B", label="RAID_B", media="raid")
        first = rows.offload(card, "/Volumes/A001/DCIM", 100.0, "cart-a", "Stage 4")
        dest = rows.destination(first, 0, "/mnt/shuttle/A001", shuttle)
        for rel, size in FILES:
            rows.copy(rows.file(first, rel, size), dest)
    alone = card_redundancy(catalog_db, card, 2)
    assert (alone.safe, alone.min_disks, alone.files_total, alone.files_ok) == (False, 1, 3, 0)
    assert alone.reasons == ["3 files have fewer than 2 verified copies on distinct drives."]

    with catalog_db.atomic():  # the card goes to another station (another host), which copies it to its RAID
        second = rows.offload(card, "/media/A001/DCIM", 200.0, "cart-b", "Lab")
        dest = rows.destination(second, 0, "/mnt/raid/A001", raid)
        for rel, size in FILES:
            rows.copy(rows.file(second, rel, size), dest)
    both = card_redundancy(catalog_db, card, 2)
    assert (both.safe, both.min_disks, both.files_total, both.files_ok, both.reasons) == (True, 2, 3, 3, [])
    assert both.card_disks == []  # both read a folder of the card: its drive is not known to be erased
    assert [(d["disk"], d["labels"], d["paths"], d["files_verified"], d["stations"], d["sites"], d["media_kind"])
            for d in both.disks] == [
        ("disk:A", "SHUTTLE_A", ["/mnt/shuttle/A001"], 3, ["cart-a"], ["Stage 4"], "shuttle"),
        ("disk:B", "RAID_B", ["/mnt/raid/A001"], 3, ["cart-b"], ["Lab"], "raid")]
    assert [(f.rel_path, f.disks, f.verified) for f in per_file(catalog_db, card)] == [
        ("A001C001.mov", 2, 2), ("A001C002.mov", 2, 2), ("A001C003.mov", 2, 2)]
    # two kinds of media at two sites: a rule that counts them is met by the same two drives
    assert card_redundancy(catalog_db, card, Rule(2, 2, 2)).safe
    three = card_redundancy(catalog_db, card, 3)
    assert not three.safe and three.reasons == ["3 files have fewer than 3 verified copies on distinct drives."]


def test_reasons_the_card_s_own_drive_and_unreadable_entries(catalog_db: Catalog) -> None:
    rows = Rows(catalog_db)
    with catalog_db.atomic():
        card_volume = rows.volume("disk:card", "card", label="A001", mount="/media/A001")
        card = rows.card("fp-A001", "A001", card_volume)
        a, b = rows.volume("disk:A", label="A"), rows.volume("disk:B", label="B")
        offload = rows.offload(card, "/media/A001", 100.0, "cart-a")  # the whole card: its drive is erased
        on_card = rows.destination(offload, 0, "/media/A001/backup", card_volume)
        one, two = rows.destination(offload, 1, "/mnt/a/one", a), rows.destination(offload, 2, "/mnt/a/two", a)
        other = rows.destination(offload, 3, "/mnt/b", b)
        layout = {"C001.mov": [(one, "verified"), (other, "verified")],
                  "C002.mov": [(on_card, "verified"), (one, "verified")],
                  "C003.mov": [(one, "verified"), (two, "verified")],
                  "C004.mov": [(one, "verified"), (other, "copied")],
                  "C005.mov": [(one, "verified"), (other, "failed")]}
        for n, (rel, copies) in enumerate(layout.items()):
            fid = rows.file(offload, rel, 100 + n)
            for dest, state in copies:
                rows.copy(fid, dest, state)
        rows.skipped(offload, "C006.mov")
        rows.skipped(offload, "C001.mov")  # unreadable once, read since: not an entry without a copy
    assert card_disks(catalog_db, card) == ["disk:card"]
    assert unreadable_entries(catalog_db, card) == ["C006.mov"]
    red = card_redundancy(catalog_db, card, 2)
    assert (red.safe, red.files_total, red.files_ok, red.min_disks) == (False, 5, 1, 1)
    assert [f.rel_path for f in red.short] == ["C002.mov", "C003.mov", "C004.mov", "C005.mov"]
    assert red.reasons == [
        "1 entry of the card could not be read at its last offload, so it has no copy, e.g. C006.mov. Fix the "
        "card's permissions or reader, then offload it again.",
        "1 file has a copy that failed (at the offload or a later re-verify: missing, changed, unreadable), e.g. "
        "C005.mov. Resume or repeat the offload.",
        "1 file has a copy on the card's own drive, which formatting the card erases, so that copy does not "
        "count, e.g. C002.mov. Copy it to another drive.",
        "1 file was copied with sizes checked only (verify mode 'size'): not verified.",
        "1 file has copies in several folders of one drive, which count as one copy, e.g. C003.mov. Copy to "
        "another drive."]
    assert [(f.rel_path, f.disks, f.verified, f.failed, f.unverified, f.on_card_disk, f.known)
            for f in per_file(catalog_db, card)] == [
        ("C001.mov", 2, 2, 0, 0, 0, True), ("C002.mov", 1, 2, 0, 0, 1, True), ("C003.mov", 1, 2, 0, 0, 0, True),
        ("C004.mov", 1, 1, 0, 1, 0, True), ("C005.mov", 1, 1, 1, 0, 0, True)]
    disks = {d["disk"]: (sorted(d["paths"]), d["files_verified"], d["card_disk"])
             for d in disks_of_card(catalog_db, card)}
    assert disks == {"disk:A": (["/mnt/a/one", "/mnt/a/two"], 5, False), "disk:B": (["/mnt/b"], 1, False),
                     "disk:card": (["/media/A001/backup"], 1, True)}
    # the card as scanned now: a file the catalog never saw, in the order scanned
    now = card_redundancy(catalog_db, card, 2, iter([("C001.mov", 100, MTIME + 100), ("C009.mov", 7, 7)]))
    assert (now.files_total, now.files_ok, [f.rel_path for f in now.short]) == (2, 1, ["C009.mov"])
    assert now.reasons == ["1 file on the card was never offloaded (added after the last offload?), e.g. C009.mov. "
                           "Offload the card again (--incremental)."]


def test_a_stage_2_copy_queued_run_and_finding_a_stage_1_copy_changed(catalog_db: Catalog) -> None:
    rows = Rows(catalog_db)
    with catalog_db.atomic():
        card = rows.card("fp-A001", "A001")
        a, b = rows.volume("disk:A", label="SHUTTLE_A"), rows.volume("disk:B")
        stage1 = rows.offload(card, "/media/A001", 100.0, "cart-a", "Stage 4")
        d_a, d_b = rows.destination(stage1, 0, "/mnt/a/A001", a), rows.destination(stage1, 1, "/mnt/b/A001", b)
        for n, (rel, size) in enumerate(FILES):
            fid = rows.file(stage1, rel, size, digest=f"card{n}")
            rows.copy(fid, d_a)
            rows.copy(fid, d_b, "verified" if n else "failed")
        later = rows.offload(card, "/media/A001", 300.0, "cart-b")  # a later read of the card, copied nowhere:
        for rel, size in FILES:  # its digests are not the ones a stage-2 copy is checked against
            rows.file(later, rel, size, digest="later")
    copies = cascade.stage1_copies(catalog_db, stage1)
    assert [(c.destination_id, c.path, c.verified) for c in copies] == [(d_a, "/mnt/a/A001", 3),
                                                                         (d_b, "/mnt/b/A001", 2)]

    cascade.set_stage2(catalog_db, stage1, (("/mnt/c", "/mnt/c/A001"),), copies_required=3, handoff={"mhl": True},
                       rule="3-2-1")
    assert cascade.stage2_targets(catalog_db, stage1) == (("/mnt/c", "/mnt/c/A001"),)
    assert cascade.stage2_rolls(catalog_db, stage1) == ("/mnt/c/A001",)
    assert cascade.stage2_asked(catalog_db, stage1) == cascade.Stage2Asked(3, {"mhl": True}, "3-2-1")

    plan = OffloadPlan(source="/mnt/a/A001", destinations=("/mnt/c/A001",))
    oid = cascade.queue(catalog_db, stage1, copies[0], plan, released=150.0)
    job = cascade.job(catalog_db, oid)
    assert job is not None
    assert (job.cascade_of, job.card_id, job.source, job.destinations, job.state, job.made_from,
            job.made_from_label, job.files, job.bytes) == (
        stage1, card, "/mnt/a/A001", ("/mnt/c/A001",), cascade.QUEUED, d_a, "SHUTTLE_A", 3, 6000)
    assert cascade.pending(catalog_db) == [job] and cascade.children(catalog_db, stage1) == [job]
    assert cascade.parent_of(catalog_db, oid) == stage1 and cascade.parent_of(catalog_db, stage1) is None
    assert cascade.job(catalog_db, stage1) is None
    assert cascade.stage2_asked(catalog_db, oid) == cascade.Stage2Asked(3, {"mhl": True}, "3-2-1")
    assert cascade.released_at(catalog_db, stage1) == 150.0
    assert [(f.rel_path, f.size) for f in cascade.scan_of(catalog_db, oid).files] == list(FILES)
    assert cascade.card_digests(catalog_db, oid) == {rel: {"xxh64": f"card{n}"} for n, (rel, _) in enumerate(FILES)}
    kinds = {(r[0], r[1]) for r in catalog_db.run("SELECT offload_id, kind FROM events")}
    assert kinds == {(stage1, "released"), (oid, "queued")}

    # stage 2 reads the shuttle and finds one file changed there: that copy stops counting
    found = cascade.Stage1Finding("A001C002.mov", "changed", "digest_mismatch", "The copy differs from the card.",
                                  {"xxh64": "bad"})
    assert cascade.mark_stage1(catalog_db, stage1, [found]) == 0  # not a stage-2 offload: nothing marked
    assert cascade.mark_stage1(catalog_db, oid, [found]) == 1
    assert catalog_db.value("SELECT COUNT(*) FROM verifications WHERE method = 'stage2-read' AND result = 'changed'"
                            " AND digests = :d", {"d": json.dumps({"xxh64": "bad"})}) == 1
    red = card_redundancy(catalog_db, card, 2)
    assert (red.safe, red.files_ok) == (False, 1)
    assert red.reasons[0] == (
        "1 file has a stage-1 copy that stage 2 found changed, missing or unreadable (it no longer counts), e.g. "
        "A001C002.mov. Copy it again from the card; do not format it.")
    assert red.reasons[1].startswith("1 file has a copy that failed") and "A001C001.mov" in red.reasons[1]


def test_a_drive_holding_two_folders_of_the_card_counts_each_file_once(catalog_db: Catalog) -> None:
    """disks_of_card counts per destination, and by distinct paths only for a drive holding several of the
    lineage's destinations: two folders on one drive (one offload), and the card offloaded again to it."""
    rows = Rows(catalog_db)
    with catalog_db.atomic():
        card = rows.card("fp-A002", "A002")
        shuttle = rows.volume("disk:A", label="SHUTTLE_A")
        raid = rows.volume("disk:B", label="RAID_B")
        first = rows.offload(card, "/Volumes/A002/DCIM", 100.0, "cart-a")
        here, there, raid_dest = (rows.destination(first, 0, "/mnt/a/one", shuttle),
                                  rows.destination(first, 1, "/mnt/a/two", shuttle),
                                  rows.destination(first, 2, "/mnt/raid/A002", raid))
        for rel, size in FILES:
            f = rows.file(first, rel, size)
            rows.copy(f, here)
            rows.copy(f, raid_dest, "verified" if rel != "A001C003.mov" else "failed")
            if rel == "A001C001.mov":
                rows.copy(f, there)
        again = rows.offload(card, "/Volumes/A002/DCIM", 200.0, "cart-a")
        third = rows.destination(again, 0, "/mnt/a/three", shuttle)
        rows.copy(rows.file(again, "A001C002.mov", 2000), third)
        rows.copy(rows.file(again, "A001C004.mov", 4000), third)
    disks = disks_of_card(catalog_db, card)
    assert [(d["disk"], d["labels"], d["paths"], d["files_verified"], d["card_disk"]) for d in disks] == [
        ("disk:A", "SHUTTLE_A", ["/mnt/a/one", "/mnt/a/three", "/mnt/a/two"], 4, False),
        ("disk:B", "RAID_B", ["/mnt/raid/A002"], 2, False)]
