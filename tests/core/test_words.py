"""One set of text helpers: the CLI, the window and the reports write sizes, speeds and times left alike."""

from __future__ import annotations

from datawrangler.core.words import human_bytes, human_eta, human_speed, plural
from datawrangler.reports import fmt


def test_sizes_are_decimal_with_one_decimal_above_bytes() -> None:
    assert [human_bytes(n) for n in (0, 999, 1000, 3_200_000_000, 1.5e15)] == [
        "0 B", "999 B", "1.0 KB", "3.2 GB", "1.5 PB"]
    assert human_bytes(None) == "–"
    assert fmt.size(3_200_000_000) == human_bytes(3_200_000_000) and fmt.size(None) == "—"


def test_speed_and_eta() -> None:
    assert human_speed(412_000_000) == "412.0 MB/s"
    assert human_speed(0) == human_speed(None) == "–"
    assert fmt.speed(824_000_000, 2.0) == "412.0 MB/s" and fmt.speed(0, 2.0) == "—"
    assert [human_eta(s) for s in (None, -3, 247, 3723)] == ["--:--", "00:00", "04:07", "1:02:03"]


def test_counts_agree_between_messages_and_reports() -> None:
    assert plural(2, "copy") == "2 copies" and fmt.plural(2, "copy") == "2 copies"
    assert plural(1204, "file") == "1204 files" and fmt.plural(1204, "file") == "1,204 files"
    assert fmt.plural(1, "card") == "1 card"
