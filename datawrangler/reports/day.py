"""The day report: every card offloaded in a shooting day, one row each; totals per camera and per drive."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from datawrangler.core.cards import count_clips
from datawrangler.reports import common
from datawrangler.reports.common import camera_of, meta, verdict
from datawrangler.reports.model import CameraTotal, DayCard, DayReport, DriveTotal, Problem
from datawrangler.store import reads_reports as query
from datawrangler.store.db import Catalog

MAX_FAILURES_PER_CARD = 10


def window(day: str, day_start: str = "00:00") -> tuple[float, float]:
    """The local-time span of a shooting day: DAY at day_start to the next day at day_start (a night shoot
    that offloads at 2 a.m. sets day_start to, say, 06:00)."""
    try:
        d = dt.date.fromisoformat(day)
        t = dt.time.fromisoformat(day_start)
    except ValueError:
        raise ValueError(f"{day!r} {day_start!r}: write the day as YYYY-MM-DD and the start as HH:MM.") from None
    start = dt.datetime.combine(d, t)
    return start.timestamp(), (start + dt.timedelta(days=1)).timestamp()


def build(db: Catalog, day: str, *, day_start: str = "00:00", required: int = 2, shooting_day: str | None = None,
          location: str | None = None, now: float | None = None, paper: str = "a4") -> DayReport:
    start, end = window(day, day_start)
    offloads = query.offloads_between(db, start, end)
    latest: dict[int, dict] = {}
    for o in offloads:  # one row per card: its latest offload of the day that read the card
        if o["card_id"] is not None and (o.get("stage") or 1) == 1:
            latest[o["card_id"]] = o
    cards: list[DayCard] = []
    failures: list[Problem] = []
    failures_total = 0
    for card_id, o in latest.items():
        c = query.card(db, card_id) or {}
        reel = o["reel"] or c.get("reel")
        shown = 0
        stage2 = query.stage2_offloads(db, o["id"])  # its cascade's stage-2 copies, whenever they ran
        copy_failures = [(f"D{i + 1}", p, code, msg) for i, p, code, msg in query.failed_copies(db, o["id"])]
        copy_failures += [("card", p, code, msg) for p, code, msg in query.failed_files_without_copy(db, o["id"])]
        for s2 in stage2:
            copy_failures += [(f"stage 2 D{i + 1}", p, code, msg) for i, p, code, msg in
                              query.failed_copies(db, s2["id"])]
        for where, path, code, msg in copy_failures:
            if shown < MAX_FAILURES_PER_CARD:
                failures.append(Problem(f"{reel or c.get('label') or card_id} {where}", path, code or "failed",
                                        msg or ""))
                shown += 1
        failures_total += len(copy_failures)
        cards.append(DayCard(card_id, o["id"], reel, camera_of(o["camera"], reel), c.get("label"),
                             count_clips(query.rel_paths(db, o["id"])), o["files_total"] or 0,
                             o["bytes_total"] or 0, o["state"], o["started_at"], verdict(db, card_id, required),
                             len(copy_failures), tuple((s2["id"], s2["state"] or "") for s2 in stage2),
                             o.get("released_at") is not None))
    cards.sort(key=lambda r: (r.camera or "~", r.reel or "~", r.started_at))
    projects = sorted({o["project"] for o in offloads if o["project"]})
    operators = tuple(sorted({o["operator"] for o in offloads if o["operator"]}))
    # the report's flags win over what the day's offloads recorded
    shooting_day = shooting_day or common.shooting_day([o.get("shooting_day") for o in latest.values()])
    location = location or common.location([o.get("location") for o in latest.values()])
    return DayReport(
        meta=meta("day", "Day report", day + (f" · {shooting_day}" if shooting_day else ""),
                  ", ".join(projects) or None, required, now=now, paper=paper),
        day=day, window=(start, end), shooting_day=shooting_day, location=location, operators=operators,
        cards=tuple(cards), cameras=_cameras(cards),
        drives=_drives(db, [i for c in cards for i in (c.offload_id, *(s2 for s2, _ in c.stage2))]),
        failures=tuple(failures), failures_total=failures_total)


def _cameras(cards: list[DayCard]) -> tuple[CameraTotal, ...]:
    groups: dict[str, list[DayCard]] = defaultdict(list)
    for c in cards:
        groups[c.camera or "?"].append(c)
    return tuple(CameraTotal(cam, len(cs), sum(c.clips for c in cs), sum(c.files for c in cs),
                             sum(c.bytes for c in cs), sum(c.verdict.safe for c in cs))
                 for cam, cs in sorted(groups.items()))


def _drives(db: Catalog, offload_ids: list[int]) -> tuple[DriveTotal, ...]:
    out = []
    for r in query.drive_totals(db, offload_ids):
        name = r["labels"] or r["mounts"] or r["disk"]
        out.append(DriveTotal(name, r["disk"], r["cards"], r["copies_verified"], r["bytes_verified"],
                              r["copies_failed"]))
    return tuple(out)
