"""store.changes.last_change, once on an SQLite file and once on a PostgreSQL server (`catalog_location`):
what a window polls to learn that another station recorded something. Every offload's start and end, an
offload marked interrupted and its resume move it on; a read that records nothing leaves it; and a handle
opened before another process wrote sees the change (a window keeps no stale view)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from datawrangler.cli import main
from datawrangler.store.catalog import Catalog
from datawrangler.store.changes import last_change
from datawrangler.store.liveness import mark_interrupted
from datawrangler.store.location import open_location
from tests.conftest import CardBuilder
from tests.store.test_holders_backends import Running


def _newest(db: Catalog) -> tuple[int, str]:
    """The newest event's id and kind, as the events table holds them."""
    row = db.row("SELECT id, kind FROM events ORDER BY id DESC LIMIT 1")
    assert row is not None
    return int(row[0]), str(row[1])


def test_last_change_moves_with_every_recorded_event(make_card: CardBuilder,
                                                     dest_dirs: Callable[[int], list[Path]],
                                                     catalog_location: str) -> None:
    d1, d2 = dest_dirs(2)
    new = open_location(catalog_location)  # made and closed first: the next test shows why on SQLite
    try:
        assert last_change(new) == 0  # a new catalog: nothing recorded
    finally:
        new.close()
    watching = open_location(catalog_location)  # a window's handle, open while others write
    try:
        card = make_card({"A001C001_231014_R2EC.mov": 3000, "SDINFO.TXT": 120}, name="A001R2EC")
        assert main(["offload", str(card), str(d1), "-q", "--no-clips", "--catalog", catalog_location]) == 0
        first = last_change(watching)
        assert first > 0 and (first, "finished") == _newest(watching)

        assert main(["history", "--catalog", catalog_location]) == 0  # a read records nothing
        assert last_change(watching) == first

        card2 = make_card({"B001C001_231014_R3EC.mov": 700}, name="B001R3EC")
        assert main(["offload", str(card2), str(d2), "-q", "--no-clips", "--catalog", catalog_location]) == 0
        second = last_change(watching)
        assert second > first and (second, "finished") == _newest(watching)

        run = Running(catalog_location, make_card(name="C001R4EC"), [d1])  # another process begins one
        try:
            began = last_change(watching)
            assert began > second and (began, "started") == _newest(watching)
        finally:
            run.end()  # and is killed before it copied anything
        assert mark_interrupted(watching) == [run.offload_id]
        marked = last_change(watching)
        assert marked > began and (marked, "interrupted") == _newest(watching)
        assert mark_interrupted(watching) == [] and last_change(watching) == marked

        assert main(["resume", str(run.offload_id), "-q", "--catalog", catalog_location]) == 0
        resumed = last_change(watching)
        assert resumed > marked and _newest(watching) == (resumed, "finished")
        kinds = [r[0] for r in watching.run("SELECT kind FROM events WHERE offload_id = ? AND id > ? ORDER BY id",
                                            (run.offload_id, marked))]
        assert kinds == ["resumed", "finished"]  # resumed, then ended
    finally:
        watching.close()


def test_a_handle_opened_on_a_new_catalog_keeps_its_writes_seen_by_others(
        make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]],
        catalog_location: str) -> None:
    """A window that made the catalog (its first start) stays open while an offload runs in its own process and
    another process begins one and is killed: what the window then records (the killed offload marked
    interrupted) is what every other handle and process sees, and last_change says so everywhere. On the file
    this lost the window's commits until store.db stopped inspecting a catalog its own process made (closing
    the inspection's descriptor dropped the process's SQLite locks: the other process removed the log)."""
    d1, d2 = dest_dirs(2)
    window = open_location(catalog_location)  # made by this handle: the catalog did not exist before
    try:
        card = make_card({"A001C001_231014_R2EC.mov": 3000}, name="A001R2EC")
        assert main(["offload", str(card), str(d1), "-q", "--no-clips", "--catalog", catalog_location]) == 0
        run = Running(catalog_location, make_card(name="C001R4EC"), [d2])
        run.end()
        assert mark_interrupted(window) == [run.offload_id]
        newest = last_change(window)
        assert _newest(window) == (newest, "interrupted")
        seen = subprocess.run(
            [sys.executable, "-c", "import sys\nfrom datawrangler.store.changes import last_change\n"
             "from datawrangler.store.location import open_location\ndb = open_location(sys.argv[1])\n"
             "print(last_change(db), db.value('SELECT state FROM offloads WHERE id = ?', (int(sys.argv[2]),)))",
             catalog_location, str(run.offload_id)],
            cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120)
        assert seen.stdout.split() == [str(newest), "interrupted"], seen.stderr[-2000:]
        again = open_location(catalog_location)  # another handle of this process
        try:
            assert last_change(again) == newest
        finally:
            again.close()
    finally:
        window.close()
