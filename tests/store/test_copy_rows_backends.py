"""Catalog.copy_rows on both backends: every row arrives once, in order, with its values as given, whatever
the count (none, a statement's worth, one more, several statements and a rest), inside the caller's
transaction."""

from __future__ import annotations

import pytest

from datawrangler.store.catalog import Catalog
from datawrangler.store.recorder_batch import STAGE

COLUMNS = ("seq", "rel_path", "destination_id", "state", "digests", "code", "message", "already_present",
           "attempts", "verified_at", "cache_bypassed")


def _rows(n: int) -> list[tuple]:
    return [(i, f"A001C{i:03d}/A001C{i:03d}.{i:07d}.ari", i % 3 + 1, "verified" if i % 5 else "failed",
             '{"xxh64": "%016x"}' % (i * 7919) if i % 7 else None, None if i % 5 else "E_READ",
             "" if i % 5 else "it's a 'quoted' message", i % 2, i % 4 + 1, 1.7e9 + i / 8, None if i % 6 else 1)
            for i in range(n)]


@pytest.mark.parametrize("n", [0, 1, 90, 91, 1000])
def test_every_row_arrives_once_with_its_values(catalog_db: Catalog, n: int) -> None:
    rows = _rows(n)
    with catalog_db.atomic():
        catalog_db.run(STAGE[1])
        catalog_db.copy_rows("dw_rec_copies", COLUMNS, iter(rows))  # any iterable, read once
        got = [tuple(r) for r in catalog_db.run(f"SELECT {', '.join(COLUMNS)} FROM dw_rec_copies ORDER BY seq")]
        catalog_db.run("DELETE FROM dw_rec_copies")
    assert got == rows


def test_rows_are_part_of_the_callers_transaction(catalog_db: Catalog) -> None:
    catalog_db.run(STAGE[1])

    class Stop(Exception):
        pass

    with pytest.raises(Stop), catalog_db.atomic():
        catalog_db.copy_rows("dw_rec_copies", COLUMNS, _rows(300))
        assert catalog_db.value("SELECT COUNT(*) FROM dw_rec_copies") == 300
        raise Stop
    assert catalog_db.value("SELECT COUNT(*) FROM dw_rec_copies") == 0
