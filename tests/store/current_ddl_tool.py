"""Writes datawrangler/store/current_ddl.py: the SQLite DDL of `store.tables` at the newest revision, which
store.db runs to create a new catalog without loading SQLAlchemy or Alembic. A schema change (store.tables and
its Alembic revision) is followed by:

    .venv/bin/python -m tests.store.current_ddl_tool

tests/store/test_new_catalog.py fails, saying so, while the file and store.tables disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from datawrangler.store import migrations, tables

TARGET = Path(__file__).resolve().parents[2] / "datawrangler" / "store" / "current_ddl.py"

HEADER = '''"""The SQLite DDL of the catalog at the newest revision (`store.tables`), generated: do not edit.

store.db runs it to create a new catalog in one transaction without loading SQLAlchemy or Alembic (a command's
first run, and every test's fresh catalog, would pay for both). Written by `python -m tests.store.current_ddl_tool`
after a schema change; tests/store/test_new_catalog.py proves it is what store.tables and the migration
history make.
"""

'''


def statements() -> list[str]:
    dialect = sqlite.dialect()
    out: list[str] = []
    for table in tables.metadata.sorted_tables:
        out.append(_tidy(str(CreateTable(table).compile(dialect=dialect))))
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            out.append(_tidy(str(CreateIndex(index).compile(dialect=dialect))))
    return out


def _tidy(sql: str) -> str:
    """One column a line, indented with spaces, no trailing blanks: the same statement, readable in a diff."""
    return "\n".join(line.rstrip().replace("\t", "    ") for line in sql.strip().splitlines())


def render() -> str:
    body = "".join(f'    """{s}""",\n' for s in statements())
    return (f"{HEADER}REVISION = {migrations.head()!r}\nVERSION = {migrations.head_version()}\n"
            f"STATEMENTS: tuple[str, ...] = (\n{body})\n")


def main() -> int:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(TARGET.parents[2])} (revision {migrations.head()})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
