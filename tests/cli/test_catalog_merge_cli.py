"""`datawrangler catalog merge` and `catalog export` as a DIT runs them: two stations' catalogs made by real
offloads, merged, merged again, a disagreement, a file that is no catalog, and an export for post."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler import cli
from tests.conftest import CardBuilder

Run = Callable[..., tuple[int, list[dict]]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def go(*argv: str) -> tuple[int, list[dict]]:
        code = cli.main([*argv, "--json"])
        out = capsys.readouterr().out
        return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return go


def _offload(card: Path, dest: Path, catalog: Path) -> None:
    assert cli.main(["--catalog", str(catalog), "offload", str(card), str(dest), "-q", "--no-clips"]) in (0, 1)


@pytest.fixture
def stations(make_card: CardBuilder, dest_dirs: Callable[[int], list[Path]], tmp_path: Path) -> tuple[Path, Path]:
    """The A cart's catalog and the lab's: one card, offloaded once at each station to a drive of its own."""
    card = make_card()
    cart, lab = dest_dirs(2)
    a, b = tmp_path / "a.sqlite", tmp_path / "lab.sqlite"
    _offload(card, cart, a)
    _offload(card, lab, b)
    return a, b


def _count(catalog: Path, table: str) -> int:
    with sqlite3.connect(catalog) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_merge_adds_the_other_stations_offload_once(run: Run, stations: tuple[Path, Path]) -> None:
    a, b = stations
    code, events = run("catalog", "merge", "--catalog", str(a), str(b))
    assert code == 0
    [merged] = [e for e in events if e["event"] == "merged"]
    assert merged["added"]["offloads"] == 1 and merged["added"]["files"] == merged["added"]["copies"] > 0
    assert merged["conflicts"] == [] and merged["stations"]
    assert _count(a, "offloads") == 2
    code, events = run("catalog", "merge", "--catalog", str(a), str(b))
    [again] = [e for e in events if e["event"] == "merged"]
    assert code == 0 and not any(again["added"].values())
    assert _count(a, "offloads") == 2 and _count(a, "copies") == _count(b, "copies") * 2


def test_status_after_a_merge_lists_the_other_stations_copy(run: Run, stations: tuple[Path, Path],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    a, b = stations
    assert run("catalog", "merge", "--catalog", str(a), str(b))[0] == 0
    cli.main(["--catalog", str(a), "status", "A001"])
    out = capsys.readouterr().out
    assert "drive1" in out and "drive2" in out, out


def test_records_that_disagree_are_listed_and_exit_one(run: Run, stations: tuple[Path, Path]) -> None:
    a, b = stations
    assert run("catalog", "merge", "--catalog", str(a), str(b))[0] == 0
    with sqlite3.connect(b) as conn:  # the lab renamed the card's reel after the first merge
        conn.execute("UPDATE cards SET reel = 'B777'")
    before = _count(a, "offloads")
    code, events = run("catalog", "merge", "--catalog", str(a), str(b))
    [merged] = [e for e in events if e["event"] == "merged"]
    assert code == 1, events
    assert merged["conflicts"] and "B777" in merged["conflicts"][0]["sentence"]
    assert _count(a, "offloads") == before
    with sqlite3.connect(a) as conn:
        assert {r[0] for r in conn.execute("SELECT reel FROM cards")} == {"A001"}  # ours was kept


def test_a_file_that_is_no_catalog_is_refused_and_changes_nothing(run: Run, stations: tuple[Path, Path],
                                                                   tmp_path: Path) -> None:
    a, _ = stations
    junk = tmp_path / "notes.sqlite"
    junk.write_bytes(b"not a catalog at all" * 100)
    before = a.read_bytes()
    code, events = run("catalog", "merge", "--catalog", str(a), str(junk))
    assert code == 2
    [error] = [e for e in events if e["event"] == "error"]
    assert error["code"] == "merge_failed" and "not changed" in error["message"]
    assert _count(a, "offloads") == 1 and a.read_bytes() == before


def test_export_writes_one_catalog_that_opens_with_every_offload(run: Run, stations: tuple[Path, Path],
                                                                 tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    a, b = stations
    run("catalog", "merge", "--catalog", str(a), str(b))
    out = tmp_path / "for-post.sqlite"
    code, events = run("catalog", "export", "--catalog", str(a), str(out))
    assert code == 0 and [e["added"]["offloads"] for e in events if e["event"] == "exported"] == [2]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("for-post", ".for-post"))) == [
        "for-post.sqlite"]  # one file: no -wal, no work folder left
    code, events = run("--catalog", str(out), "history")
    assert code == 0 and len(next(e for e in events if e["event"] == "history")["offloads"]) == 2
    code, events = run("catalog", "export", "--catalog", str(a), str(out))  # never over an existing file
    assert code == 2 and "already exists" in next(e for e in events if e["event"] == "error")["message"]


def test_a_lab_server_checked_created_and_fed_from_two_stations(run: Run, stations: tuple[Path, Path],
                                                                pg_url: str) -> None:
    """The lab's PostgreSQL catalog: `catalog check` says the database holds no catalog yet, `--create`
    makes it, and each station's catalog merged into it makes one catalog with both offloads."""
    a, b = stations
    code, events = run("catalog", "check", pg_url)
    [check] = [e for e in events if e["event"] == "catalog_check"]
    assert code == 2 and check["status"] == "schema missing" and check["can_create"], check
    code, events = run("catalog", "check", pg_url, "--create")
    assert code == 0 and [e["status"] for e in events if e["event"] == "catalog_check"] == ["ok"]
    assert "@" in pg_url and ":" in pg_url.split("@")[0][len("postgresql://"):]  # a password to hide
    assert all(pg_url.split("@")[0].split(":")[-1] not in e["message"] for e in events if "message" in e)
    for station in (a, b):
        code, events = run("catalog", "merge", "--catalog", pg_url, str(station))
        assert code == 0, events
    code, events = run("catalog", "merge", "--catalog", pg_url, str(a))
    assert code == 0 and not any(next(e for e in events if e["event"] == "merged")["added"].values())
    out = b.parent / "lab-export.sqlite"
    code, events = run("catalog", "export", "--catalog", pg_url, str(out))
    assert code == 0 and next(e for e in events if e["event"] == "exported")["added"]["offloads"] == 2


def test_check_says_what_is_wrong_with_a_server_nobody_answers_at(run: Run) -> None:
    code, events = run("catalog", "check", "postgresql://dit@127.0.0.1:1/catalog")
    [check] = [e for e in events if e["event"] == "catalog_check"]
    assert code == 2 and check["status"] == "host unreachable" and not check["ok"]
    assert "127.0.0.1" in check["message"]


def test_a_merge_waits_for_an_offload_running_on_this_catalog(run: Run, stations: tuple[Path, Path]) -> None:
    """A merge holds the catalog file's write lock for its whole run: with an offload running here (its
    process alive: this test's own), it is refused, naming that offload, and nothing is added."""
    import os
    import socket

    from datawrangler.store import liveness

    a, b = stations
    with sqlite3.connect(a) as conn:
        conn.execute("UPDATE offloads SET state = 'running', host = ?, pid = ?, start_token = ?",
                     (socket.gethostname(), os.getpid(), liveness.start_token(os.getpid())))
    code, events = run("catalog", "merge", "--catalog", str(a), str(b))
    [error] = [e for e in events if e["event"] == "error"]
    assert code == 2 and "offload 1" in error["message"] and "Merge once it has ended" in error["message"]
    assert _count(a, "offloads") == 1
