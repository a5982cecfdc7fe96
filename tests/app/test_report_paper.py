"""The report filed after each offload is printed on the paper the settings name (A4 or Letter), and a wrong
value is named when the settings are read."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader

from datawrangler import cli
from datawrangler.config import Settings, SettingsError, save_settings
from tests.conftest import CardBuilder


@pytest.mark.parametrize(("paper", "size"), [("a4", (595, 842)), ("letter", (612, 792))])
def test_the_filed_report_uses_the_settings_paper(paper: str, size: tuple[int, int], make_card: CardBuilder,
                                                  dest_dirs: Callable[[int], list[Path]],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    save_settings(Settings(report_paper=paper))
    assert cli.main(["offload", str(make_card()), *map(str, dest_dirs(2)), "--json", "-q", "--no-clips"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    pdf = next(p for e in events if e["event"] == "report" for p in e["paths"] if p.endswith(".pdf"))
    box = PdfReader(pdf).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == size


def test_a_paper_that_is_not_a4_or_letter_is_named() -> None:
    with pytest.raises(SettingsError, match="'report_paper' must be a4 or letter"):
        Settings(report_paper="a3")


def test_stage_two_files_both_reports_on_the_settings_paper(make_card: CardBuilder,
                                                           dest_dirs: Callable[[int], list[Path]],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A cascading copy files stage 2's report and files stage 1's again when stage 2 ends: both on Letter
    when the settings say Letter (they used to be A4 whatever the settings said)."""
    save_settings(Settings(report_paper="letter"))
    raid, shuttle = dest_dirs(2)
    assert cli.main(["offload", str(make_card()), str(raid), "--stage2", str(shuttle), "--json",
                     "-q", "--no-clips"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    pdfs = [p for e in events if e["event"] == "report" for p in e["paths"] if p.endswith(".pdf")]
    assert len(pdfs) >= 3, pdfs  # stage 1 at the release, stage 2, stage 1 again with stage 2 in it
    for pdf in pdfs:
        box = PdfReader(pdf).pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (612, 792), pdf
