"""Several stations, one catalog on a PostgreSQL server (issue 15): real `datawrangler` processes, each with a
home of its own (DATAWRANGLER_HOME: its own settings, station name, card holds), all pointed at one throwaway
server by DATAWRANGLER_CATALOG.

- Two stations offloading different cards at the same moment into the one catalog: both verified, every file
  and copy recorded once, no row lost or doubled, the drive both wrote to recorded once.
- Safe to format counts verified copies on distinct drives whoever made them: the A cart's copy alone is one
  drive (not safe); once the lab has copied the same card to its RAID, both stations' `status` say SAFE TO
  FORMAT and name the station that made each copy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.pg import PgCluster

REPO = Path(__file__).resolve().parents[2]


def _station(tmp_path: Path, name: str, catalog: str) -> dict[str, str]:
    """The environment of a station: a home of its own whose settings name it, the shared catalog."""
    home = tmp_path / f"home-{name}"
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.json").write_text(json.dumps({"station": name}))
    return {**os.environ, "PYTHONPATH": str(REPO), "DATAWRANGLER_HOME": str(home),
            "DATAWRANGLER_CATALOG": catalog}


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "datawrangler", *args, "--json"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _end(proc: subprocess.Popen[str]) -> tuple[int, list[dict[str, Any]]]:
    out, err = proc.communicate(timeout=300)
    events = [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]
    assert events, f"no JSON from the station (exit {proc.returncode}): {err[-3000:]}"
    return proc.returncode, events


def _last(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [e for e in events if e.get("event") == kind]
    assert found, f"no {kind!r} event in {[e.get('event') for e in events]}"
    return found[-1]


@pytest.fixture
def server_catalog(pg_cluster: PgCluster) -> str:
    return pg_cluster.url(pg_cluster.catalog_database())


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return int(row[0])


def test_two_stations_offloading_at_once_lose_and_double_nothing(tmp_path: Path, make_card: Any,
                                                                server_catalog: str) -> None:
    many = {f"CLIP/A001C{i:03d}.mov": 2000 + i for i in range(400)}
    card_a = make_card(many, name="A001R1AA", root=tmp_path / "a-cards")
    card_b = make_card({k.replace("A001", "B002"): v + 7 for k, v in many.items()}, name="B002R1BB",
                       root=tmp_path / "b-cards")
    drive = tmp_path / "shared-drive"  # one drive both stations write to
    (drive / "a").mkdir(parents=True)
    (drive / "b").mkdir(parents=True)
    a = _start(_station(tmp_path, "A-cart", server_catalog), "offload", str(card_a), str(drive / "a"),
               "--rule", "1")
    b = _start(_station(tmp_path, "B-cart", server_catalog), "offload", str(card_b), str(drive / "b"),
               "--rule", "1")
    (code_a, events_a), (code_b, events_b) = _end(a), _end(b)
    assert (code_a, code_b) == (0, 0), (events_a[-3:], events_b[-3:])
    for events in (events_a, events_b):
        assert _last(events, "done")["state"] == "verified"
    assert _count(server_catalog, "SELECT COUNT(*) FROM offloads") == 2
    assert _count(server_catalog, "SELECT COUNT(DISTINCT station) FROM offloads") == 2
    assert _count(server_catalog, "SELECT COUNT(*) FROM files WHERE status = 'verified'") == 800
    assert _count(server_catalog, "SELECT COUNT(*) FROM copies WHERE state = 'verified'") == 800
    assert _count(server_catalog, "SELECT COUNT(*) FROM (SELECT file_id FROM copies GROUP BY file_id "
                                  "HAVING COUNT(*) > 1) AS doubled") == 0
    # the cards and the drive are folders of one filesystem here: both stations recorded it, one row
    assert _count(server_catalog, "SELECT COUNT(*) FROM volumes") == 1


def test_safe_to_format_counts_the_copies_other_stations_made(tmp_path: Path, make_card: Any,
                                                              server_catalog: str,
                                                              raid_and_shuttle: tuple[Path, Path]) -> None:
    card = make_card()
    cart, lab = _station(tmp_path, "A-cart", server_catalog), _station(tmp_path, "Lab", server_catalog)
    raid, shuttle = raid_and_shuttle
    code, events = _end(_start(cart, "offload", str(card), str(shuttle), "--rule", "1"))
    assert code == 0 and _last(events, "done")["state"] == "verified"

    code, events = _end(_start(cart, "status", str(card)))
    status = _last(events, "status")
    assert (code, status["safe_to_format"], status["min_copies"]) == (1, False, 1)

    code, events = _end(_start(lab, "offload", str(card), str(raid), "--rule", "1"))
    assert code == 0 and _last(events, "done")["state"] == "verified"

    for station in (cart, lab):  # either station sees both copies: the catalog is one
        code, events = _end(_start(station, "status", str(card)))
        status = _last(events, "status")
        assert (code, status["safe_to_format"], status["min_copies"]) == (0, True, 2), status["reasons"]
    code, events = _end(_start(lab, "status", str(card)))
    assert code == 0
    text = subprocess.run([sys.executable, "-m", "datawrangler", "status", str(card)], cwd=REPO, env=lab,
                          capture_output=True, text=True, timeout=120).stdout
    assert "by A-cart" in text and "by Lab" in text and "SAFE TO FORMAT" in text
