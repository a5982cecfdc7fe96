"""store.reads_browse on a catalog written by real offloads (the CLI's), once on an SQLite file and once on a
PostgreSQL server (`catalog_location`): History a page at a time with its filters, an offload's files a page
at a time with their copy counts, a copy's verification history after a re-verify, and one query per page
however many offloads there are."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from datawrangler.cli import main
from datawrangler.store import reads_browse, reverify
from datawrangler.store.catalog import Catalog
from datawrangler.store.db import FileCatalog
from datawrangler.store.history import Filters
from datawrangler.store.location import open_location
from datawrangler.store.server_catalog import ServerCatalog
from tests.conftest import CardBuilder


@contextlib.contextmanager
def statements(db: Catalog) -> Iterator[list[str]]:
    """Every statement the handle sends to its backend while the block runs: SQLite's trace callback on the
    file, SQLAlchemy's before_cursor_execute event on the server handle's connection (it hears the statements
    run through text() and the driver-level ones, BEGIN and COMMIT, alike)."""
    seen: list[str] = []
    if isinstance(db, FileCatalog):
        db.conn.set_trace_callback(seen.append)
        try:
            yield seen
        finally:
            db.conn.set_trace_callback(None)
        return
    assert isinstance(db, ServerCatalog)
    from sqlalchemy import event

    def heard(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    conn = db._conn  # the handle's one connection: the event on it hears nothing of other handles
    event.listen(conn, "before_cursor_execute", heard)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", heard)


def _offloads(make_card: CardBuilder, dests: list[Path], location: str) -> None:
    for reel, project in (("A001", "NS"), ("A002", "NS"), ("B001", "Other")):
        card = make_card({f"{reel}C001.mov": 1000, f"{reel}C002.mov": 2000, "SUB/x.txt": 10}, name=reel)
        assert main(["offload", str(card), *map(str, dests), "-q", "--reel", reel, "--project", project,
                     "--catalog", location]) == 0


def test_history_pages_newest_first_with_filters(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]],
                                                 catalog_location: str) -> None:
    dests = dest_dirs(2)
    _offloads(make_card, dests, catalog_location)
    db = open_location(catalog_location)
    try:
        everything = reads_browse.history_page(db, Filters())
        assert [r.reel for r in everything] == ["B001", "A002", "A001"]
        first = everything[-1]
        assert (first.project, first.state, first.files_total, first.files_verified, first.files_failed,
                first.bytes_total, first.stage, first.cascade_of, first.released) == \
            ("NS", "verified", 3, 3, 0, 3010, 1, None, False)
        named = [r[0] for r in db.run(  # a volume's label where it has one, else the roll's path
            "SELECT COALESCE(v.label, d.path) FROM destinations d LEFT JOIN volumes v ON v.id = d.volume_id"
            " WHERE d.offload_id = :oid ORDER BY d.idx", {"oid": first.id})]
        assert len(named) == 2
        assert first.destinations == f"{named[0]}: verified; {named[1]}: verified"
        assert first.card_id is not None and first.ended_at is not None and first.ended_at >= first.started_at
        assert [r.reel for r in reads_browse.history_page(db, Filters(), offset=1, limit=1)] == ["A002"]
        assert reads_browse.history_page(db, Filters(), offset=3) == []
        assert [r.reel for r in reads_browse.history_page(db, Filters(project="NS"))] == ["A002", "A001"]
        assert [r.reel for r in reads_browse.history_page(db, Filters(project="ns"))] == ["A002", "A001"]
        assert [r.reel for r in reads_browse.history_page(db, Filters(text="Other"))] == ["B001"]
        assert [r.reel for r in reads_browse.history_page(db, Filters(reel="a00"))] == ["A002", "A001"]
        assert reads_browse.history_page(db, Filters(state="interrupted")) == []
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            reads_browse.history_page(db, Filters(since="yesterday"))
    finally:
        db.close()


def test_one_query_per_history_page(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]],
                                    catalog_location: str) -> None:
    _offloads(make_card, dest_dirs(2), catalog_location)
    db = open_location(catalog_location)
    try:
        with statements(db) as seen:
            rows = reads_browse.history_page(db, Filters())
    finally:
        db.close()
    assert len(rows) == 3 and len(seen) == 1, seen


def test_files_page_and_a_copys_checks(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]],
                                       catalog_location: str) -> None:
    dests = dest_dirs(2)
    _offloads(make_card, dests, catalog_location)
    db = open_location(catalog_location)
    try:
        oid = reads_browse.history_page(db, Filters(reel="A001"))[0].id
        files = reads_browse.files_page(db, oid)
        assert [(f.rel_path, f.size, f.status, f.verified, f.copies) for f in files] == [
            ("A001C001.mov", 1000, "verified", 2, 2), ("A001C002.mov", 2000, "verified", 2, 2),
            ("SUB/x.txt", 10, "verified", 2, 2)]
        assert [f.rel_path for f in reads_browse.files_page(db, oid, offset=1, limit=1)] == ["A001C002.mov"]
        assert reads_browse.files_page(db, oid + 1000) == []

        checks = reads_browse.copy_checks(db, files[0].id)
        assert [(c.method, c.result) for c in checks] == [("offload-readback", "verified")] * 2
        assert [c.destination for c in checks] == [str(d / "A001") for d in dests]
        report = reverify.reverify(db, str(dests[1] / "A001"))
        assert report.verified == 3
        again = reads_browse.copy_checks(db, files[0].id)
        assert len(again) == 3 and again[:2] == checks  # by destination, then time: the re-verify is drive 2's
        assert again[2].destination == str(dests[1] / "A001") and again[2].result == "verified"
        assert again[2].method == "reverify" and again[2].at >= checks[1].at
        assert reads_browse.copy_checks(db, files[0].id + 1000) == []
    finally:
        db.close()
