"""A throwaway PostgreSQL server for the tests: the distribution's own initdb and pg_ctl, a cluster in a
temporary folder listening on a free port of 127.0.0.1 with password (SCRAM) authentication, started once per
test session and removed at its end. Nothing is mocked: the catalog code talks to a real server as it would to
a production's.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user (the folder is
chowned to it and initdb, pg_ctl run as it). Where PostgreSQL is not installed the tests that need it are
skipped with that reason; `.ci/run` installs it (Debian's `postgresql` package).

Fixtures (tests/conftest.py imports them for every test folder):
- `pg_cluster`: the session's server (`PgCluster`); its `admin_url`, `url(database)`, `create_database()`.
- `pg_url`: a new empty database owned by the test role, for one test: `postgresql://dw_test:…@127.0.0.1:…/…`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import pwd

    from datawrangler.store.catalog import Catalog  # Unix only: imported where the server is started as another user

ADMIN = "dw_admin"  # the cluster's superuser: creates the test databases
ROLE = "dw_test"  # what the catalog code connects as: owns its database, no superuser rights
START_TIMEOUT = 60


def server_binaries() -> Path | None:
    """The newest installed server's bin folder (Debian: /usr/lib/postgresql/<major>/bin), else the folder of
    an initdb on PATH; None when there is none."""
    found = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")
             if (Path(p) / "initdb").is_file() and (Path(p) / "pg_ctl").is_file()]
    if found:
        return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """A PostgreSQL cluster in a temporary folder, run as `user` (None: as this process's user)."""

    def __init__(self, bindir: Path, user: pwd.struct_passwd | None, durable: bool = False) -> None:
        """`durable`: the server's own defaults for durability (fsync, synchronous_commit on), for a test that
        crashes it: with synchronous_commit off a crash loses the last commits it already acknowledged."""
        self.durable = durable
        self.bindir = bindir
        self.user = user
        self.root = Path(tempfile.mkdtemp(prefix="dw-pg-"))  # not under pytest's 0700 basetemp: `postgres` enters
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.admin_password = secrets.token_hex(16)
        self.password = secrets.token_hex(16)
        self._databases = 0
        self._template = ""
        if user is not None:
            os.chown(self.root, user.pw_uid, user.pw_gid)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        extra: dict[str, Any] = {}
        if self.user is not None:
            extra = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        return subprocess.run([str(self.bindir / args[0]), *args[1:]], cwd=self.root, env=env, check=False,
                              capture_output=True, text=True, timeout=START_TIMEOUT + 30, **extra)

    def _check(self, proc: subprocess.CompletedProcess[str], what: str) -> None:
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
            raise RuntimeError(f"PostgreSQL test cluster: {what} failed (exit {proc.returncode}):\n"
                               f"{proc.stdout}{proc.stderr}\n{log}")

    def start(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.admin_password + "\n")
        if self.user is not None:
            os.chown(pwfile, self.user.pw_uid, self.user.pw_gid)
        self._check(self._run("initdb", "-D", str(self.data), "-U", ADMIN, f"--pwfile={pwfile}",
                              "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8",
                              "--locale=C", "--no-sync"), "initdb")
        pwfile.unlink()
        self.port = free_port()
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                       "unix_socket_directories = ''\n"
                       "max_connections = 100\n")
            if not self.durable:  # a throwaway cluster: durability buys nothing and costs seconds per test
                conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        self._check(self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t",
                              str(START_TIMEOUT), "start"), "pg_ctl start")
        import psycopg

        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{self.password}'")

    def pause(self) -> None:
        """Stop the server as a crash or a pulled network cable would look to a station (every connection cut
        at once), keeping its data and port: `resume` starts it again."""
        self._check(self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"), "pg_ctl stop")

    def resume(self) -> None:
        self._check(self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(START_TIMEOUT),
                              "start"), "pg_ctl start")

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql://{ADMIN}:{self.admin_password}@127.0.0.1:{self.port}/{database}"

    def url(self, database: str, password: str | None = None) -> str:
        """The test role's URL for `database` (with another password when given: a wrong one)."""
        return f"postgresql://{ROLE}:{password or self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database owned by the test role (a public schema it may create tables in)."""
        import psycopg

        self._databases += 1
        name = f"dw_{os.getpid()}_{self._databases}"
        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER {ROLE}")
        with psycopg.connect(self.admin_url(name), autocommit=True) as conn:
            conn.execute(f"ALTER SCHEMA public OWNER TO {ROLE}")
        return name

    def catalog_database(self) -> str:
        """A new database holding an empty catalog at this code's schema, owned by the test role: a copy of a
        template made once per session (CREATE DATABASE ... TEMPLATE copies files, far faster than creating
        the schema again for every test)."""
        import psycopg

        if not self._template:
            name = self.create_database()
            from datawrangler.store.server import create_schema

            create_schema(self.url(name))
            with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
                conn.execute(f"ALTER DATABASE {name} IS_TEMPLATE true")
            self._template = name
        self._databases += 1
        copy = f"dw_{os.getpid()}_{self._databases}"
        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {copy} TEMPLATE {self._template} OWNER {ROLE}")
        return copy

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _server_user() -> pwd.struct_passwd | None:
    """Who runs the server: this process's user, or `postgres` when this process is root."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    import pwd

    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("PostgreSQL refuses to run as root and there is no 'postgres' user to run the test server "
                    "as; install the distribution's postgresql package (it creates that user)")


def start_cluster(durable: bool = False) -> PgCluster:
    """A new cluster of its own (skips where PostgreSQL is missing): for a test that stops its server."""
    bindir = server_binaries()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (no initdb and pg_ctl in /usr/lib/postgresql/*/bin or on PATH); "
                    "on Debian or Ubuntu: apt-get install postgresql")
    cluster = PgCluster(bindir, _server_user(), durable)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture
def own_pg_cluster() -> Iterator[PgCluster]:
    """A server for one test alone, which it may crash and start again (PgCluster.pause/resume): durable, as a
    production's server must be (synchronous_commit on), or a crash may lose commits it acknowledged."""
    cluster = start_cluster(durable=True)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    bindir = server_binaries()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (no initdb and pg_ctl in /usr/lib/postgresql/*/bin or on PATH); "
                    "on Debian or Ubuntu: apt-get install postgresql")
    cluster = PgCluster(bindir, _server_user())
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A new, empty database on the session's server, as the test role's URL. Not dropped after the test (a
    drop waits for a checkpoint, a second per test): the whole cluster is removed when the session ends."""
    return pg_cluster.url(pg_cluster.create_database())


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def catalog_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's catalog is, once per backend: a new SQLite file, or a new database on the session's
    PostgreSQL server already holding an empty catalog (skipped, with the reason, where PostgreSQL is
    missing). Pass it wherever a catalog location is taken (--catalog, open_location, the use cases)."""
    if request.param == "sqlite":
        return str(tmp_path / "catalog.sqlite")
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.url(cluster.catalog_database())


@pytest.fixture
def catalog_db(catalog_location: str) -> Iterator[Catalog]:
    """The test's catalog, opened, on each backend in turn (`catalog_location`)."""
    from datawrangler.store.location import open_location

    db = open_location(catalog_location)
    try:
        yield db
    finally:
        db.close()
