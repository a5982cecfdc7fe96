"""Text for people: sizes, durations, dates. Pure functions (no Qt), shared by every view."""

from __future__ import annotations

import datetime as dt


def human_bytes(n: float | None) -> str:
    if n is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def human_speed(bps: float | None) -> str:
    return "–" if not bps else f"{human_bytes(bps)}/s"


def human_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = max(0, int(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def when(ts: float | None, *, seconds: bool = False) -> str:
    if not ts:
        return "–"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def short_when(ts: float | None, now: float | None = None) -> str:
    """'14:02' today, 'Tue 14:02' this week, else the date."""
    if not ts:
        return "–"
    t = dt.datetime.fromtimestamp(ts)
    n = dt.datetime.fromtimestamp(now) if now else dt.datetime.now()
    if t.date() == n.date():
        return t.strftime("%H:%M")
    if (n - t).days < 6:
        return t.strftime("%a %H:%M")
    return t.strftime("%Y-%m-%d")
