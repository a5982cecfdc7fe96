"""A catalog on PostgreSQL merged with station catalogs on SQLite, both ways: the same records by identity,
ids from the server's sequences (so a station's own inserts after the merge still work), a second merge that
adds nothing, and the server's catalog exported to one SQLite file. Skipped, with the reason, where
PostgreSQL is not installed (tests/pg.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select, text

from datawrangler.store import server
from datawrangler.store import tables as t
from datawrangler.store.export import export
from datawrangler.store.merge import MergeError, merge
from tests.store.test_merge import identities, two_stations

__all__ = ["two_stations"]  # the fixture, for pytest


def test_a_server_catalog_takes_in_two_stations_and_gives_them_back(two_stations: tuple[Path, Path], pg_url: str,
                                                                     tmp_path: Path) -> None:
    a, b = two_stations
    assert server.create_schema(pg_url).ok
    first = merge(pg_url, a)
    assert first.added["offloads"] == 2 and first.stations == ("cart-a",)
    assert merge(pg_url, b).added["offloads"] == 1
    assert merge(pg_url, a).nothing_new and merge(pg_url, b).nothing_new
    merge(a, b)
    assert identities(pg_url) == identities(a)
    # the server as the other catalog: a new station catalog gets everything
    c = tmp_path / "c.sqlite"
    assert merge(c, pg_url).added["offloads"] == 3
    assert identities(c) == identities(pg_url)
    # and exported for post: the one file holds what the server holds
    export(pg_url, tmp_path / "for-post.sqlite")
    assert identities(tmp_path / "for-post.sqlite") == identities(pg_url)
    # the sequences moved past the merged ids: a station's next insert does not collide
    engine = create_engine(server.parse(pg_url).url)
    try:
        with engine.begin() as conn:
            top = conn.execute(select(t.volumes.c.id).order_by(t.volumes.c.id.desc())).first()
            new = conn.execute(insert(t.volumes).values(key="uuid:new", disk="id:new", kind="destination")
                               .returning(t.volumes.c.id)).scalar_one()
            assert top is not None and new > top[0]
    finally:
        engine.dispose()


def test_a_write_the_server_refuses_mid_merge_leaves_its_catalog_as_it_was(two_stations: tuple[Path, Path],
                                                                           pg_url: str) -> None:
    """The files step's writes run on a thread of their own (store.merge_writer): when one is refused (here a
    check the server holds on verifications, as a full disk or a constraint would refuse it), the merge stops
    with a MergeError that says so, and its one transaction is rolled back: the files and copies already
    written before the refused verifications are not kept either."""
    a, b = two_stations
    assert server.create_schema(pg_url).ok
    merge(pg_url, a)
    before = identities(pg_url)
    engine = create_engine(server.parse(pg_url).url)
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE verifications ADD CONSTRAINT refused CHECK (method <> 'offload-readback')"
                              " NOT VALID"))
    finally:
        engine.dispose()
    with pytest.raises(MergeError, match=r"(?s)stopped: .*refused.*Nothing was merged"):
        merge(pg_url, b)
    assert identities(pg_url) == before
