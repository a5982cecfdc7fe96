"""Where a read of the catalog could answer differently on a PostgreSQL server than on the SQLite file, with the
same rows written by the same CLI offload.

- LIKE (now alike, so plain tests on both backends): PostgreSQL takes a backslash in a pattern as an escape,
  SQLite (without an ESCAPE clause) as itself. History's filters put what was typed into LIKE patterns, so a
  path or name holding a backslash (a Windows path: D:\\Shoot\\A001) was found on the file and not on a
  server, until store.catalog's LIKE gave both one ESCAPE and the typed text was escaped.
- Collation (now alike): the session's test server is a C-locale cluster, which sorts and folds case as SQLite
  does; a production server created in a linguistic locale (en_US.UTF-8, the official Docker image's default,
  or an ICU locale) sorted `ORDER BY rel_path` in dictionary order and lowered non-ASCII letters, where SQLite
  sorts by code point and lowers ASCII only, until schema 6 declared every text column of a server catalog in
  the "C" collation. The tests below create the catalog in an ICU en-US database to prove it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datawrangler.cli import main
from datawrangler.store import history, reads_browse
from datawrangler.store.history import Filters
from datawrangler.store.location import open_location
from tests.conftest import CardBuilder
from tests.pg import ROLE, PgCluster

_icu_databases = itertools.count(1)


def _offload(card: Path, dest: Path, location: str, *extra: str) -> int:
    assert main(["offload", str(card), str(dest), "-q", "--no-clips", "--catalog", location, *extra]) == 0
    db = open_location(location)
    try:
        return int(db.value("SELECT MAX(id) FROM offloads"))
    finally:
        db.close()


def test_a_folder_with_a_backslash_is_found_by_the_volume_filter(make_card: CardBuilder, tmp_path: Path,
                                                                 catalog_location: str) -> None:
    """`history --volume 'D:\\Shoot'` on a catalog a Windows station wrote: here a Linux folder whose name holds
    a backslash, the same characters in the pattern (the server found nothing before LIKE's ESCAPE)."""
    dest = tmp_path / "Shoot\\Day 1"
    dest.mkdir()
    oid = _offload(make_card({"A001C001.mov": 100}, name="A001R2EC"), dest, catalog_location)
    db = open_location(catalog_location)
    try:
        assert [r.id for r in reads_browse.history_page(db, Filters(volume=str(dest)))] == [oid]
        assert [o["id"] for o in history.offloads(db, Filters(volume="shoot\\day 1"))] == [oid]
    finally:
        db.close()


def test_a_project_with_a_backslash_is_found_by_its_name(make_card: CardBuilder, tmp_path: Path,
                                                         catalog_location: str) -> None:
    """Project 'NS\\Unit 2' is found by --project 'NS\\Unit' on both; an underscore typed is an underscore, not
    "any character" (it was, on both, before the typed text was escaped)."""
    (tmp_path / "drive").mkdir()
    oid = _offload(make_card({"A001C001.mov": 100}, name="A001R2EC"), tmp_path / "drive", catalog_location,
                   "--project", "NS\\Unit 2")
    db = open_location(catalog_location)
    try:
        assert [o["id"] for o in history.offloads(db, Filters(project="NS\\Unit"))] == [oid]
        assert [o["id"] for o in history.offloads(db, Filters(project="NS\\Unit_2"))] == []
        assert [o["id"] for o in history.offloads(db, Filters(project="%"))] == []
        assert [o["id"] for o in history.offloads(db, Filters(text="unit 2"))] == [oid]
    finally:
        db.close()


@pytest.fixture
def linguistic_location(pg_cluster: PgCluster) -> str:
    """A catalog database on the session's server in ICU's en-US locale, as a production server in a
    linguistic locale would be (skipped where the server was built without ICU)."""
    import psycopg

    name = f"dw_icu_{next(_icu_databases)}_{pg_cluster.port}"
    try:
        with psycopg.connect(pg_cluster.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER {ROLE} TEMPLATE template0 LOCALE_PROVIDER icu"
                         " ICU_LOCALE 'en-US' LOCALE 'C'")
    except psycopg.Error as exc:
        pytest.skip(f"this PostgreSQL cannot create an ICU-collated database ({exc}); build it with ICU")
    with psycopg.connect(pg_cluster.admin_url(name), autocommit=True) as conn:
        conn.execute(f"ALTER SCHEMA public OWNER TO {ROLE}")
    return pg_cluster.url(name)


@pytest.fixture
def both(make_card: CardBuilder, tmp_path: Path, linguistic_location: str) -> Callable[..., Iterator[tuple]]:
    """both(files, *offload options): the same card offloaded into a new SQLite file and into the en-US server
    database; yields (catalog handle, offload id) for the file, then for the server."""

    def run(files: dict[str, int], *extra: str) -> Iterator[tuple]:
        card = make_card(files, name="A001R2EC")
        for kind, location in (("file", str(tmp_path / "catalog.sqlite")), ("server", linguistic_location)):
            (tmp_path / kind).mkdir()
            oid = _offload(card, tmp_path / kind, location, *extra)
            db = open_location(location)
            try:
                yield db, oid
            finally:
                db.close()

    return run


def test_an_offloads_files_page_in_the_same_order(both: Callable[..., Iterator[tuple]]) -> None:
    pages = [[f.rel_path for f in reads_browse.files_page(db, oid)]
             for db, oid in both({"b.mov": 10, "C.mov": 10, "_x.txt": 10, "a/b.mov": 10})]
    assert pages[0] == ["C.mov", "_x.txt", "a/b.mov", "b.mov"]  # the file's: code point order
    assert pages[1] == pages[0]


def test_a_project_filter_folds_case_alike(both: Callable[..., Iterator[tuple]]) -> None:
    found = [[o["id"] for o in history.offloads(db, Filters(project="école"))]
             for db, _oid in both({"A001C001.mov": 10}, "--project", "ÉCOLE")]
    assert found[0] == []  # the file's: a case-blind match of ASCII letters only
    assert found[1] == found[0]


def test_a_server_catalog_of_schema_5_sorts_by_code_point_once_upgraded(linguistic_location: str) -> None:
    """A catalog created on a linguistic server before schema 6 sorted in dictionary order; create_schema
    (what the window's "Create catalog" and `catalog check --create` run, and every open of an older server
    catalog asks for) brings it to the "C" collation, rows kept."""
    from sqlalchemy import text

    from datawrangler.store import server
    from datawrangler.store.migrations import run

    engine = server.engine(server.parse(linguistic_location))
    order = "SELECT rel_path FROM files ORDER BY rel_path"
    try:
        with engine.begin() as conn:
            run.upgrade(conn, "v5")
            oid = conn.execute(text("INSERT INTO offloads (uuid, source, plan, started_at, state) VALUES ('u1',"
                                    " '/card', '{}', 1.0, 'verified') RETURNING id")).scalar_one()
            for name in ("b.mov", "C.mov", "_x.txt", "a/b.mov"):
                conn.execute(text("INSERT INTO files (offload_id, rel_path, size, mtime_ns, status) VALUES (:o, :r, 1,"
                                  " 1, 'verified')"), {"o": oid, "r": name})
            assert [r[0] for r in conn.execute(text(order))] == ["_x.txt", "a/b.mov", "b.mov", "C.mov"]
        assert server.create_schema(linguistic_location).ok
        with engine.connect() as conn:
            assert [r[0] for r in conn.execute(text(order))] == ["C.mov", "_x.txt", "a/b.mov", "b.mov"]
            assert conn.execute(text("SELECT lower('ÉCOLE' COLLATE \"default\"), lower(rel_path || 'É') FROM files"
                                     " WHERE rel_path = 'C.mov'")).one() == ("école", "c.movÉ")
    finally:
        engine.dispose()
