"""How numbers, sizes, times and durations are written in reports (the same words in PDF, HTML, CSV)."""

from __future__ import annotations

import datetime as dt
import re

from datawrangler.core import words
from datawrangler.core.words import human_bytes, human_speed


def size(n: int | float | None) -> str:
    """Decimal units, as drive makers and file managers print them: 3.2 GB (core.words.human_bytes)."""
    return human_bytes(n, none="—")


def exact(n: int | None) -> str:
    """An exact count with thousands separators: 8,000,120."""
    return "—" if n is None else f"{n:,}"


def plural(n: int, word: str) -> str:
    """'1 card', '3 cards', '2 copies', '1,204 files' (core.words.plural, with thousands separators)."""
    return words.plural(n, word, grouped=True)


def when(ts: float | None, seconds: bool = True) -> str:
    """With seconds by default, and an em dash without a time, as the reports print them."""
    return words.when(ts, seconds=seconds, none="—")


def stamp(ts: float) -> str:
    """A generation time with its UTC offset: 2023-10-14 15:30 +02:00."""
    local = dt.datetime.fromtimestamp(ts).astimezone()
    off = local.strftime("%z")
    return local.strftime("%Y-%m-%d %H:%M ") + (f"{off[:3]}:{off[3:]}" if off else "")


def day(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d") if ts else "—"


def duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{s} s"
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d} min"


def speed(nbytes: int | None, seconds: float | None) -> str:
    if not nbytes or not seconds or seconds <= 0:
        return "—"
    return human_speed(nbytes / seconds, none="—")


def safe_name(text: str) -> str:
    """A file-name part made of [A-Za-z0-9._-] only (the names a production chooses, per Netflix)."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return out or "report"
