"""A DIT's commands with the catalog on a PostgreSQL server (DATAWRANGLER_CATALOG or --catalog): the same
offload, status, history, verify, reports, handoff files, drives and export as on the embedded file, every row
on the server; what only a file has (backups, restore) refused with what to do instead. And the server going
away in the middle of an offload: the copy goes on, its results wait in this station's spool, the card is not
called safe, and once the server is back `catalog deliver` brings every result and writes the handoff files.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from datawrangler.app.offload import run_offload
from datawrangler.app.outcome import Observer
from datawrangler.app.request import OffloadRequest
from datawrangler.app.spooled import spool_folder
from datawrangler.config import CATALOG_ENV
from datawrangler.core.events import FileResult, OffloadState
from datawrangler.store.location import open_location
from tests.cli.conftest import RunCli
from tests.pg import PgCluster


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture
def server(pg_cluster: PgCluster, monkeypatch: pytest.MonkeyPatch) -> str:
    """This station's catalog: a new one on the session's server, named by DATAWRANGLER_CATALOG."""
    url = pg_cluster.url(pg_cluster.catalog_database())
    monkeypatch.setenv(CATALOG_ENV, url)
    return url


def test_a_dit_day_on_a_server_catalog(dw: RunCli, make_card: Any, tmp_path: Path, server: str,
                                       raid_and_shuttle: tuple[Path, Path]) -> None:
    card = make_card()
    raid, shuttle = raid_and_shuttle
    run = dw("offload", card, shuttle, raid, "--roll", "A001R2EC")
    assert run.code == 0, run.stderr
    done = run.of("done")[-1]
    assert done["state"] == "verified" and done["safe_to_format"] is True
    assert _count(server, "SELECT COUNT(*) FROM copies WHERE state = 'verified'") == 2 * done["files_total"]
    assert not (Path(os.environ["DATAWRANGLER_HOME"]) / "data" / "catalog.sqlite").exists()  # nothing in a file

    status = dw("status", card)
    assert status.code == 0 and status.of("status")[0]["safe_to_format"] is True
    history = dw("history")
    assert [o["id"] for o in history.of("history")[0]["offloads"]] == [done["offload_id"]]

    roll = shuttle / "A001R2EC"
    assert (roll / "ascmhl").is_dir()  # the handoff files, written from the server's rows
    verify = dw("verify", roll)
    assert verify.code == 0 and verify.of("done")[0]["verified"] == done["files_total"]

    victim = next(p for p in roll.rglob("*.mov") if p.stat().st_size > 0)
    with open(victim, "r+b") as f:  # one byte changed on the shuttle drive
        first = f.read(1)
        f.seek(0)
        f.write(bytes([first[0] ^ 0xFF]))
    verify = dw("verify", roll)
    assert verify.code != 0 and verify.of("done")[0]["changed"]
    status = dw("status", card)  # the bad copy no longer counts: one drive left
    assert status.code == 1 and status.of("status")[0]["safe_to_format"] is False

    report = dw("report", "offload", str(done["offload_id"]), "--pdf", tmp_path / "offload.pdf")
    assert report.code == 0, report.stderr
    assert (tmp_path / "offload.pdf").read_bytes().startswith(b"%PDF")

    kind = dw("drive", "kind", raid, "raid")
    assert kind.code == 0, kind.stderr
    assert _count(server, "SELECT COUNT(*) FROM volumes WHERE media_kind = 'raid'") == 1

    exported = tmp_path / "for-post.sqlite"
    assert dw("catalog", "export", exported).code == 0
    db = open_location(exported)
    try:
        assert db.value("SELECT COUNT(*) FROM offloads") == 1
    finally:
        db.close()

    refused = dw("catalog", "backups")
    assert refused.code != 0
    assert "server" in refused.stderr + refused.raw and "catalog export" in refused.stderr + refused.raw


def test_the_server_going_away_mid_offload_loses_nothing(own_pg_cluster: PgCluster, make_card: Any,
                                                          tmp_path: Path, dw: RunCli,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    url = own_pg_cluster.url(own_pg_cluster.catalog_database())
    monkeypatch.setenv(CATALOG_ENV, url)
    card = make_card({f"CLIP/A001C{i:04d}.mov": 4096 + i for i in range(3000)})
    dests = [tmp_path / "d1", tmp_path / "d2"]
    for d in dests:
        d.mkdir()
    seen = 0
    paused = threading.Event()

    def on_file(_: FileResult) -> None:  # the server dies a third of the way through the copy
        nonlocal seen
        seen += 1
        if seen == 1000:
            own_pg_cluster.pause()
            paused.set()

    req = OffloadRequest(str(card), tuple(str(d) for d in dests), roll="A001R2EC", report=False, clips=None)
    outcome = run_offload(req, observer=Observer(file=on_file))
    assert paused.is_set()
    assert outcome.result.state is OffloadState.VERIFIED  # the copies are what the engine made
    assert outcome.result.files_verified == 3000
    assert not outcome.safe and "not called safe to format" in " ".join(outcome.verdict.reasons)
    spools = list(spool_folder().glob("*.sqlite"))
    assert len(spools) == 1

    own_pg_cluster.resume()
    delivered = dw("catalog", "deliver")
    assert delivered.code == 0, delivered.stderr
    assert delivered.of("delivered")[0]["offload_id"] == outcome.offload_id
    assert not list(spool_folder().glob("*.sqlite"))
    assert _count(url, "SELECT COUNT(*) FROM files WHERE status = 'verified'") == 3000
    assert _count(url, "SELECT COUNT(*) FROM copies WHERE state = 'verified'") == 6000
    assert _count(url, "SELECT COUNT(*) FROM verifications") == 6000  # each copy's read-back recorded once
    assert _count(url, f"SELECT COUNT(*) FROM offloads WHERE id = {outcome.offload_id} AND state = 'verified'") == 1
    for d in dests:
        assert (d / "A001R2EC" / "ascmhl").is_dir()  # the handoff files, written at delivery
    again = dw("catalog", "deliver")
    assert again.code == 0 and not again.of("delivered")
