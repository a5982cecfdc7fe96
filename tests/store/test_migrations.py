"""The Alembic history in the package: it lists what store.migrations says, its baseline makes schema 4 on
SQLite and PostgreSQL (what store.schema makes, what store.tables describes), store's own stamp is Alembic's,
and the wheel carries the history."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from datawrangler.store import migrations, schema, server, tables
from datawrangler.store.db import open_catalog
from datawrangler.store.migrations import __main__ as revision_command
from datawrangler.store.migrations import run, stamp
from tests.store.schema_shape import sqlite_shape

REPO = Path(__file__).resolve().parents[2]


def _differences(conn: Connection) -> list[object]:
    """What Alembic's autogenerate would change to make the database store.tables (types and defaults too).
    Not counted: the rowid keys of an SQLite catalog that store.schema made, declared 'INTEGER PRIMARY KEY'
    without NOT NULL, which SQLite reports as nullable although the rowid is never NULL."""
    context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
    found: list[object] = []
    for diff in compare_metadata(context, tables.metadata):
        if isinstance(diff, tuple) and diff[0] == "remove_table" and diff[1].name == migrations.VERSION_TABLE:
            continue
        if isinstance(diff, list):
            diff = [d for d in diff if not _rowid_nullability(conn, d)]
            if not diff:
                continue
        found.append(diff)
    return found


def _rowid_nullability(conn: Connection, diff: tuple[object, ...]) -> bool:
    kind, _schema, table, column, _existing, was, now = diff
    return (conn.dialect.name == "sqlite" and kind == "modify_nullable" and (was, now) == (True, False)
            and tables.metadata.tables[str(table)].c[str(column)].primary_key)


def test_the_revisions_listed_are_the_script_folders() -> None:
    script = run.script_directory()
    walked = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert walked == list(migrations.REVISIONS)
    assert script.get_heads() == [migrations.head()]
    assert script.get_base() == migrations.BASELINE
    assert migrations.BASELINE_VERSION == len(schema.MIGRATIONS) == 4
    assert schema.schema_version() == migrations.head_version()
    assert list(migrations.REVISIONS.values()) == sorted(set(migrations.REVISIONS.values()))


def test_the_history_on_sqlite_makes_what_store_schema_and_the_revisions_make(tmp_path: Path) -> None:
    """Alembic's whole history from nothing (baseline, then every revision) and an SQLite catalog made by
    store.schema's migrations 1 to 4, stamped with the baseline and brought to the head by the later revisions,
    are the same catalog, down to the stamp's table."""
    by_alembic = tmp_path / "alembic.sqlite"
    with run.sqlite_transaction(by_alembic) as conn:
        run.upgrade(conn)
    by_store = tmp_path / "store.sqlite"
    open_catalog(by_store).close()
    assert sqlite_shape(by_alembic) == sqlite_shape(by_store)
    ddl = "SELECT sql FROM sqlite_master WHERE name = 'alembic_version'"
    a, b = sqlite3.connect(by_alembic), sqlite3.connect(by_store)
    try:
        assert a.execute(ddl).fetchall() == b.execute(ddl).fetchall() != []  # store's stamp is Alembic's own
        assert stamp.revisions(a) == stamp.revisions(b) == (migrations.head(),)
    finally:
        a.close()
        b.close()


def test_the_baseline_on_sqlite_makes_schema_4(tmp_path: Path) -> None:
    """The baseline alone makes the tables of version 4: every table store.tables has, without the columns
    later revisions add."""
    by_alembic = tmp_path / "alembic.sqlite"
    with run.sqlite_transaction(by_alembic) as conn:
        run.upgrade(conn, migrations.BASELINE)
    shape = sqlite_shape(by_alembic)
    assert set(shape) == set(tables.metadata.tables)
    names = {c[0] for c in shape["volumes"]["columns"]} | {c[0] for c in shape["offloads"]["columns"]}
    assert "media_kind" not in names and "station" not in names and "site" not in names


def test_alembic_reads_store_stamp_and_finds_nothing_to_change(tmp_path: Path) -> None:
    """A catalog store.schema made is, to Alembic, exactly store.tables at the head: later revisions written
    by autogenerate against it apply to the catalogs in the field."""
    path = tmp_path / "catalog.sqlite"
    open_catalog(path).close()
    with run.sqlite_transaction(path) as conn:
        assert run.current(conn) == (migrations.head(),)
        assert _differences(conn) == []


def test_the_history_on_postgresql_ends_in_store_tables(pg_url: str) -> None:
    check = server.create_schema(pg_url)
    assert check.ok and check.revision == migrations.head()
    engine = server.engine(server.parse(pg_url))
    try:
        with engine.connect() as conn:
            assert _differences(conn) == []
            assert run.current(conn) == (migrations.head(),)
    finally:
        engine.dispose()


def test_the_wheel_carries_the_history(tmp_path: Path) -> None:
    """What setuptools puts in the wheel (build_py, from a copy of the project): env.py, the template and
    every revision, and Alembic runs the history from there."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, project / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "resources", project / "resources", ignore=ignore)
    shutil.copytree(REPO / "datawrangler", project / "datawrangler", ignore=ignore)
    out = tmp_path / "build"
    subprocess.run([sys.executable, "-W", "ignore", "-c", "import setuptools; setuptools.setup()", "-q", "build_py",
                    "--build-lib", str(out)], cwd=project, check=True, capture_output=True)
    shipped = out / "datawrangler" / "store" / "migrations"
    assert {p.name for p in shipped.iterdir()} >= {"__init__.py", "env.py", "script.py.mako", "run.py", "versions"}
    source = {p.name for p in migrations.SCRIPT_LOCATION.joinpath("versions").glob("*.py")}
    assert {p.name for p in (shipped / "versions").glob("*.py")} == source
    assert run.script_directory(shipped).get_heads() == [migrations.head()]
    catalog = tmp_path / "from-the-wheel.sqlite"
    with run.sqlite_transaction(catalog) as conn:
        run.upgrade(conn, script_location=shipped)
    assert set(sqlite_shape(catalog)) == set(tables.metadata.tables)


def test_the_next_revision_from_store_tables_is_empty_while_nothing_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The developer's command writes the next revision from the difference between store.tables and the
    history's head: with store.tables unchanged it has nothing to do (the history ends in store.tables), and
    it names the revision and what to do next."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrations.SCRIPT_LOCATION, folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrations, "SCRIPT_LOCATION", folder)
    assert revision_command.main(["revision", "-m", "nothing yet"]) == 0
    following, current = migrations.head_version() + 1, migrations.head()
    (written,) = (folder / "versions").glob(f"v{following}_*.py")
    text = written.read_text()
    assert f"revision: str = 'v{following}'" in text and f"down_revision: str | None = '{current}'" in text
    upgrade = text[text.index("def upgrade()"):text.index("def downgrade()")]
    assert "op." not in upgrade
    assert f"add 'v{following}': {following} to REVISIONS" in capsys.readouterr().out
