"""The catalog on a PostgreSQL server (`store.catalog.Catalog`'s second backend), shared by several stations.

One handle is one connection (psycopg 3 through SQLAlchemy) in autocommit mode, so that transactions are
exactly the ones `atomic` opens, as on the SQLite file: BEGIN, then a transaction-level advisory lock that every
station's writers take (`WRITE_LOCK`), so writers wait their turn across stations as SQLite's BEGIN IMMEDIATE
makes them wait within one file. Reads outside `atomic` see what is committed (READ COMMITTED) and take no lock.

Opening checks the server first (`store.server.check_connection`) and says exactly what is wrong when it
cannot be used; an empty database or an older catalog is brought to this code's schema under the schema
advisory lock (`store.server.create_schema`). A connection the server drops is raised as `ServerUnavailable`,
one of `store.db.BACKEND_ERRORS`: what the layers above catch for a catalog that cannot be written now.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import TextClause, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, InvalidRequestError

from datawrangler.store import server
from datawrangler.store.catalog import Catalog, Params, Rows
from datawrangler.store.errors import CatalogError, ServerUnavailable
from datawrangler.store.server import CatalogLocation, Status

WRITE_LOCK = 0x4457575249544531  # pg_advisory_xact_lock key of the catalog's writers ("DWWRITE1")
BATCH = 1000  # rows sent to the server per executemany call


@functools.lru_cache(maxsize=1024)
def _text(sql: str) -> TextClause:
    return text(_named(sql))


def _named(sql: str) -> str:
    """A statement written with positional `?` marks (SQLite's qmark style, which store's older statements
    use) with each mark outside a quoted literal named `:_p0`, `:_p1`, ...: the parameter style SQLAlchemy's
    text() binds. Only the marks change; the SQL is the same text."""
    if "?" not in sql:
        return sql
    out, n, quote = [], 0, ""
    for ch in sql:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            out.append(f":_p{n}")
            n += 1
            continue
        out.append(ch)
    return "".join(out)


def _params(params: Params | Sequence[Any] | None) -> dict[str, Any]:
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return dict(params)
    return {f"_p{i}": v for i, v in enumerate(params)}


class ServerCatalog(Catalog):
    """The catalog in a PostgreSQL database."""

    dialect = "postgresql"

    def __init__(self, location: CatalogLocation, conn: Connection) -> None:
        self.location = location
        self._conn = conn
        self._depth = 0
        self._locked = False  # the writers' lock is held by the open transaction
        self._savepoints = itertools.count(1)

    def run(self, sql: str, params: Params | Sequence[Any] | None = None) -> Rows:
        try:
            return self._conn.execute(_text(sql), _params(params))
        except DBAPIError as exc:
            raise self._unavailable(exc) from exc

    def run_many(self, sql: str, rows: Iterable[Params | Sequence[Any]]) -> None:
        statement = _text(sql)
        it = iter(rows)
        while batch := [_params(r) for r in itertools.islice(it, BATCH)]:
            try:
                self._conn.execute(statement, batch)
            except DBAPIError as exc:
                raise self._unavailable(exc) from exc

    def run_stream(self, sql: str, params: Params | Sequence[Any] | None = None) -> Iterator[Any]:
        """A server-side cursor (SQLAlchemy's stream_results), a thousand rows at a time: a million-file card's
        rows never sit in this process at once. A cursor lives in a transaction: outside one, it opens its own
        (taking no lock: it only reads; a write inside it takes the writers' lock, see atomic)."""
        own = self._depth == 0
        if own:
            self._driver("BEGIN")
            self._depth = 1
        try:
            try:
                # A cursor is planned for its first tenth by default (cursor_tuple_fraction), as if most of it
                # were never read: for safe to format of a 10,000-file card in a 10,000,000-file catalog that
                # plan took 1.4 s against 52 ms for the plan of the whole result, which is always read here.
                self._driver("SET LOCAL cursor_tuple_fraction = 1.0")
                # and its sort of a 100,000-file card's copies spilled to disk with the default 4 MB (19 MB)
                self._driver("SET LOCAL work_mem = '64MB'")
                result = self._conn.execute(_text(sql), _params(params),
                                            execution_options={"stream_results": True, "max_row_buffer": 1000})
            except DBAPIError as exc:
                raise self._unavailable(exc) from exc
            yield from result
        finally:
            if own:
                self._depth, self._locked = 0, False
                self._end("COMMIT")

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """COPY ... FROM STDIN on the connection's own psycopg cursor: 40,000 staged rows in 0.12 s against
        1.5 s through executemany (measured by RECORDER)."""
        import psycopg

        raw = cast("psycopg.Connection[Any]", self._conn.connection.dbapi_connection)
        try:
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.OperationalError as exc:
            raise ServerUnavailable(
                f"The catalog server {self.shown()} stopped answering ({str(exc).strip().splitlines()[0]}). "
                "Nothing that was not committed was kept on it. Check that the server runs and this computer can "
                "reach it, then try again.") from exc

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextlib.contextmanager
    def atomic(self) -> Iterator[ServerCatalog]:
        if self._depth:
            if not self._locked:  # a write inside a streamed read's transaction: it takes the writers' lock too
                self._driver(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
                self._locked = True
            name = f"dw_sp_{next(self._savepoints)}"
            self._driver(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                self._end(f"ROLLBACK TO SAVEPOINT {name}")
                raise
            self._depth -= 1
            self._driver(f"RELEASE SAVEPOINT {name}")
            return
        self._driver("BEGIN")
        self._depth = 1
        try:
            self._driver(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
            self._locked = True
            yield self
        except BaseException:
            self._depth, self._locked = 0, False
            self._end("ROLLBACK")
            raise
        self._depth, self._locked = 0, False
        try:
            self._driver("COMMIT")
        except BaseException:
            self._end("ROLLBACK")
            raise

    def close(self) -> None:
        with contextlib.suppress(DBAPIError):
            self._conn.close()

    def shown(self) -> str:
        return self.location.shown()

    def has_table(self, name: str) -> bool:
        return bool(inspect(self._conn).has_table(name))

    def _driver(self, sql: str) -> None:
        try:
            self._conn.exec_driver_sql(sql)
        except DBAPIError as exc:
            raise self._unavailable(exc) from exc

    def _end(self, sql: str) -> None:
        """End a transaction or savepoint after a failure, or a streamed read's transaction, raising nothing: the
        failure already raised is the one to see. On a lost connection there is nothing to end on the server
        (it dropped the transaction with the connection); SQLAlchemy's own rollback clears the connection's
        invalid state, without which every later statement, and this one, raises "Can't reconnect until
        invalid transaction is rolled back" in place of the outage."""
        if not self._conn.invalidated:
            with contextlib.suppress(DBAPIError):
                self._conn.exec_driver_sql(sql)  # a connection lost here is invalidated by it
        if self._conn.invalidated:
            with contextlib.suppress(DBAPIError, InvalidRequestError):
                self._conn.rollback()

    def _unavailable(self, exc: DBAPIError) -> Exception:
        """A lost connection (the server stopped, the network gone) as ServerUnavailable; any other error (a
        statement the server refused) as the driver raised it: that is a bug to see, not an outage."""
        if exc.connection_invalidated or _is_disconnect(exc):
            return ServerUnavailable(
                f"The catalog server {self.shown()} stopped answering ({_said(exc)}). Nothing that was not "
                "committed was kept on it. Check that the server runs and this computer can reach it, then try "
                "again.")
        return exc


def _is_disconnect(exc: DBAPIError) -> bool:
    from psycopg import OperationalError

    return isinstance(exc.orig, OperationalError)


def _said(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)


def connect_server(where: str | os.PathLike[str] | CatalogLocation, timeout: float = server.DEFAULT_TIMEOUT
                   ) -> ServerCatalog:
    """A handle on a catalog already checked by open_server (a second connection of the same process: the
    Recorder's writer): no check, no schema work; ServerUnavailable when the server does not answer."""
    location = where if isinstance(where, CatalogLocation) else server.parse(where)
    # autocommit on the engine, not the connection: a connection the server dropped reconnects with it too
    # (BEGIN and COMMIT are this class's own statements, see atomic)
    engine = server.engine(location, timeout, autocommit=True)
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        raise ServerUnavailable(f"Could not connect to the catalog server {location.shown()} ({_said(exc)}). "
                                "Check that the server runs and this computer can reach it, then try "
                                "again.") from exc
    return ServerCatalog(location, conn)


def open_server(where: str | os.PathLike[str] | CatalogLocation, timeout: float = server.DEFAULT_TIMEOUT
                ) -> ServerCatalog:
    """A handle on the catalog on the server: checked first (CatalogError with the check's words when it
    cannot be used), created or upgraded when the database holds none or an older one."""
    location = where if isinstance(where, CatalogLocation) else server.parse(where)
    if location.path is not None:
        raise ValueError("open_server() is for a catalog on a server; a file is opened by store.db")
    check = server.check_connection(location, timeout)
    if check.status in (Status.NO_SCHEMA, Status.SCHEMA_OLDER):
        check = server.create_schema(location, timeout)
    if not check.ok:
        raise CatalogError(check.message)
    return connect_server(location, timeout)

