"""A catalog server that goes away in the middle of a transaction: the station sees that the server stopped
answering (ServerUnavailable, what the Recorder spools on), never SQLAlchemy's state error about the dropped
connection, and the same handle works again once the server is back."""

from __future__ import annotations

import psycopg
import pytest

from datawrangler.store.errors import ServerUnavailable
from datawrangler.store.server_catalog import ServerCatalog, connect_server
from tests.pg import PgCluster


def _rows(cluster: PgCluster, database: str) -> list[int]:
    with psycopg.connect(cluster.url(database)) as conn:
        return [r[0] for r in conn.execute("SELECT x FROM probe ORDER BY x")]


def _lose_in_statement(db: ServerCatalog, cluster: PgCluster) -> None:
    with db.atomic():
        db.run("INSERT INTO probe VALUES (1)")
        cluster.pause()
        db.run("INSERT INTO probe VALUES (2)")


def _lose_at_commit(db: ServerCatalog, cluster: PgCluster) -> None:
    with db.atomic():
        db.run("INSERT INTO probe VALUES (1)")
        cluster.pause()


def _lose_in_savepoint(db: ServerCatalog, cluster: PgCluster) -> None:
    with db.atomic():
        db.run("INSERT INTO probe VALUES (1)")
        with db.atomic():
            cluster.pause()
            db.run("INSERT INTO probe VALUES (2)")


def _lose_in_copy(db: ServerCatalog, cluster: PgCluster) -> None:
    with db.atomic():
        db.run("INSERT INTO probe VALUES (1)")
        cluster.pause()
        db.copy_rows("probe", ["x"], [(2,), (3,)])


@pytest.mark.parametrize("lose", [_lose_in_statement, _lose_at_commit, _lose_in_savepoint, _lose_in_copy],
                         ids=["statement", "commit", "savepoint", "copy"])
def test_a_server_lost_mid_transaction_is_unavailable_and_the_handle_works_when_it_is_back(
        own_pg_cluster: PgCluster, lose: object) -> None:
    database = own_pg_cluster.create_database()
    db = connect_server(own_pg_cluster.url(database))
    db.run("CREATE TABLE probe (x integer)")
    try:
        with pytest.raises(ServerUnavailable, match="stopped answering"):
            lose(db, own_pg_cluster)  # type: ignore[operator]
        assert not db.in_transaction
        with pytest.raises(ServerUnavailable):  # still down: the same words, not a state error
            db.run("SELECT 1")
        own_pg_cluster.resume()
        assert _rows(own_pg_cluster, database) == []  # nothing uncommitted was kept
        with db.atomic():  # the same handle connects again, in autocommit: its own BEGIN and COMMIT hold
            db.run("INSERT INTO probe VALUES (7)")
        assert _rows(own_pg_cluster, database) == [7]
        assert not db.in_transaction
    finally:
        db.close()
