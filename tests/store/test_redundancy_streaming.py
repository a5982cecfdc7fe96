"""card_redundancy on synthetic catalogs: its memory does not grow with the card's file count (issue 14: a
1,000,000-file offload must peak under 400 MB), and its answers for the 3-2-1 rule are the same whether the
files share their drives (one judgement) or not (judged per set of copies, in a second pass)."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datawrangler.core.protection import Rule
from datawrangler.core.words import plural
from datawrangler.store.catalog import Catalog
from datawrangler.store.db import open_catalog
from datawrangler.store.location import open_location
from datawrangler.store.redundancy import card_redundancy, iter_files, per_file

NETFLIX = Rule.parse("3-2-1")
LOT_B, LAB = "Stage 4, Lot B", "Lab, Burbank"  # commas: the sites travel through one SQL text per file

# which destinations (1: shuttle A, 2: RAID B, 3: LTO C at the lab, 4: shuttle D) hold a copy of file i,
# and in what state
Layout = Callable[[int], dict[int, str]]


def _build(db: Catalog, n: int, layout: Layout) -> Catalog:
    """A card of n files offloaded twice: offload 1 at LOT_B to destinations 1, 2 and 4, offload 2 (earlier)
    at LAB to destination 3. Each offload lists the files it holds a copy of. One SQL text for both backends."""
    with db.atomic():
        db.run("INSERT INTO volumes (id, key, disk, kind, media_kind) VALUES"
               " (1, 'uuid:a', 'id:A', 'destination', 'shuttle'), (2, 'uuid:b', 'id:B', 'destination', 'raid'),"
               " (3, 'uuid:c', 'id:C', 'destination', 'lto'), (4, 'uuid:d', 'id:D', 'destination', 'shuttle'),"
               " (5, 'uuid:card', 'id:card', 'card', NULL)")
        db.run("INSERT INTO cards (id, fingerprint, reel, lineage, file_count, volume_id)"
               " VALUES (1, 'f1', 'A001', 1, :n, 5)", {"n": n})
        db.run_many("INSERT INTO offloads (id, uuid, card_id, reel, source, plan, state, started_at,"
                    " files_total, site) VALUES (:id, :uuid, 1, 'A001', '/media/A001', '{}', 'verified', :at, :n,"
                    " :site)", [{"id": 1, "uuid": "u1", "at": 200.0, "n": n, "site": LOT_B},
                                {"id": 2, "uuid": "u2", "at": 100.0, "n": n, "site": LAB}])
        db.run_many("INSERT INTO destinations (id, offload_id, idx, path, volume_id, state)"
                    " VALUES (:id, :offload, :idx, :path, :volume, 'verified')",
                    [{"id": i, "offload": o, "idx": x, "path": p, "volume": v}
                     for i, o, x, p, v in ((1, 1, 0, "/a", 1), (2, 1, 1, "/b", 2), (4, 1, 2, "/d", 4),
                                           (3, 2, 0, "/c", 3))])
        files: list[dict[str, int | str]] = []
        copies: list[dict[str, int | str]] = []
        for i in range(n):
            held = layout(i)
            for offload, dests in ((1, (1, 2, 4)), (2, (3,))):
                if offload == 1 or 3 in held:
                    fid = len(files) + 1
                    files.append({"id": fid, "offload": offload, "path": f"A001C{i // 500:03d}/A001.{i:07d}.ari",
                                  "size": 1000 + i, "mtime": 1_700_000_000 + i})
                    copies += [{"file": fid, "dest": d, "state": held[d]} for d in dests if d in held]
        db.run_many("INSERT INTO files (id, offload_id, rel_path, size, mtime_ns, status)"
                    " VALUES (:id, :offload, :path, :size, :mtime, 'verified')", files)
        db.run_many("INSERT INTO copies (file_id, destination_id, state) VALUES (:file, :dest, :state)", copies)
    return db


def _file(path: Path) -> Catalog:
    """A catalog file: the memory and speed tests measure this process, which on SQLite runs the query too."""
    return open_catalog(path)


NewCatalog = Callable[[], Catalog]


@pytest.fixture
def new_catalog(catalog_location: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NewCatalog]:
    """``new_catalog()``: a new empty catalog on the test's backend (the first at `catalog_location`), each
    one opened; all closed at the end."""
    opened: list[Catalog] = []

    def make() -> Catalog:
        if not opened:
            where = catalog_location
        elif catalog_location.startswith("postgresql"):
            cluster = request.getfixturevalue("pg_cluster")
            where = cluster.url(cluster.catalog_database())
        else:
            where = str(tmp_path / f"catalog{len(opened)}.sqlite")
        opened.append(open_location(where))
        return opened[-1]

    yield make
    for db in opened:
        db.close()


def _path(i: int) -> str:
    return f"A001C{i // 500:03d}/A001.{i:07d}.ari"


def _peak(db: Catalog, rule: int | Rule) -> int:
    tracemalloc.start()
    try:
        card_redundancy(db, 1, rule)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_files_of_the_card(tmp_path: Path) -> None:
    # every file short (one copy, and a failed one): every reason's count runs over every file
    layout: Layout = lambda i: {1: "verified", 2: "failed"}  # noqa: E731
    small, big = _build(_file(tmp_path / "small.sqlite"), 2_000, layout), _build(_file(tmp_path / "big.sqlite"),
                                                                                 20_000, layout)
    red = card_redundancy(big, 1, 2)
    assert (red.files_total, red.files_ok, red.min_disks, red.safe) == (20_000, 0, 1, False)
    assert [f.rel_path for f in red.short] == [_path(i) for i in range(20)]
    assert red.reasons == [f"{plural(20_000, 'file')} have a copy that failed (at the offload or a later re-verify: "
                           f"missing, changed, unreadable), e.g. {_path(0)}. Resume or repeat the offload."]
    small_peak, big_peak = _peak(small, 2), _peak(big, 2)
    # a list of 20,000 FileRedundancy alone is over 3 MB; the fold holds 20 of them
    assert big_peak < 1_000_000 and big_peak < small_peak + 200_000, (small_peak, big_peak)
    assert len(per_file(big, 1)) == 20_000  # the list is still there for those who want every file


def test_memory_of_a_rule_that_judges_each_file_does_not_grow(tmp_path: Path) -> None:
    # 3-2-1 with files on different drives: the second pass, judged per distinct set of copies
    layout: Layout = lambda i: {1: "verified", 2: "verified", **({} if i % 2 else {3: "verified"})}  # noqa: E731
    small, big = _build(_file(tmp_path / "small.sqlite"), 2_000, layout), _build(_file(tmp_path / "big.sqlite"),
                                                                                 20_000, layout)
    assert card_redundancy(big, 1, NETFLIX).files_ok == 10_000
    small_peak, big_peak = _peak(small, NETFLIX), _peak(big, NETFLIX)
    assert big_peak < 1_000_000 and big_peak < small_peak + 200_000, (small_peak, big_peak)


def test_3_2_1_on_files_that_differ_in_drives(new_catalog: NewCatalog) -> None:
    # i % 3 == 0: A, B and the lab's C: meets 3-2-1; == 1: A, B, D at one site: enough drives, not the rule;
    # == 2: A only: short
    layout: Layout = lambda i: [{1: "verified", 2: "verified", 3: "verified"},  # noqa: E731
                                {1: "verified", 2: "verified", 4: "verified"}, {1: "verified"}][i % 3]
    db = _build(new_catalog(), 60, layout)
    red = card_redundancy(db, 1, NETFLIX)
    assert (red.files_total, red.files_ok, red.min_disks, red.safe) == (60, 20, 1, False)
    # the files below the drive count first, then those with the drives but not the rule
    assert [f.rel_path for f in red.short] == [_path(i) for i in range(2, 60, 3)]
    assert red.sentence == "1 copy, 1 media kind, 1 site: needs 2 more copies on another media kind at another site"
    assert red.reasons == [
        "20 files have fewer than 3 verified copies on distinct drives.",
        "40 files do not meet the rule 3-2-1 (3 verified copies on distinct drives, on at least 2 kinds of media, "
        f"at least one in another place); the weakest: {red.sentence}. If the copies exist, say what each drive is "
        "('datawrangler drive kind PATH KIND'; a drive of no recorded kind never counts as another kind) and set "
        "each station's site in its settings (a copy made at no recorded site never counts as another place); else "
        "copy the card to what is missing."]
    no_short = _build(new_catalog(), 60, lambda i: layout(i) if i % 3 < 2 else layout(0))
    red = card_redundancy(no_short, 1, NETFLIX)
    assert (red.files_ok, red.min_disks) == (40, 3)
    assert [f.rel_path for f in red.short] == [_path(i) for i in range(1, 60, 3)]
    assert red.sentence == "3 copies, 2 media kinds, 1 site: needs a copy at another site"
    met = card_redundancy(no_short, 1, 3)  # three drives each: the plain rule is met
    assert met.safe and met.files_ok == 60 and met.reasons == []


def test_3_2_1_when_every_file_shares_the_drives(new_catalog: NewCatalog) -> None:
    # every file on A, B and D at one site: one judgement for all, and all of them miss the rule
    db = _build(new_catalog(), 50, lambda i: {1: "verified", 2: "verified", 4: "verified"})
    red = card_redundancy(db, 1, NETFLIX)
    assert (red.files_total, red.files_ok, red.min_disks, red.safe) == (50, 0, 3, False)
    assert [f.rel_path for f in red.short] == [_path(i) for i in range(20)]
    assert red.sentence == "3 copies, 2 media kinds, 1 site: needs a copy at another site"
    assert len(red.reasons) == 1 and red.reasons[0].startswith("50 files do not meet the rule 3-2-1")
    whole = _build(new_catalog(), 50, lambda i: {1: "verified", 2: "verified", 3: "verified"})
    red = card_redundancy(whole, 1, NETFLIX)
    assert red.safe and red.files_ok == 50 and red.reasons == []
    assert red.sentence == "3 copies, 3 media kinds, 2 sites: meets the rule 3-2-1"


def test_reasons_count_each_file_once_and_name_the_first(new_catalog: NewCatalog) -> None:
    # i % 4 == 0: a second copy with sizes checked only; == 1: a second copy that failed; == 2: one copy only;
    # == 3: two verified copies
    layout: Layout = lambda i: [{1: "verified", 2: "copied"}, {1: "verified", 2: "failed"},  # noqa: E731
                                {1: "verified"}, {1: "verified", 2: "verified"}][i % 4]
    db = _build(new_catalog(), 40, layout)
    red = card_redundancy(db, 1, 2)
    assert (red.files_total, red.files_ok, red.min_disks) == (40, 10, 1)
    assert red.reasons == [
        f"10 files have a copy that failed (at the offload or a later re-verify: missing, changed, unreadable), e.g. "
        f"{_path(1)}. Resume or repeat the offload.",
        "10 files were copied with sizes checked only (verify mode 'size'): not verified.",
        "10 files have fewer than 2 verified copies on distinct drives."]
    assert [f.rel_path for f in red.short] == [_path(i) for i in range(40) if i % 4 != 3][:20]
    # a listing scanned from the card now: a file the catalog never saw is named first
    listing = [(_path(i), 1000 + i, 1_700_000_000 + i) for i in range(40) if i % 4 == 3] + [("A001C999/new.ari", 1, 1)]
    red = card_redundancy(db, 1, 2, iter(listing))
    assert (red.files_total, red.files_ok) == (11, 10)
    assert red.reasons == ["1 file on the card was never offloaded (added after the last offload?), e.g. "
                           "A001C999/new.ari. Offload the card again (--incremental)."]
    assert [f.disks for f in iter_files(db, 1)][:4] == [1, 1, 1, 2]


def test_speed_is_one_pass(tmp_path: Path) -> None:
    """The plain rule reads the catalog once: a 3-2-1 card whose files share their drives costs about the
    same (no second pass)."""
    db = _build(_file(tmp_path / "c.sqlite"), 20_000, lambda i: {1: "verified", 2: "verified", 3: "verified"})
    times = {}
    for rule in (3, NETFLIX) * 3:
        t = time.perf_counter()
        assert card_redundancy(db, 1, rule).safe
        times[str(rule)] = min(times.get(str(rule), 1e9), time.perf_counter() - t)
    assert times[str(NETFLIX)] < 1.5 * times["3"] + 0.05, times
