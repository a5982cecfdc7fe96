"""The contact sheet: a thumbnail of every clip of a card, or of every card offloaded in a shooting day, with
its name, TC in, duration and format, and what is wrong with it in words.

A card's sheet covers its whole lineage (a card offloaded again, or grown and offloaded incrementally): each
clip once, as the latest offload that read it recorded it. The clips come from the catalog (`store.clips`),
read there by `app.clips` after the copies were verified; a card whose clips were never read has nothing to
show, and says how to read them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from datawrangler.reports import clipview, common, day, fmt
from datawrangler.reports.common import camera_of, meta
from datawrangler.reports.model import ContactCard, ContactSheet
from datawrangler.store import clips as store_clips
from datawrangler.store import reads_reports as query
from datawrangler.store.cards import lineage_offloads
from datawrangler.store.clips import ClipRow
from datawrangler.store.db import Catalog
from datawrangler.store.history import find_card


class NothingToShow(LookupError):
    """No such card or day, or no clip of it has been read; the message says what to do."""


def _read_hint(offload_ids: list[int]) -> str:
    """How to read them: 'datawrangler clips N --read' for each offload (the last three named)."""
    shown = offload_ids[-3:]
    cmds = " and ".join(f"'datawrangler clips {i} --read'" for i in shown)
    more = f" (and the {len(offload_ids) - 3} earlier offloads)" if len(offload_ids) > 3 else ""
    return f"{cmds}{more} read{'s' if len(shown) == 1 else ''} them from a verified copy; then make the sheet again"


def for_card(db: Catalog, card: str, *, required: int = 2, shooting_day: str | None = None,
             location: str | None = None, now: float | None = None, paper: str = "a4") -> ContactSheet:
    """The sheet of one card, given as its reel (A001), its id or a fingerprint prefix."""
    card_id = find_card(db, card)
    if card_id is None:
        raise NothingToShow(f"No card {card!r} in the catalog. Give its reel (A001), its id or a fingerprint "
                            "prefix ('datawrangler history' lists them).")
    ids = lineage_offloads(db, card_id)
    offloads = [o for o in (query.offload(db, i) for i in ids) if o is not None]
    rows = [r for i in ids for r in store_clips.offload_clips(db, i)]  # one query per offload, not per frame
    if not rows:
        raise NothingToShow(f"No clip of card {card!r} has been read: {_read_hint(ids)}.")
    c = query.card(db, card_id) or {}
    reel = offloads[-1]["reel"] if offloads and offloads[-1]["reel"] else c.get("reel")
    sheet_card = ContactCard(card_id, reel, c.get("label"), tuple(ids),
                             clipview.lines(clipview.latest_per_name(rows), store_clips.thumbnails_root(db)))
    return _sheet(db, "card", reel or c.get("label") or f"card {card_id}", None, offloads, [sheet_card], (),
                  required=required, shooting_day=shooting_day, location=location, now=now, paper=paper)


def for_day(db: Catalog, date: str, *, day_start: str = "00:00", required: int = 2,
            shooting_day: str | None = None, location: str | None = None, now: float | None = None,
            paper: str = "a4") -> ContactSheet:
    """The sheet of every card offloaded in a shooting day (DATE from day_start, local time), camera by camera."""
    start, end = day.window(date, day_start)
    offloads = query.offloads_between(db, start, end)
    if not offloads:
        raise NothingToShow(f"No card was offloaded on {date} (from {day_start}). 'datawrangler history --since "
                            f"{date} --until {date}' lists that day's offloads.")
    by_card: dict[Any, list[ClipRow]] = defaultdict(list)
    for r in store_clips.day_clips(db, start, end):  # one query for the whole day
        by_card[r.card_id if r.card_id is not None else f"offload {r.offload_id}"].append(r)
    per_card: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for o in offloads:
        per_card[o["card_id"] if o["card_id"] is not None else f"offload {o['id']}"].append(o)
    root = store_clips.thumbnails_root(db)
    cards: list[tuple[tuple[str, str, float], ContactCard]] = []
    unread: list[tuple[str, int]] = []
    for key, its in per_card.items():
        c = (query.card(db, key) if isinstance(key, int) else None) or {}
        reel = its[-1]["reel"] or c.get("reel")
        name = reel or c.get("label") or str(key)
        if key not in by_card:
            unread.append((name, its[-1]["id"]))
            continue
        table = clipview.lines(clipview.latest_per_name(by_card[key]), root)
        order = (camera_of(its[-1]["camera"], reel) or "~", reel or "~", its[0]["started_at"])
        cards.append((order, ContactCard(key if isinstance(key, int) else None, reel, c.get("label"),
                                         tuple(o["id"] for o in its), table)))
    if not cards:
        raise NothingToShow(f"No clip of the {len(per_card)} card(s) offloaded on {date} has been read: "
                            f"{_read_hint([o['id'] for o in offloads])}.")
    cards.sort(key=lambda pair: pair[0])
    return _sheet(db, "day", date, date, offloads, [c for _, c in cards], tuple(unread), required=required,
                  shooting_day=shooting_day, location=location, now=now, paper=paper)


def _sheet(db: Catalog, scope: str, subject: str, date: str | None, offloads: list[dict[str, Any]],
           cards: list[ContactCard], unread: tuple[tuple[str, int], ...], *, required: int, shooting_day: str | None,
           location: str | None, now: float | None, paper: str) -> ContactSheet:
    # the report's flags win over what the offloads recorded
    shooting_day = shooting_day or common.shooting_day([o.get("shooting_day") for o in offloads])
    location = location or common.location([o.get("location") for o in offloads])
    production = ", ".join(sorted(query.projects(db, [o["id"] for o in offloads]))) or None
    if shooting_day:
        subject += f" · {shooting_day}"
    return ContactSheet(
        meta=meta("contact", "Contact sheet", subject, production, required, now=now, paper=paper),
        scope=scope, day=date, dates=tuple(dict.fromkeys(fmt.day(o["started_at"]) for o in offloads)),
        shooting_day=shooting_day, location=location,
        stations=tuple(dict.fromkeys(o["host"] for o in offloads if o.get("host"))),
        operators=tuple(dict.fromkeys(o["operator"] for o in offloads if o.get("operator"))),
        cards=tuple(cards), unread=unread)
