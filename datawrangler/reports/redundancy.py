"""The redundancy report: per card and per destination drive, what is on how many verified copies
(counted on distinct physical drives, by the store's rule: copies on the card's own drive do not count
when the card was offloaded as a whole volume); anything short of the rule first. A studio's rule (3-2-1)
judges each card by store.redundancy, which also counts the drives' media kinds and the stations' sites: the
report says the rule, the weakest file's judgement per card, and per drive its kind and who made its copies."""

from __future__ import annotations

from collections import defaultdict

from datawrangler.core.protection import MEDIA_WORDS, MediaKind, Rule
from datawrangler.reports import stages
from datawrangler.reports.common import meta, verdict_of
from datawrangler.reports.fmt import plural
from datawrangler.reports.model import CardCopies, DriveCard, DriveCopies, RedundancyReport
from datawrangler.store import reads_reports as query
from datawrangler.store import redundancy
from datawrangler.store.cards import lineage_offloads
from datawrangler.store.db import Catalog

SHORT_SAMPLE = 5  # files named per short card (the CSV of short files holds the same)


def build(db: Catalog, card_ids: list[int] | None = None, *, scope: str = "", required: int | Rule = 2,
          now: float | None = None, paper: str = "a4") -> RedundancyReport:
    rule = required if isinstance(required, Rule) else Rule(required)
    required = rule.copies
    ids = query.card_ids(db) if card_ids is None else card_ids
    made: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"kind": set(), "by": set()})
    cards: list[CardCopies] = []
    per_drive: dict[str, list[DriveCard]] = defaultdict(list)
    projects: set[str] = set()
    for card_id in ids:
        c = query.card(db, card_id) or {}
        offloads = lineage_offloads(db, card_id)
        projects |= query.projects(db, offloads)
        latest = query.offload(db, offloads[-1]) if offloads else None
        reel = (latest or {}).get("reel") or c.get("reel")
        files: dict[str, tuple[int, set[str]]] = {}
        for path, size, disk in query.disk_membership(db, card_id):
            entry = files.setdefault(path, (size, set()))
            if disk is not None:
                entry[1].add(disk)
        own = set(redundancy.card_disks(db, card_id))  # formatting the card erases them: not counted
        counted = {p: (s, d - own) for p, (s, d) in files.items()}
        red = redundancy.card_redundancy(db, card_id, rule)
        v = verdict_of(red)
        for d in red.disks:
            if d["media_kind"]:
                made[d["disk"]]["kind"].add(d["media_kind"])
            made[d["disk"]]["by"] |= {s + (f" at {', '.join(d['sites'])}" if d["sites"] else "")
                                      for s in d["stations"]}
        short = [(p, len(d)) for p, (_s, d) in counted.items() if len(d) < required]
        n_short = len(short) if rule.media_kinds == rule.sites == 1 else \
            max(len(short), red.files_total - red.files_ok)
        sample = tuple(short[:SHORT_SAMPLE]) or tuple((f.rel_path, f.disks) for f in red.short[:SHORT_SAMPLE])
        cards.append(CardCopies(card_id, reel, c.get("label"), tuple(offloads), len(files),
                                sum(s for s, _d in files.values()), n_short, v, sample,
                                tuple(query.stage2_not_ended(db, offloads))))
        on_disk: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for path, (size, disks) in files.items():
            for disk in disks:  # the card's own drive holds them too, but they count on the other drives only
                on_disk[disk].append((size, len(counted[path][1])))
        sources = stages.made_from(db, card_id)
        for disk, kept in on_disk.items():
            per_drive[disk].append(DriveCard(reel, card_id, len(kept), sum(s for s, _n in kept),
                                             sum(1 for _s, n in kept if n < required), len(files), v.safe,
                                             sources.get(disk, ())))
    cards.sort(key=lambda c: (not c.short, c.reel or "~", c.card_id))
    info = query.disks(db, list(per_drive))
    drives = []
    for disk, held in per_drive.items():
        vols = info[disk]["volumes"]
        name = ", ".join(sorted({v["label"] for v in vols if v["label"]})) or \
            ", ".join(sorted({v["last_mount_point"] for v in vols if v["last_mount_point"]})) or disk
        held.sort(key=lambda d: (not d.short, d.reel or "~", d.card_id))
        drives.append(DriveCopies(name, disk, tuple(v["key"] for v in vols),
                                  tuple(sorted({v["last_mount_point"] for v in vols if v["last_mount_point"]})),
                                  tuple(held), _kind_words(made[disk]["kind"]), tuple(sorted(made[disk]["by"]))))
    drives.sort(key=lambda d: (not d.short, d.name))
    subject = scope or (plural(len(cards), "card") if card_ids is None else ", ".join(c.reel or str(c.card_id)
                                                                                for c in cards[:6]))
    return RedundancyReport(meta("redundancy", "Redundancy report", subject, ", ".join(sorted(projects)) or None,
                                 required, now=now, paper=paper, rule=rule),
                            scope or "every card in the catalog", tuple(cards), tuple(drives))


def _kind_words(kinds: set[str]) -> str:
    """'LTO tape' for the kind recorded on the drive's volumes; '' when nobody said."""
    return ", ".join(sorted(MEDIA_WORDS[MediaKind(k)] if k in MediaKind._value2member_map_ else k for k in kinds))
