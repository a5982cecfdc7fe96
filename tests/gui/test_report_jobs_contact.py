"""The window's Reports tab builds contact sheets too: of the card of the offload chosen in History, and of a
day; from the catalog, with the clips' thumbnails."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from datawrangler import cli
from datawrangler.config import app_paths
from datawrangler.gui import report_jobs
from tests.app.test_clips_offload import _card


def test_contact_sheets_of_the_offloads_card_and_of_the_day(tmp_path: Path, dest_dirs: Callable[[int], list[Path]],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["offload", str(_card(tmp_path / "card")), *map(str, dest_dirs(2)), "-q"]) == 0
    catalog = app_paths().catalog_file
    card = report_jobs.build(catalog, report_jobs.ReportRequest("contact_card", offload_id=1))
    assert "A001C001_231014_R2EC" in card.html and "frames 86411, 86500-86502 missing" in card.html
    assert card.stem.startswith("contact_A001")
    pdf = tmp_path / "sheet.pdf"
    assert report_jobs.save(card, pdf=pdf) == [str(pdf)] and pdf.stat().st_size > 10_000
    today = dt.date.today().isoformat()
    day = report_jobs.build(catalog, report_jobs.ReportRequest("contact_day", day=today))
    assert "T003" in day.html
    with pytest.raises(ValueError, match="select it in History"):
        report_jobs.build(catalog, report_jobs.ReportRequest("contact_card"))
    with pytest.raises(LookupError, match="No card was offloaded on 2001-01-01"):
        report_jobs.build(catalog, report_jobs.ReportRequest("contact_day", day="2001-01-01"))
