"""Ids for the rows a merge adds, taken in blocks before the rows are written, so that every reference
between new rows (a stage-2 offload's stage-1 destination, a card's lineage, a copy's file) is known when
its row is built and every table is written with plain batched inserts.

On SQLite the merge holds the write lock (BEGIN IMMEDIATE): the ids after the largest in use are free. On
PostgreSQL other stations insert at the same time: ids come from the table's own sequence (nextval, in one
query per block), so theirs and the merge's never meet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, select, text

from datawrangler.store.merge_open import MergeError


class Ids:
    """Blocks of new ids per table, on this catalog's connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self._next: dict[str, int] = {}
        self._sequences: dict[str, str] = {}

    def take(self, table: Table, n: int) -> Sequence[int]:
        if n <= 0:
            return ()
        if self.postgres:
            # The sequence is named once per table: pg_get_serial_sequence in the row's expression was looked up
            # again for every id (2.8 s a million ids; 0.5 s named). One text value comes back, not a row per id.
            seq = self._sequences.get(table.name)
            if seq is None:
                seq = self._sequences[table.name] = str(self.conn.execute(
                    text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar_one())
            ids = self.conn.execute(text("SELECT string_agg(nextval(CAST(:s AS regclass))::text, ',') "
                                         "FROM generate_series(1, :n)"), {"s": seq, "n": n}).scalar_one()
            return [int(i) for i in ids.split(",")]
        first = self._next.get(table.name)
        if first is None:
            first = int(self.conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1
        self._next[table.name] = first + n
        return range(first, first + n)


def remap(ids: Mapping[int, int], value: Any, what: str, other: str) -> int | None:
    """The id in this catalog of the other catalog's row `value` points at (None stays None). A reference to a
    row the other catalog does not hold is its own damage: the merge stops rather than guess."""
    if value is None:
        return None
    try:
        return ids[value]
    except KeyError:
        raise MergeError(f"The catalog {other} is inconsistent: {what} {value}, which it does not hold. Nothing "
                         "was merged. Check it with SQLite's integrity check (or restore a backup of it), then "
                         "try again.") from None
