"""A new catalog is made at the newest schema at once, from the DDL generated from store.tables
(store.current_ddl): the same catalog the migration history makes, stamped with the newest revision, and
made without loading SQLAlchemy or Alembic."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from datawrangler.store import current_ddl, migrations
from datawrangler.store.db import open_catalog
from datawrangler.store.migrations import run, stamp
from tests.store import current_ddl_tool
from tests.store.schema_shape import sqlite_shape

REPO = Path(__file__).resolve().parents[2]


def test_the_generated_ddl_is_store_tables_at_the_newest_revision() -> None:
    assert current_ddl_tool.TARGET.read_text(encoding="utf-8") == current_ddl_tool.render(), (
        "store/current_ddl.py is not what store.tables gives: after a schema change run "
        "'.venv/bin/python -m tests.store.current_ddl_tool'")
    assert (migrations.head(), migrations.head_version()) == (current_ddl.REVISION, current_ddl.VERSION)


def test_a_new_catalog_is_what_the_whole_history_makes(tmp_path: Path) -> None:
    made = tmp_path / "new.sqlite"
    open_catalog(made).close()
    by_history = tmp_path / "history.sqlite"
    with run.sqlite_transaction(by_history) as conn:
        run.upgrade(conn)
    assert sqlite_shape(made) == sqlite_shape(by_history)
    con = sqlite3.connect(made)
    try:
        assert stamp.revisions(con) == (migrations.head(),)
        assert con.execute("PRAGMA user_version").fetchone()[0] == migrations.head_version()
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()


def test_making_and_reopening_a_catalog_loads_neither_sqlalchemy_nor_alembic(tmp_path: Path) -> None:
    """A command's first run on a new machine (and every test's fresh catalog) pays for neither."""
    path = tmp_path / "catalog.sqlite"
    script = textwrap.dedent(f"""
        import sys
        from datawrangler.store.db import open_catalog
        open_catalog({str(path)!r}).close()
        open_catalog({str(path)!r}).close()
        print(sorted(m for m in ("alembic", "sqlalchemy") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    con = sqlite3.connect(path)
    try:
        assert stamp.revisions(con) == (migrations.head(),)
    finally:
        con.close()


def test_several_threads_making_one_catalog_make_it_once(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            open_catalog(path).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    con = sqlite3.connect(path)
    try:
        assert stamp.revisions(con) == (migrations.head(),)
        assert con.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'offloads'").fetchone()[0] == 1
    finally:
        con.close()
