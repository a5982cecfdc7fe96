"""Text for people, the same in every layer (store, CLI, window, handoff, reports): counts in messages ("1 file
has", "3 files have"), sizes, speeds, times left and dates."""

from __future__ import annotations

import datetime as dt


def plural(n: int, word: str, many: str | None = None, *, grouped: bool = False) -> str:
    """'1 file', '3 files', '0 files', '2 copies', '2 mismatches'; `many` for a word the rules get wrong.
    The rules look at the last word only: plural(2, 'verified copy') -> '2 verified copies'. `grouped`
    writes thousands separators ('1,204 files'), as the reports do."""
    count = f"{n:,}" if grouped else str(n)
    if n == 1:
        return f"{count} {word}"
    if many is None:
        low = word.lower()
        if low.endswith("y") and low[-2:-1] not in ("", "a", "e", "i", "o", "u"):
            many = word[:-1] + "ies"
        elif low.endswith(("s", "x", "ch", "sh")):
            many = word + "es"
        else:
            many = word + "s"
        if word.isupper():
            many = many.upper()
    return f"{count} {many}"


def agree(n: int, one: str, many: str) -> str:
    """The verb (or any word) that goes with a count: agree(1, 'has', 'have') -> 'has'."""
    return one if n == 1 else many


def human_bytes(n: float | None, none: str = "–") -> str:
    """Decimal units, as drive makers and file managers print them: '512 B', '3.2 GB'; `none` for no value."""
    if n is None:
        return none
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} PB"


def human_speed(bytes_per_second: float | None, none: str = "–") -> str:
    """'412.0 MB/s'; `none` while there is no speed yet (None or 0)."""
    return none if not bytes_per_second else f"{human_bytes(bytes_per_second)}/s"


def human_eta(seconds: float | None) -> str:
    """Time left as a clock: '04:07', '1:02:03'; '--:--' when unknown."""
    if seconds is None:
        return "--:--"
    s = max(0, int(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def when(ts: float | None, *, seconds: bool = False, none: str = "–") -> str:
    """A local date and time: '2023-10-14 15:30' (with seconds: '2023-10-14 15:30:07'); `none` without one."""
    if not ts:
        return none
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
