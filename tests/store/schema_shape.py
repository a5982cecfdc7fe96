"""What a catalog's schema is, read back from the database itself, in a form two catalogs can be compared by:
on SQLite from its PRAGMAs (what SQLite itself will enforce), on any backend through SQLAlchemy's inspector."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect

# tables of the machinery, not of the schema: Alembic's revision, SQLite's own
NOT_SCHEMA = {"alembic_version", "sqlite_sequence", "sqlite_stat1"}


def affinity(declared: str) -> str:
    """SQLite's column affinity for a declared type (https://sqlite.org/datatype3.html, 3.1)."""
    t = declared.upper()
    if "INT" in t:
        return "INTEGER"
    if any(s in t for s in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in t or not t:
        return "BLOB"
    if any(s in t for s in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def sqlite_shape(path: Path) -> dict[str, dict[str, Any]]:
    """{table: {columns, indexes, foreign_keys}} as SQLite reports them. A primary key column counts as NOT
    NULL whether or not it says so: an INTEGER PRIMARY KEY is the rowid, which is never NULL."""
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        shape: dict[str, dict[str, Any]] = {}
        for table in names:
            if table in NOT_SCHEMA:
                continue
            columns = [(name, declared.upper(), affinity(declared), bool(notnull or pk), default, pk)
                       for _cid, name, declared, notnull, default, pk in con.execute(f'PRAGMA table_info("{table}")')]
            indexes = {}
            for _seq, name, unique, origin, _partial in con.execute(f'PRAGMA index_list("{table}")'):
                if origin == "pk":
                    continue  # the primary key's own index (a non-INTEGER key): the key is compared above
                cols = [r[2] for r in con.execute(f'PRAGMA index_info("{name}")')]
                indexes[name] = (tuple(cols), bool(unique))
            fks = sorted((r[3], r[2], r[4]) for r in con.execute(f'PRAGMA foreign_key_list("{table}")'))
            shape[table] = {"columns": columns, "indexes": indexes, "foreign_keys": fks}
        return shape
    finally:
        con.close()


def inspected_shape(engine: Engine) -> dict[str, dict[str, Any]]:
    """{table: {columns, indexes, foreign_keys, primary_key}} through SQLAlchemy's inspector: the column types
    as the database names them (its own spelling: BIGINT, DOUBLE PRECISION, TEXT on PostgreSQL)."""
    insp = inspect(engine)
    shape: dict[str, dict[str, Any]] = {}
    for table in sorted(insp.get_table_names()):
        if table in NOT_SCHEMA:
            continue
        columns = [(c["name"], str(c["type"].compile(dialect=engine.dialect)), bool(c["nullable"]),
                    _default(c.get("default"))) for c in insp.get_columns(table)]
        indexes = {i["name"]: (tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table)}
        fks = sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                     for f in insp.get_foreign_keys(table))
        pk = tuple(insp.get_pk_constraint(table)["constrained_columns"])
        shape[table] = {"columns": columns, "indexes": indexes, "foreign_keys": fks, "primary_key": pk}
    return shape


def _default(default: str | None) -> str | None:
    """A column's default without the sequence PostgreSQL gives a serial key (its name is the table's)."""
    if default is None or default.startswith("nextval("):
        return None
    return default
