"""The catalog handle: what every layer above `store` holds, and the one way `store`'s own modules talk to
the database, whichever backend holds it.

Two backends implement it: `store.db.FileCatalog`, the embedded SQLite file (the default: a DIT alone on a
laptop needs no server), and `store.server_catalog.ServerCatalog`, a PostgreSQL server shared by several
stations. A statement is one SQL text for both: portable SQL (the subset SQLite and PostgreSQL share) with
named parameters (`:name`, values in a dict; older statements' positional `?` marks are bound by position
on both, the server naming each mark outside a quoted literal for SQLAlchemy). SQLite runs the text through
its own driver, so a command on a laptop loads no SQLAlchemy; PostgreSQL runs it through SQLAlchemy's
`text()` on psycopg 3, which binds the same names. No statement is translated from one dialect to the other by hand.

What keeps a text portable (the store suite runs every statement on both backends):
- a new row's id comes from `INSERT ... RETURNING id` (`new_id`), never from a cursor's lastrowid;
- `INSERT ... ON CONFLICT (...) DO NOTHING | DO UPDATE` for an upsert (never `INSERT OR IGNORE/REPLACE`);
- `COALESCE`, `CAST(x AS BIGINT)`, `||`, `CASE`; a sum is `CAST(SUM(x) AS BIGINT)` (PostgreSQL's SUM of a
  bigint is a numeric); conditions are comparisons (`x IS NOT NULL`, `x != 0`), never a bare column;
- every column in a GROUP BY query is grouped or aggregated; a list of values is spelled by `in_list`;
- TEMP tables are named without a schema (`dw_rec_files`, not `temp.dw_rec_files`): both find them first.

A write transaction (`atomic`) holds the catalog's write lock for its whole length on both backends: SQLite's
BEGIN IMMEDIATE, and on the server a transaction-level advisory lock that every station's writers take. So
the check-then-write logic of the store (a card held by one offload, a volume recorded once) needs no other
care on the server than in the file, and two stations writing at once wait their turn, never collide.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

Params = Mapping[str, Any] | Sequence[Any]  # named (`:name`, a dict) or, in older statements, `?` marks


class Rows(Protocol):
    """A statement's result: sqlite3's cursor, or SQLAlchemy's CursorResult (rows are tuples or tuple-like)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Sequence[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Catalog(abc.ABC):
    """The catalog, on one backend. Layers above `store` only hold it, pass it back to `store`'s functions and
    close it; only `store` calls its methods."""

    dialect: str  # "sqlite" or "postgresql"

    @abc.abstractmethod
    def run(self, sql: str, params: Params | None = None) -> Rows:
        """Run one statement (named parameters) and return its rows."""

    @abc.abstractmethod
    def run_many(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement once per parameter dict (a batch insert), in the caller's transaction."""

    @abc.abstractmethod
    def atomic(self) -> contextlib.AbstractContextManager[Catalog]:
        """A transaction holding the write lock (a savepoint when nested); committed at the end, rolled back on
        any error."""

    @property
    @abc.abstractmethod
    def in_transaction(self) -> bool:
        """Whether a transaction is open on this handle."""

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def shown(self) -> str:
        """Where the catalog is, for messages: the file's path, or the server's URL without its password."""

    @abc.abstractmethod
    def has_table(self, name: str) -> bool:
        """Whether the catalog holds this table (a catalog of an older schema may lack a newer one's)."""

    @property
    def is_server(self) -> bool:
        return self.dialect != "sqlite"

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Many rows into one table, in the caller's transaction, the fastest way the backend has: SQLite's
        executemany (a loop in C), PostgreSQL's COPY (one stream instead of a round trip per row)."""
        marks = ", ".join("?" for _ in columns)
        self.run_many(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def run_stream(self, sql: str, params: Params | None = None) -> Iterator[Any]:
        """The rows of a long read, a few at a time, never all in memory (SQLite's cursor already steps; the
        server's backend uses a server-side cursor)."""
        yield from self.run(sql, params)

    def row(self, sql: str, params: Params | None = None) -> Any:
        """The first row, or None."""
        return self.run(sql, params).fetchone()

    def value(self, sql: str, params: Params | None = None) -> Any:
        """The first column of the first row, or None when there is no row."""
        found = self.run(sql, params).fetchone()
        return None if found is None else found[0]

    def new_id(self, sql: str, params: Params | None = None) -> int:
        """Run an `INSERT ... RETURNING id` (or an upsert that returns the row's id) and give the id."""
        found = self.run(sql, params).fetchone()
        if found is None:
            raise RuntimeError(f"the statement returned no id: {sql}")
        return int(found[0])


def count_where(condition: str, name: str) -> str:
    """`COUNT of the rows where condition` as an integer column on both backends (SQLite sums a comparison,
    PostgreSQL does not; its SUM of integers is a numeric): for a SELECT list."""
    return f"COALESCE(CAST(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS BIGINT), 0) AS {name}"


def column_names(rows: Rows) -> list[str]:
    """A result's column names, whichever backend gave it (sqlite3's cursor.description, SQLAlchemy's keys())."""
    keys = getattr(rows, "keys", None)
    if keys is not None:
        return list(keys())
    return [d[0] for d in rows.description]  # type: ignore[attr-defined]


def in_list(name: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
    """A list of values for `x IN (...)`: the parenthesised placeholders and their parameters, named
    `name_0`, `name_1`, ... (`("(:ids_0, :ids_1)", {"ids_0": 4, "ids_1": 9})`). An empty list gives `(NULL)`,
    which matches nothing, as an empty IN list would."""
    params = {f"{name}_{i}": v for i, v in enumerate(values)}
    if not params:
        return "(NULL)", {}
    return "(" + ", ".join(f":{k}" for k in params) + ")", params


# A case-blind search for what was typed, on both backends: `lower(col) LIKE lower(?) ESCAPE '\'` with the
# pattern from `contains`/`starts_with`. Without the ESCAPE clause the two read a pattern differently:
# PostgreSQL's LIKE takes a backslash as its escape character, SQLite's as itself, so a Windows path
# (D:\Shoot\A001) was found in a file catalog and not on a server. With it, and the typed `\`, `%` and `_`
# escaped, both match exactly the characters typed (an `_` in a reel name is no longer "any character").
LIKE = "LIKE lower(?) ESCAPE '\\'"


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(text: str) -> str:
    """The LIKE pattern (for LIKE above) of a value holding `text` anywhere."""
    return f"%{_escaped(text)}%"


def starts_with(text: str) -> str:
    """The LIKE pattern (for LIKE above) of a value starting with `text`."""
    return f"{_escaped(text)}%"
