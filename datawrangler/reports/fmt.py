"""How numbers, sizes, times and durations are written in reports (the same words in PDF, HTML, CSV)."""

from __future__ import annotations

import datetime as dt
import re


def size(n: int | float | None) -> str:
    """Decimal units, as drive makers and file managers print them: 3.2 GB."""
    if n is None:
        return "—"
    value, units = float(n), ("B", "KB", "MB", "GB", "TB", "PB")
    i = 0
    while abs(value) >= 1000 and i < len(units) - 1:
        value /= 1000
        i += 1
    unit = units[i]
    return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"


def exact(n: int | None) -> str:
    """An exact count with thousands separators: 8,000,120."""
    return "—" if n is None else f"{n:,}"


def plural(n: int, word: str) -> str:
    """'1 card', '3 cards', '1,204 files' (an upper-case word gets an upper-case S)."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}{'S' if word.isupper() else 's'}"


def when(ts: float | None, seconds: bool = True) -> str:
    if not ts:
        return "—"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


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
    return f"{size(nbytes / seconds)}/s"


def safe_name(text: str) -> str:
    """A file-name part made of [A-Za-z0-9._-] only (the names a production chooses, per Netflix)."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return out or "report"
