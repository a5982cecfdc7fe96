"""Catalog locations, and the connection check against a real PostgreSQL server: each thing that can be wrong
is told apart and said with what to do; create_schema makes an empty database a catalog, once, even when two
stations do it at the same moment."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest

from datawrangler.store import migrations, schema, server, tables
from datawrangler.store.db import CatalogError, open_catalog
from datawrangler.store.server import Status
from tests.pg import PgCluster, free_port
from tests.store.revisions import add_revision
from tests.store.schema_shape import inspected_shape

REPO = Path(__file__).resolve().parents[2]


# ---- locations ----

def test_a_plain_path_or_sqlite_url_is_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert server.parse("catalogs/main.sqlite").path == tmp_path / "catalogs" / "main.sqlite"
    assert server.parse(tmp_path / "a.sqlite").path == tmp_path / "a.sqlite"
    assert server.parse("sqlite:///rel.sqlite").path == tmp_path / "rel.sqlite"
    assert server.parse(f"sqlite:///{tmp_path}/abs.sqlite").path == tmp_path / "abs.sqlite"
    assert not server.parse("a.sqlite").is_server


def test_a_postgresql_url_is_a_server_through_psycopg_3() -> None:
    for text in ("postgresql://dit:s3cret@db.example:5433/production", "postgres://dit:s3cret@db.example:5433/production",
                 "postgresql+psycopg://dit:s3cret@db.example:5433/production"):
        where = server.parse(text)
        assert where.is_server and where.path is None
        assert where.url.drivername == "postgresql+psycopg"
        assert (where.url.host, where.url.port, where.url.database) == ("db.example", 5433, "production")
        assert where.shown() == "postgresql://dit@db.example:5433/production"  # no password in messages


@pytest.mark.parametrize(("text", "says"), [
    ("postgresql+psycopg2://dit@db/production", "uses psycopg 3. Write the URL as postgresql://"),
    ("mysql://dit:pw@db/production", "is a mysql database, which DataWrangler cannot use"),
    ("sqlite://", "an in-memory catalog would keep nothing"),
    ("postgresql://dit@db", "names no database. Add it after the host"),
    ("  ", "No catalog location was given"),
])
def test_other_locations_are_refused_saying_what_to_write(text: str, says: str) -> None:
    with pytest.raises(CatalogError) as err:
        server.parse(text)
    assert says in str(err.value)
    assert "pw@" not in str(err.value)
    assert server.check_connection(text).status is Status.ERROR


# ---- an SQLite file ----

def test_check_of_an_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    first = server.check_connection(path)
    assert first.status is Status.NO_SCHEMA and first.can_create and not path.exists()
    assert server.create_schema(path).ok
    check = server.check_connection(f"sqlite:///{path}")
    assert check.ok and check.revision == migrations.head()
    assert f"is ready (schema version {migrations.head_version()})" in check.message
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = 'v99'")
    con.commit()
    con.close()
    newer = server.check_connection(path)
    assert newer.status is Status.SCHEMA_TOO_NEW and "Update DataWrangler" in newer.message
    junk = tmp_path / "notes.sqlite"
    junk.write_bytes(b"shopping list\n" * 500)
    assert server.check_connection(junk).status is Status.NOT_A_CATALOG


# ---- a server ----

def test_a_port_nobody_listens_on_is_unreachable() -> None:
    port = free_port()
    check = server.check_connection(f"postgresql://dw_test:pw@127.0.0.1:{port}/catalog", timeout=3)
    assert check.status is Status.UNREACHABLE
    assert f"Nothing answers at 127.0.0.1 port {port} (Connection refused)" in check.message
    assert "listens on that port" in check.message


def test_a_host_name_nobody_has_is_unreachable() -> None:
    check = server.check_connection("postgresql://dw_test:pw@catalog-server.invalid/catalog", timeout=3)
    assert check.status is Status.UNREACHABLE
    assert "The catalog server catalog-server.invalid was not found" in check.message


def test_a_wrong_password_is_authentication_failed(pg_cluster: PgCluster, pg_url: str) -> None:
    database = server.parse(pg_url).url.database
    assert database is not None
    check = server.check_connection(pg_cluster.url(database, password="not-the-password"))
    assert check.status is Status.AUTH_FAILED
    assert "refused the user 'dw_test'" in check.message and "password authentication failed" in check.message
    assert "Check the user name and password" in check.message and "not-the-password" not in check.message


def test_no_password_at_all_is_authentication_failed(pg_cluster: PgCluster, pg_url: str) -> None:
    database = server.parse(pg_url).url.database
    check = server.check_connection(f"postgresql://dw_test@127.0.0.1:{pg_cluster.port}/{database}")
    assert check.status is Status.AUTH_FAILED and "no password supplied" in check.message


def test_a_missing_database_is_database_missing(pg_cluster: PgCluster) -> None:
    check = server.check_connection(pg_cluster.url("no_such_catalog"))
    assert check.status is Status.NO_DATABASE
    assert "has no database 'no_such_catalog'" in check.message
    assert "createdb -O dw_test no_such_catalog" in check.message
    with pytest.raises(CatalogError, match="has no database 'no_such_catalog'"):
        server.create_schema(pg_cluster.url("no_such_catalog"))


def test_an_empty_database_can_be_created_and_the_check_creates_nothing(pg_url: str) -> None:
    check = server.check_connection(pg_url)
    assert check.status is Status.NO_SCHEMA and check.can_create
    assert check.server_version is not None and int(check.server_version.split(".")[0]) >= 14
    assert "holds no catalog yet" in check.message
    assert _table_names(pg_url) == set()


def test_create_schema_makes_store_tables_and_the_check_says_ok(pg_url: str, pg_cluster: PgCluster) -> None:
    done = server.create_schema(pg_url)
    assert done.ok and done.revision == migrations.head()
    assert f"Connected to PostgreSQL {done.server_version}" in done.message and "is ready" in done.message
    assert server.create_schema(pg_url) == done  # a second time: nothing to do
    reference = pg_cluster.url(pg_cluster.create_database())
    engine = server.engine(server.parse(reference))
    try:
        tables.metadata.create_all(engine)
        expected = inspected_shape(engine)
    finally:
        engine.dispose()
    engine = server.engine(server.parse(pg_url))
    try:
        assert inspected_shape(engine) == expected
    finally:
        engine.dispose()
    assert _rows(pg_url, "SELECT version_num FROM alembic_version") == [(migrations.head(),)]


def test_an_unknown_revision_is_schema_too_new_and_left_untouched(pg_url: str) -> None:
    server.create_schema(pg_url)
    _execute(pg_url, "UPDATE alembic_version SET version_num = 'v7_from_a_newer_station'")
    check = server.check_connection(pg_url)
    assert check.status is Status.SCHEMA_TOO_NEW and check.revision == "v7_from_a_newer_station"
    assert "written by a newer DataWrangler (schema revision 'v7_from_a_newer_station'" in check.message
    assert "Update DataWrangler on this computer" in check.message
    with pytest.raises(CatalogError, match="newer DataWrangler"):
        server.create_schema(pg_url)
    assert _rows(pg_url, "SELECT version_num FROM alembic_version") == [("v7_from_a_newer_station",)]


def test_someone_elses_tables_are_not_a_catalog(pg_url: str) -> None:
    _execute(pg_url, "CREATE TABLE files (name text)")
    check = server.check_connection(pg_url)
    assert check.status is Status.NOT_A_CATALOG and "(files)" in check.message
    with pytest.raises(CatalogError, match="Use an empty database"):
        server.create_schema(pg_url)
    assert _table_names(pg_url) == {"files"}


def test_an_older_catalog_is_upgraded_by_create_schema(pg_url: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    server.create_schema(pg_url)
    old_head, old_version = migrations.head(), migrations.head_version()
    _execute(pg_url, "INSERT INTO events (at, kind, message) VALUES (1.5, 'note', 'kept')")
    add_revision(tmp_path, monkeypatch, """
        with op.batch_alter_table("volumes") as batch:
            batch.add_column(sa.Column("not_yet", sa.Text()))
    """)
    assert migrations.head() != old_head
    check = server.check_connection(pg_url)
    assert check.status is Status.SCHEMA_OLDER and check.can_create and check.revision == old_head
    assert (f"at schema version {old_version}; this DataWrangler uses {migrations.head_version()}"
            in check.message)
    done = server.create_schema(pg_url)
    assert done.ok and done.revision == migrations.head()
    assert _rows(pg_url, "SELECT version_num FROM alembic_version") == [(migrations.head(),)]
    assert "not_yet" in {c[0] for c in _rows(pg_url, "SELECT column_name FROM information_schema.columns "
                                                     "WHERE table_name = 'volumes'")}
    assert _rows(pg_url, "SELECT message FROM events") == [("kept",)]


def test_two_stations_creating_the_catalog_at_once(pg_url: str, tmp_path: Path) -> None:
    """Two processes check and create the same empty database at the same moment: both end with a usable
    catalog, made once (the advisory lock), and one revision row."""
    go = tmp_path / "go"
    script = textwrap.dedent(f"""
        import json, os, sys, time
        from datawrangler.store import server
        while not os.path.exists({str(go)!r}):
            time.sleep(0.005)
        first = server.check_connection(sys.argv[1])
        done = server.create_schema(sys.argv[1])
        print(json.dumps([first.status.name, done.status.name, done.revision]))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, pg_url], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert [r[1:] for r in results] == [["OK", migrations.head()]] * 2
    assert {r[0] for r in results} <= {"NO_SCHEMA", "OK"}
    assert _rows(pg_url, "SELECT version_num FROM alembic_version") == [(migrations.head(),)]
    assert _table_names(pg_url) == set(tables.metadata.tables) | {"alembic_version"}


def test_a_server_check_reads_only(pg_url: str) -> None:
    """Checking an empty database twice leaves it empty; a check never stamps, creates or locks anything."""
    for _ in range(2):
        assert server.check_connection(pg_url).status is Status.NO_SCHEMA
    assert _table_names(pg_url) == set()


# ---- helpers: plain psycopg, beside the code under test ----

def _plain(url: str) -> str:
    return server.parse(url).url.set(drivername="postgresql").render_as_string(hide_password=False)


def _execute(url: str, sql: str) -> None:
    with psycopg.connect(_plain(url), autocommit=True) as conn:
        conn.execute(sql.encode())


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(_plain(url)) as conn:
        return list(conn.execute(sql.encode()).fetchall())


def _table_names(url: str) -> set[str]:
    return {str(r[0]) for r in _rows(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_an_sqlite_file_in_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "catalog.sqlite"
    check = server.check_connection(path)
    assert check.status is Status.ERROR and "folder does not exist" in check.message
    assert not path.parent.exists()


def test_a_database_the_user_may_not_connect_to_is_not_called_missing(pg_cluster: PgCluster) -> None:
    """The server refuses the user for that database only (no CONNECT privilege): the check says so, and does
    not mistake it for a missing database because the user can reach another one."""
    with psycopg.connect(pg_cluster.admin_url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE not_for_dits")
        conn.execute("REVOKE CONNECT ON DATABASE not_for_dits FROM PUBLIC")
    check = server.check_connection(pg_cluster.url("not_for_dits"))
    assert check.status is Status.AUTH_FAILED
    assert "permission denied for database" in check.message
    assert "GRANT CONNECT ON DATABASE not_for_dits TO dw_test" in check.message


def test_a_database_the_user_may_not_create_tables_in(pg_cluster: PgCluster) -> None:
    """PostgreSQL 15 and later let only the owner create tables in a database's public schema: the check says
    so (and how to grant it) before create_schema would fail half-way."""
    with psycopg.connect(pg_cluster.admin_url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE admins_own")
    with psycopg.connect(pg_cluster.admin_url("admins_own"), autocommit=True) as conn:
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    url = pg_cluster.url("admins_own")
    check = server.check_connection(url)
    assert check.status is Status.NO_PERMISSION and not check.can_create
    assert "may not create tables in it (schema public)" in check.message
    assert "GRANT CREATE ON SCHEMA public TO dw_test" in check.message
    with pytest.raises(CatalogError, match="may not create tables"):
        server.create_schema(url)
    with psycopg.connect(pg_cluster.admin_url("admins_own"), autocommit=True) as conn:
        conn.execute("GRANT CREATE ON SCHEMA public TO dw_test")
    assert server.check_connection(url).status is Status.NO_SCHEMA
    assert server.create_schema(url).ok


def test_check_of_an_older_sqlite_catalog_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A version-2 catalog (an older DataWrangler's): 'migrated when opened', and the check itself neither
    migrates nor stamps it."""
    path = tmp_path / "catalog.sqlite"
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:2])
        open_catalog(path).close()
    before = path.read_bytes()
    check = server.check_connection(path)
    assert check.status is Status.SCHEMA_OLDER and check.can_create and check.revision is None
    assert (f"at schema version 2; it is migrated to {migrations.head_version()} (a backup of it first)"
            in check.message)
    assert path.read_bytes() == before
