"""The shooting day and the location are recorded with the offload (CLI flags, the window's preset), so a
report made later prints them without being told; the report's own flags still win."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from datawrangler.app.offload import run_offload
from datawrangler.app.request import OffloadRequest
from datawrangler.cli import report_cmd
from datawrangler.config import Settings, app_paths
from datawrangler.core.events import OffloadControl
from tests.conftest import CardBuilder
from tests.store.conftest import RunCli


def _stored(offload_id: int) -> tuple[int | None, str | None]:
    con = sqlite3.connect(app_paths().catalog_file)
    try:
        return con.execute("SELECT shooting_day, location FROM offloads WHERE id = ?", (offload_id,)).fetchone()
    finally:
        con.close()


def _report(*argv: str) -> int:
    """`datawrangler report …` as the CLI runs it (parser -> args.func)."""
    parser = argparse.ArgumentParser(prog="datawrangler")
    parser.add_argument("--catalog")
    report_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["--catalog", str(app_paths().catalog_file), "report", *argv])
    return int(args.func(args))


def _summary(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8", newline="") as f:
        return {r["field"]: r["value"] for r in csv.DictReader(f)}


def test_cli_day_and_location_reach_the_catalog_and_the_report(dw: RunCli, make_card: CardBuilder,
                                                               tmp_path: Path) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    code, events = dw("offload", str(card), str(tmp_path / "d1"), "--day", "15", "--location", "Stage 4")
    assert code == 0
    oid = events[0]["offload_id"]
    assert _stored(oid) == (15, "Stage 4")

    out = tmp_path / "out"
    out.mkdir()
    assert _report("offload", str(oid), "--html", str(out / "o.html"), "--csv", str(out / "o.csv")) == 0
    page = (out / "o.html").read_text(encoding="utf-8")
    assert "Day 15" in page and "Stage 4" in page
    summary = _summary(out / "o.summary.csv")
    assert (summary["shooting_day"], summary["location"]) == ("Day 15", "Stage 4")

    today = dt.date.today().isoformat()  # the day report of that date shows them too
    assert _report("day", today, "--html", str(out / "day.html")) == 0
    page = (out / "day.html").read_text(encoding="utf-8")
    assert "Day 15" in page and "Stage 4" in page

    # the report's flags win over what was recorded
    assert _report("offload", str(oid), "--csv", str(out / "f.csv"), "--shooting-day", "Day 16",
                   "--location", "Backlot") == 0
    summary = _summary(out / "f.summary.csv")
    assert (summary["shooting_day"], summary["location"]) == ("Day 16", "Backlot")


def test_an_offload_without_them_records_null_and_the_report_leaves_them_out(dw: RunCli, make_card: CardBuilder,
                                                                            tmp_path: Path) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    code, events = dw("offload", str(card), str(tmp_path / "d1"))
    assert code == 0
    oid = events[0]["offload_id"]
    assert _stored(oid) == (None, None)
    assert _report("offload", str(oid), "--csv", str(tmp_path / "o.csv")) == 0
    summary = _summary(tmp_path / "o.summary.csv")
    assert (summary["shooting_day"], summary["location"]) == ("", "")


def test_a_negative_day_is_refused_before_anything_is_recorded(dw: RunCli, make_card: CardBuilder, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    card = make_card()
    (tmp_path / "d1").mkdir()
    with pytest.raises(SystemExit) as exc:  # argparse: a usage error
        dw("offload", str(card), str(tmp_path / "d1"), "--day", "-3")
    assert exc.value.code == 2
    assert "the shooting day is a number, 0 or more" in capsys.readouterr().err
    assert not app_paths().catalog_file.exists()


def test_a_window_offload_records_the_presets_day(make_card: CardBuilder, dest_dirs: object,
                                                  tmp_path: Path) -> None:
    card = make_card()
    dests = dest_dirs(2)  # type: ignore[operator]
    req = OffloadRequest(str(card), tuple(map(str, dests)), roll=card.name, settings=Settings(),
                              copies_required=1, shooting_day=3)
    out = run_offload(req, OffloadControl())
    assert out.result.files_verified == 4
    assert _stored(out.offload_id) == (3, None)
