"""What the three report builders share: the page meta, volumes, the verdict from the store's rule."""

from __future__ import annotations

import re
import socket
import time
from typing import Any

from datawrangler import __version__
from datawrangler.core.protection import Rule
from datawrangler.reports.model import Meta, Verdict, Volume
from datawrangler.store import redundancy
from datawrangler.store.db import Catalog

PAPERS = ("a4", "letter")
_REEL = re.compile(r"^([A-Z])\d{3}")


def meta(kind: str, title: str, subject: str, production: str | None, required: int, *,
         now: float | None = None, paper: str = "a4", rule: Rule | None = None) -> Meta:
    if paper not in PAPERS:
        raise ValueError(f"Unknown paper size {paper!r}: use a4 or letter.")
    return Meta(kind, title, subject, production or None, time.time() if now is None else now, __version__,
                socket.gethostname(), required, paper,
                rule.describe() if rule is not None and (rule.media_kinds > 1 or rule.sites > 1) else "")


def volume(row: dict[str, Any] | None) -> Volume | None:
    if row is None:
        return None
    return Volume(label=row.get("label") or None, key=row.get("key"), disk=row.get("disk"),
                  device=row.get("device"), fstype=row.get("fstype"), mount_point=row.get("last_mount_point"),
                  capacity=row.get("capacity"))


def shooting_day(days: list[int | None]) -> str | None:
    """The header's shooting day from the offloads' stored day numbers: 'Day 15', 'Days 14, 15', or None."""
    known = sorted({d for d in days if d is not None})
    if not known:
        return None
    return f"Day{'s' if len(known) > 1 else ''} {', '.join(map(str, known))}"


def location(places: list[str | None]) -> str | None:
    """The header's location from the offloads' stored locations, in the order first met."""
    return ", ".join(dict.fromkeys(p for p in places if p)) or None


def camera_of(camera: str | None, reel: str | None) -> str | None:
    """The camera letter as recorded, else the first letter of a reel named like A001."""
    if camera:
        return camera
    m = _REEL.match(reel or "")
    return m.group(1) if m else None


def verdict(db: Catalog, card_id: int | None, required: int | Rule) -> Verdict:
    """The store's safe-to-format rule, as of now (every offload of the card's lineage counts)."""
    return verdict_of(redundancy.card_redundancy(db, card_id, required))


def verdict_of(red: redundancy.CardRedundancy) -> Verdict:
    return Verdict(red.safe, red.min_disks, red.required, tuple(red.reasons), red.rule.name, red.sentence)
