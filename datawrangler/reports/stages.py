"""The cascading copy in the reports: an offload's stage (stage 1 read the card and released it; stage 2
copied a verified stage-1 copy, checked against the card's hashes), and what each drive's copies of a card
were made from. Built from the catalog's offload rows (`stage`, `cascade_of`, `made_from`, `stage2`,
`released_at`), so a report regenerated after stage 2 ended says how it ended."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from datawrangler.reports.common import volume
from datawrangler.reports.model import Volume
from datawrangler.reports.stagemodel import Cascade, StageTwo
from datawrangler.store import cascade as store_cascade
from datawrangler.store import reads_reports as query
from datawrangler.store.db import Catalog
from datawrangler.store.offloads import plan_from_json


def of_offload(db: Catalog, o: dict[str, Any]) -> Cascade | None:
    """The offload's place in a cascade; None for an offload with no stage 2 asked and none made of it."""
    if (o.get("stage") or 1) == 2:
        made = query.destination(db, o.get("made_from"))
        return Cascade(2, stage1=o.get("cascade_of"), made_from_path=made["path"] if made else o["source"],
                       made_from_volume=_volume(db, made))
    children = tuple(_stage_two(r) for r in query.stage2_offloads(db, o["id"]))
    asked = store_cascade.stage2_rolls(db, o["id"])
    if not children and not asked and o.get("released_at") is None:
        return None
    queueing = bool(asked) and not children and o.get("released_at") is None and o.get("state") == "verified"
    return Cascade(1, released_at=o.get("released_at"), stage2=children, asked=asked, queueing=queueing)


def _volume(db: Catalog, dest: dict[str, Any] | None) -> Volume | None:
    if dest is None:
        return None
    v = volume(query.volume(db, dest.get("volume_id")))
    return v or Volume(label=None, key=None, disk=None, mount_point=dest.get("mount_point"))


def _stage_two(r: dict[str, Any]) -> StageTwo:
    plan = plan_from_json(r["plan"])
    return StageTwo(r["id"], r["state"] or "", tuple(plan.destinations), r["files"], r["verified"], r["failed"],
                    r["source"] or "", r["mismatched"])


def made_from(db: Catalog, card_id: int) -> dict[str, tuple[str, ...]]:
    """{disk: what its verified copies of the card were made from, in words}: 'the card (offload 3)' or
    'stage-1 copy /raid/A001 on RAID (stage 2 offload 4 of offload 3)', one entry per offload."""
    out: dict[str, list[str]] = defaultdict(list)
    labels: dict[int | None, str] = {}
    for disk, oid, stage, parent, path, vol_id in query.copy_sources(db, card_id):
        if stage == 2:
            if vol_id not in labels:
                v = volume(query.volume(db, vol_id))
                labels[vol_id] = f" on {v.called}" if v else ""
            words = f"stage-1 copy {path or '?'}{labels[vol_id]} (stage 2 offload {oid} of offload {parent})"
        else:
            words = f"the card (offload {oid})"
        if words not in out[disk]:
            out[disk].append(words)
    return {disk: tuple(w) for disk, w in out.items()}
