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
