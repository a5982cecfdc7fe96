"""Where the catalog is: an SQLite file or a PostgreSQL server, named by a URL; and the check a station makes
before using a server ("test connection"), which says exactly what is wrong and what to do about it.

A catalog location is a plain path or `sqlite:///path` (the SQLite file, the default), or
`postgresql://user:password@host:port/database` (a server; the driver is always psycopg 3, so
`postgresql+psycopg://` is the same URL). The window and the command line take it from Settings,
`DATAWRANGLER_CATALOG` or `--catalog`; phase 2 of issue 15 opens every command's catalog through it.

`check_connection` tells apart, in this order: the host not found or not answering, the server refusing the
user or password, the database missing, a server older than PostgreSQL 14, a database that holds no catalog
yet (`create_schema` creates it) or that this user may not create tables in (PostgreSQL 15 lets only the
owner, by default), one that holds other tables under a catalog's names, a catalog written by a
newer DataWrangler (refused: never touched), an older one (`create_schema` upgrades it), and a catalog ready
to use, with the server's version. The server's own words are kept in the message when it gave a reason.
"""

from __future__ import annotations

import enum
import os
import re
import socket
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import URL, Connection, Engine, create_engine, func, inspect, make_url, select
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import NullPool

from datawrangler.store import migrations, schema
from datawrangler.store.errors import CatalogError

MIN_SERVER = (14,)
DEFAULT_TIMEOUT = 5.0  # seconds: a station on set must not hang on a server that is not there
LOCK_KEY = 0x44574341544C47  # pg_advisory_xact_lock: one station at a time creates or upgrades the schema
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class CatalogLocation:
    """A parsed catalog location: `path` for an SQLite file, `url` (SQLAlchemy, driver psycopg) for a server."""

    url: URL
    path: Path | None = None

    @property
    def is_server(self) -> bool:
        return self.path is None

    def shown(self) -> str:
        """For messages: the file's path, or the server's URL without its password."""
        if self.path is not None:
            return str(self.path)
        return self.url.set(drivername="postgresql").render_as_string(hide_password=True).replace(":***@", "@")


def parse(location: str | os.PathLike[str]) -> CatalogLocation:
    """A catalog location from a path or URL; CatalogError (saying what is accepted) for anything else."""
    text = os.fspath(location).strip()
    if not text:
        raise CatalogError("No catalog location was given. Give a file path, sqlite:///PATH or "
                           "postgresql://USER@HOST/DATABASE.")
    if not _URL.match(text):
        return _file(Path(text).expanduser())
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise CatalogError(f"The catalog location {text!r} is not a URL that can be read ({exc}). Give a file "
                           "path, sqlite:///PATH or postgresql://USER@HOST/DATABASE.") from exc
    backend, _, driver = url.drivername.partition("+")
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise CatalogError(f"The catalog location {text!r} names no file (an in-memory catalog would keep "
                               "nothing). Give sqlite:///PATH (three slashes, then the path).")
        return _file(Path(url.database).expanduser())
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "psycopg"):
            raise CatalogError(f"The catalog location {text!r} asks for the PostgreSQL driver {driver!r}; "
                               "DataWrangler uses psycopg 3. Write the URL as postgresql://USER@HOST/DATABASE.")
        if not url.database:
            raise CatalogError(f"The catalog location {_hidden(url)} names no database. Add it after the host: "
                               "postgresql://USER@HOST/DATABASE.")
        return CatalogLocation(url.set(drivername="postgresql+psycopg"))
    raise CatalogError(f"The catalog location {_hidden(url)} is a {backend} database, which DataWrangler cannot use. "
                       "Give a file path, sqlite:///PATH or postgresql://USER@HOST/DATABASE (PostgreSQL 14 or newer).")


def _file(path: Path) -> CatalogLocation:
    path = path.absolute()
    return CatalogLocation(URL.create("sqlite", database=str(path)), path)


def _hidden(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def engine(location: CatalogLocation, timeout: float = DEFAULT_TIMEOUT, autocommit: bool = False) -> Engine:
    """An engine on the server (no pool: each use connects, so a server that comes back is found again). With
    `autocommit`, every connection it makes is in autocommit, one made again after a lost one too."""
    if location.path is not None:
        raise ValueError("engine() is for a catalog on a server; an SQLite catalog is opened by store.db")
    return create_engine(location.url, poolclass=NullPool, isolation_level="AUTOCOMMIT" if autocommit else None,
                         connect_args={"connect_timeout": max(2, round(timeout)), "application_name": "DataWrangler"})


class Status(enum.Enum):
    OK = "ok"
    UNREACHABLE = "host unreachable"
    AUTH_FAILED = "authentication failed"
    NO_DATABASE = "database missing"
    SERVER_TOO_OLD = "server too old"
    NO_SCHEMA = "schema missing"  # an empty database: create_schema makes the catalog
    NO_PERMISSION = "may not create"  # an empty database this user may not create tables in
    NOT_A_CATALOG = "not a catalog"
    SCHEMA_TOO_NEW = "schema too new"
    SCHEMA_OLDER = "schema older"  # create_schema (or the next open) upgrades it
    ERROR = "error"


@dataclass(frozen=True)
class ConnectionCheck:
    status: Status
    message: str  # what happened and what to do, for the window and the command line
    server_version: str | None = None
    revision: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @property
    def can_create(self) -> bool:
        """create_schema would make the catalog usable: an empty database, or an older catalog to upgrade."""
        return self.status in (Status.NO_SCHEMA, Status.SCHEMA_OLDER)


def check_connection(location: str | os.PathLike[str] | CatalogLocation,
                     timeout: float = DEFAULT_TIMEOUT) -> ConnectionCheck:
    """Whether a station can use the catalog there, and if not exactly why. Reads only: never creates or
    changes anything."""
    try:
        where = location if isinstance(location, CatalogLocation) else parse(location)
    except CatalogError as exc:
        return ConnectionCheck(Status.ERROR, str(exc))
    if where.path is not None:
        return _check_file(where.path)
    problem = _unreachable(where, timeout)
    if problem is not None:
        return ConnectionCheck(Status.UNREACHABLE, problem)
    eng = engine(where, timeout)
    try:
        try:
            conn = eng.connect()
        except DBAPIError as exc:
            return _refused(where, exc.orig or exc, lambda url: _can_connect(url, timeout))
        with conn:
            return _check_schema(conn, where)
    finally:
        eng.dispose()


def _can_connect(url: URL, timeout: float) -> bool:
    eng = engine(CatalogLocation(url), timeout)
    try:
        with eng.connect():
            return True
    except DBAPIError:
        return False
    finally:
        eng.dispose()


def _check_schema(conn: Connection, where: CatalogLocation) -> ConnectionCheck:
    from datawrangler.store.migrations import run

    info = conn.dialect.server_version_info or ()
    version = ".".join(str(n) for n in info)
    db = f"the database {where.url.database!r} on {where.url.host or 'the local server'}"
    if tuple(info) < MIN_SERVER:
        return ConnectionCheck(Status.SERVER_TOO_OLD, f"The catalog server {where.shown()} runs PostgreSQL "
                               f"{version}; DataWrangler needs PostgreSQL 14 or newer. Ask its administrator to "
                               "upgrade it, or use another server.", version)
    stamped = run.current(conn)
    if not stamped:
        present = set(inspect(conn).get_table_names()) & set(schema.CORE_TABLES)
        if present:
            return ConnectionCheck(Status.NOT_A_CATALOG, f"{db.capitalize()} holds tables named like a catalog's "
                                   f"({', '.join(sorted(present))}) but no DataWrangler schema revision, so "
                                   "DataWrangler will not write to it. Use an empty database for the catalog.",
                                   version)
        schema_name = conn.execute(select(func.current_schema())).scalar()
        if schema_name is None or not conn.execute(select(func.has_schema_privilege(schema_name, "CREATE"))).scalar():
            return ConnectionCheck(Status.NO_PERMISSION, f"Connected to PostgreSQL {version}: {db} holds no "
                                   f"catalog yet, and the user {where.url.username!r} may not create tables in it "
                                   f"(schema {schema_name or '(none on the search path)'}). Ask the server's "
                                   f"administrator to make the user the database's owner, or to run GRANT CREATE "
                                   f"ON SCHEMA {schema_name or 'public'} TO {where.url.username}; then create the "
                                   "catalog.", version)
        return ConnectionCheck(Status.NO_SCHEMA, f"Connected to PostgreSQL {version}: {db} holds no catalog "
                               "yet. Create the catalog in it (DataWrangler creates it when asked to: nothing else is "
                               "needed on the server), then every station can use it.", version)
    unknown = [r for r in stamped if not migrations.known(r)]
    if unknown or len(stamped) > 1:
        return ConnectionCheck(Status.SCHEMA_TOO_NEW, migrations.too_new(where.shown(), ", ".join(stamped)),
                               version, ", ".join(stamped))
    (revision,) = stamped
    if revision != migrations.head():
        return ConnectionCheck(Status.SCHEMA_OLDER, f"Connected to PostgreSQL {version}: the catalog in {db} is "
                               f"at schema version {migrations.REVISIONS[revision]}; this DataWrangler uses "
                               f"{migrations.head_version()}. Let DataWrangler upgrade it when asked to, after "
                               "updating DataWrangler on the other stations that use it: a station with the older "
                               "version cannot use the upgraded catalog.", version, revision)
    return ConnectionCheck(Status.OK, f"Connected to PostgreSQL {version}: the catalog in {db} is ready (schema "
                           f"version {migrations.head_version()}).", version, revision)


def create_schema(location: str | os.PathLike[str] | CatalogLocation,
                  timeout: float = DEFAULT_TIMEOUT) -> ConnectionCheck:
    """Make the catalog there usable: on an empty PostgreSQL database create schema version 4 and Alembic's
    later revisions (upgrade to head), on an older catalog run the revisions it lacks; an SQLite file is
    created or migrated as every open does (a backup first). Two stations doing it at once wait for each
    other (an advisory lock) and the second finds it done. CatalogError, with the check's message, when the
    catalog cannot be made usable from here (unreachable, refused, too new, someone else's tables)."""
    where = location if isinstance(location, CatalogLocation) else parse(location)
    if where.path is not None:
        from datawrangler.store.db import open_catalog

        open_catalog(where.path).close()
        return check_connection(where, timeout)
    before = check_connection(where, timeout)
    if before.ok:
        return before
    # tables without a revision may be another station's catalog committed between the check's two reads (its
    # revision read first, then its tables): looked at again under the lock, where that station has finished
    if not before.can_create and before.status is not Status.NOT_A_CATALOG:
        raise CatalogError(before.message)
    from datawrangler.store.migrations import run

    eng = engine(where, timeout)
    try:
        with eng.begin() as conn:
            conn.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
            again = _check_schema(conn, where)  # under the lock: another station may have just done it
            if again.can_create:
                run.upgrade(conn)
            elif not again.ok:
                raise CatalogError(again.message)
    except DBAPIError as exc:
        raise CatalogError(f"The catalog could not be created in {where.shown()} ({exc.orig}). Nothing was "
                           "changed. Check that this user may create tables in the database, then try "
                           "again.") from exc
    finally:
        eng.dispose()
    return check_connection(where, timeout)


def _unreachable(where: CatalogLocation, timeout: float) -> str | None:
    """Why nothing answers at the server's address (the name not found, the port closed or silent); None
    when something accepts a connection there. A Unix socket (no host, or a folder) is left to the driver."""
    host, port = where.url.host, where.url.port or 5432
    if not host or host.startswith("/"):
        return None
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return (f"The catalog server {host} was not found ({getattr(exc, 'strerror', None) or exc}). Check the "
                "host name in the catalog URL and this computer's network, then try again.")
    errors = []
    for family, kind, proto, _name, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(timeout)
            try:
                sock.connect(address)
                return None
            except OSError as exc:
                errors.append("no answer" if isinstance(exc, TimeoutError) else exc.strerror or str(exc))
    return (f"Nothing answers at {host} port {port} ({'; '.join(dict.fromkeys(errors))}): the catalog server is "
            "not running there, or a firewall or the network is in the way. Check that PostgreSQL runs on that "
            "computer and listens on that port (listen_addresses), and that this computer can reach it.")


# The server's reason for refusing a connection comes as words only (libpq passes no SQLSTATE for it), in the
# server's language: these are PostgreSQL's English ones; any other language falls back to asking the server
# again with the maintenance database.
_AUTH = ("password authentication failed", "no password supplied", "authentication failed",
         "no pg_hba.conf entry", "pg_hba.conf rejects", "permission denied for database")


def _refused(where: CatalogLocation, error: BaseException, can_connect: Callable[[URL], bool]) -> ConnectionCheck:
    said = str(error).strip().replace("\n", " ")
    said = re.sub(r"^connection failed: connection to server at .*? failed: (FATAL: +)?", "", said)
    user = where.url.username or "(the login user)"
    database = where.url.database
    text = said.lower()
    if f'database "{database}" does not exist'.lower() in text or (
            not any(a in text for a in _AUTH) and database != "postgres"
            and can_connect(where.url.set(database="postgres"))):
        return ConnectionCheck(Status.NO_DATABASE, f"The catalog server {where.url.host} has no database "
                               f"{database!r} (it said: {said}). Create it on the server (createdb -O {user} "
                               f"{database}, or ask its administrator), or correct the database name in the URL.")
    if any(a in text for a in _AUTH) or f'role "{user}" does not exist' in text:
        if "pg_hba.conf" in text:
            hint = (" The server's pg_hba.conf does not let this user in from this computer: ask its "
                    "administrator to add an entry.")
        elif "permission denied for database" in text:
            hint = (f" The user may not connect to that database: ask the server's administrator to run GRANT "
                    f"CONNECT ON DATABASE {database} TO {user}.")
        else:
            hint = (" Check the user name and password in the catalog URL (the password may be given there or "
                    "in ~/.pgpass).")
        return ConnectionCheck(Status.AUTH_FAILED, f"The catalog server {where.url.host} refused the user "
                               f"{user!r} (it said: {said}).{hint}")
    return ConnectionCheck(Status.ERROR, f"Could not connect to the catalog server {where.shown()}: {said}. Check "
                           "the user name, password and database name in the URL, then try again.")


def _check_file(path: Path) -> ConnectionCheck:
    """The same check for an SQLite catalog file, read-only: it is created (or migrated, a backup first) when
    a station opens it."""
    from datawrangler.store.migrations import stamp

    if not path.exists():
        if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
            return ConnectionCheck(Status.ERROR, f"There is no catalog at {path}, and its folder does not exist or "
                                   "cannot be written. Choose a folder this user can write to.")
        return ConnectionCheck(Status.NO_SCHEMA, f"There is no catalog at {path} yet; it is created when "
                               "DataWrangler first uses it.")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            stamped = stamp.revisions(conn)
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return ConnectionCheck(Status.NOT_A_CATALOG, f"The file {path} cannot be read as a catalog ({exc}). "
                               "Choose the catalog file itself (catalog.sqlite), or restore a backup of it.")
    unknown = [r for r in stamped if not migrations.known(r)]
    if version > schema.schema_version() or unknown:
        return ConnectionCheck(Status.SCHEMA_TOO_NEW, migrations.too_new(str(path), ", ".join(stamped) or
                                                                         f"schema version {version}"))
    if version == 0 or not set(schema.CORE_TABLES) <= tables:
        return ConnectionCheck(Status.NOT_A_CATALOG, f"The file {path} is an SQLite database but not a "
                               "DataWrangler catalog. Choose the catalog file itself (catalog.sqlite).")
    revision = stamped[0] if stamped else None
    if version < schema.schema_version() or revision != migrations.head():
        return ConnectionCheck(Status.SCHEMA_OLDER, f"The catalog {path} is at schema version {version}; it is "
                               f"migrated to {schema.schema_version()} (a backup of it first) when DataWrangler "
                               "next opens it.", revision=revision)
    return ConnectionCheck(Status.OK, f"The catalog {path} is ready (schema version {version}).", revision=revision)
