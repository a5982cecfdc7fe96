"""The catalog handle (store.catalog.Catalog) on both backends: one statement text, named parameters, ids from
RETURNING, batches, and transactions that roll back whole, savepoints included."""

from __future__ import annotations

import pytest

from datawrangler.store.catalog import Catalog, in_list


def _event(db: Catalog, at: float, kind: str) -> int:
    return db.new_id("INSERT INTO events (at, kind, message) VALUES (:at, :kind, :message) RETURNING id",
                     {"at": at, "kind": kind, "message": None})


def test_one_text_runs_on_both_backends(catalog_db: Catalog) -> None:
    with catalog_db.atomic():
        first = _event(catalog_db, 1.0, "a")
        catalog_db.run_many("INSERT INTO events (at, kind) VALUES (:at, :kind)",
                            ({"at": float(n), "kind": "b"} for n in range(2500)))
    assert _event(catalog_db, 2.0, "c") > first
    assert catalog_db.value("SELECT COUNT(*) FROM events WHERE kind = :k", {"k": "b"}) == 2500
    # a sum of bigints is a numeric on PostgreSQL: CAST keeps it an int on both
    total = catalog_db.value("SELECT CAST(SUM(at) AS BIGINT) FROM events WHERE kind = 'b'")
    assert total == sum(range(2500)) and isinstance(total, int)
    marks, params = in_list("k", ["a", "c"])
    assert sorted(r[0] for r in catalog_db.run(f"SELECT kind FROM events WHERE kind IN {marks}", params)) == ["a", "c"]
    assert catalog_db.value(f"SELECT COUNT(*) FROM events WHERE kind IN {in_list('k', [])[0]}") == 0
    assert catalog_db.row("SELECT id FROM events WHERE kind = 'none'") is None
    assert catalog_db.has_table("offloads") and not catalog_db.has_table("no_such_table")


def test_a_failed_transaction_leaves_nothing_and_a_failed_savepoint_only_its_own(catalog_db: Catalog) -> None:
    with pytest.raises(RuntimeError), catalog_db.atomic():
        _event(catalog_db, 1.0, "lost")
        raise RuntimeError("stop")
    assert not catalog_db.in_transaction
    with catalog_db.atomic():
        _event(catalog_db, 1.0, "kept")
        with pytest.raises(RuntimeError), catalog_db.atomic():
            _event(catalog_db, 2.0, "inner")
            raise RuntimeError("stop")
        assert catalog_db.in_transaction
    kinds = [r[0] for r in catalog_db.run("SELECT kind FROM events ORDER BY id")]
    assert kinds == ["kept"]


def test_the_location_is_shown_without_a_password(catalog_db: Catalog, catalog_location: str) -> None:
    shown = catalog_db.shown()
    if catalog_db.is_server:
        assert shown.startswith("postgresql://dw_test@") and ":" not in shown.split("@")[0].split("//")[1]
    else:
        assert shown == catalog_location


def test_a_streamed_read_gives_every_row_and_a_write_inside_it_commits(catalog_db: Catalog) -> None:
    with catalog_db.atomic():
        catalog_db.run_many("INSERT INTO events (at, kind) VALUES (:at, 'n')", ({"at": float(i)} for i in range(2500)))
    seen = 0
    for (at,) in catalog_db.run_stream("SELECT at FROM events WHERE kind = 'n' ORDER BY at"):
        assert at == float(seen)
        seen += 1
        if seen == 1200:  # a write in the middle of the read (the server's cursor lives in a transaction)
            with catalog_db.atomic():
                _event(catalog_db, 9.0, "inside")
    assert seen == 2500 and not catalog_db.in_transaction
    assert catalog_db.value("SELECT COUNT(*) FROM events WHERE kind = 'inside'") == 1
