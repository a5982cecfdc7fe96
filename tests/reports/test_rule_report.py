"""The redundancy report by a studio's rule: the rule in words, per card the weakest file's judgement, per
drive its media kind and the stations (and sites) that made its copies. Real offloads on tmpfs drives (root),
the PDF rendered by the command line and read back."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from datawrangler.config import Settings, save_settings
from tests.conftest import CardBuilder
from tests.reports.conftest import pdf_pages
from tests.store.conftest import RunCli, dw

__all__ = ["dw"]

pytestmark = pytest.mark.root

NEEDS = "2 copies, 1 media kind, 1 site: needs a copy on another media kind at another site"


@pytest.fixture
def two_drives(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount two tmpfs drives (distinct physical volumes)")
    from tests.faultfs import KernelMount, mount_tmpfs

    mounts: list[KernelMount] = [mount_tmpfs(tmp_path / n, 64 << 20) for n in ("raid", "shuttle")]
    try:
        yield tmp_path / "raid", tmp_path / "shuttle"
    finally:
        for m in mounts:
            m.cleanup()


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_redundancy_pdf_says_the_rule_the_judgement_and_who_made_each_copy(
        dw: RunCli, make_card: CardBuilder, two_drives: tuple[Path, Path], tmp_path: Path) -> None:
    raid, shuttle = two_drives
    save_settings(Settings(station="cart-a", site="Stage 4"))
    assert dw("offload", str(make_card()), str(raid), str(shuttle), "--no-clips")[0] == 0
    assert dw("drive", "kind", str(raid), "raid")[0] == 0
    pdf = tmp_path / "rule.pdf"
    code, _ = dw("report", "redundancy", "--rule", "3-2-1", "--pdf", str(pdf))
    assert code == 0 and pdf.exists()
    text = _flat("\n".join(pdf_pages(pdf)))
    assert ("rule: 3-2-1 — 3 verified copies on distinct drives, on at least 2 kinds of media, at least one in "
            "another place") in text
    assert "✗ 1 OF 1 CARD SHORT OF THE RULE" in text
    assert NEEDS in text
    assert "RAID · copies made by cart-a at Stage 4" in text
    assert "Media kind not said · copies made by cart-a at Stage 4" in text
    assert "never counts as another kind or place" in text

    csv = tmp_path / "rule.csv"  # the same facts for a spreadsheet: the main table and the drives beside it
    assert dw("report", "redundancy", "--rule", "3-2-1", "--csv", str(csv))[0] == 0
    import csv as csvlib

    with open(csv, newline="") as f:
        [card] = list(csvlib.DictReader(f))
    assert (card["rule"], card["judgement"], card["safe_to_format"]) == ("3-2-1", NEEDS, "no")
    [drives] = [p for p in tmp_path.glob("rule*.csv") if p != csv and "drive" in p.name]
    with open(drives, newline="") as f:
        kinds = {(row["media_kind"], row["made_by"]) for row in csvlib.DictReader(f)}
    assert kinds == {("RAID", "cart-a at Stage 4"), ("", "cart-a at Stage 4")}

    plain = tmp_path / "plain.pdf"  # the N-copies rule: safe, and the page says it as before
    assert dw("report", "redundancy", "--pdf", str(plain))[0] == 0
    text = _flat("\n".join(pdf_pages(plain)))
    assert "rule: 2 verified copies on distinct physical drives" in text and "1 CARD · 2+ COPIES EACH" in text
    assert "2 copies: meets the rule 2" in text


def test_a_wrong_rule_for_the_report_names_the_choices(dw: RunCli) -> None:
    code, events = dw("report", "redundancy", "--rule", "lots")
    assert code == 2 and "'3-2-1'" in events[-1]["message"] and "--rule" in events[-1]["message"]
