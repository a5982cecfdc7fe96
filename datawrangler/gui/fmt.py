"""Dates as the window shows them. Pure functions (no Qt), shared by every view; sizes, speeds and times left
come from core.words."""

from __future__ import annotations

import datetime as dt

from datawrangler.core.words import when as when


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
