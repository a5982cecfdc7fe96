"""A card's files judged by a protection rule (core.protection), without a per-file structure.

For N copies on distinct drives the per-file disk count is the whole answer, and files with the same count
share one judgement. A rule that counts kinds of media or places (3-2-1) needs each counted copy's drive kind
and the site of the offload that made it: when every file is on every drive that holds copies (nearly always:
a card's files travel together), one judgement over those drives serves all, asked per destination and not
per copy; otherwise the files are walked again with the text of their copies, and files with the same text
share a judgement. Either way the memory is the number of distinct judgements, not the number of files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from datawrangler.core.protection import Copy, Judgement, MediaKind, Rule, judge
from datawrangler.core.words import agree, plural
from datawrangler.store.catalog import Catalog, in_list
from datawrangler.store.redundancy_files import FileRedundancy, walk

SAMPLE = 20  # files named in CardRedundancy.short


def plain(rule: Rule) -> bool:
    """N copies on distinct drives: judged by the per-file disk count alone, as before core.protection."""
    return rule.media_kinds == 1 and rule.sites == 1


def distance(j: Judgement) -> tuple[int, int, int, int, int]:
    """How far a file is from the rule; among equals, the one with the fewest copies, kinds, places."""
    return j.more_copies, int(j.needs_media) + int(j.needs_site), -j.copies, -j.media_kinds, -j.sites


@dataclass
class Verdicts:
    """The judgements of a card's files, folded as they come: the weakest (the first file furthest from the
    rule), and the files that have enough drives but miss the rule's kinds or places (`beyond`)."""

    required: int
    weakest: Judgement | None = None
    beyond: int = 0
    beyond_sample: list[FileRedundancy] = field(default_factory=list)

    def add(self, f: FileRedundancy, j: Judgement) -> None:
        # the same judgement as the weakest (nearly every file) cannot be further: skip comparing
        if j is not self.weakest and (self.weakest is None or distance(j) > distance(self.weakest)):
            self.weakest = j
        if f.disks >= self.required and not j.met:
            self.add_beyond(f)

    def add_beyond(self, f: FileRedundancy) -> None:
        self.beyond += 1
        if len(self.beyond_sample) < SAMPLE:
            self.beyond_sample.append(f)


class ByCount:
    """Judgements of N copies by disk count, each made once."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self._cache: dict[int, Judgement] = {}

    def __call__(self, disks: int) -> Judgement:
        j = self._cache.get(disks)
        if j is None:
            j = self._cache[disks] = judge(self.rule, (Copy(str(i)) for i in range(disks)))
        return j


def every_drive(db: Catalog, own: Sequence[str]) -> list[tuple[str, str, str]] | None:
    """The (drive, media kind, site) of every drive holding verified copies of the lineage (set by
    store.redundancy_files.prepare), not counting the card's own disks `own`; None when a drive has several
    kinds or sites (then the files must be judged one by one). The caller checks that every file's count of
    drives is the number of drives: then each file provably has a copy on every one of them."""
    marks, params = in_list("own", own)
    where = f" AND v.disk NOT IN {marks}" if own else ""
    rows = db.run(
        "SELECT DISTINCT v.disk, v.media_kind, o.site FROM offloads o JOIN destinations d ON d.offload_id = o.id"
        " JOIN volumes v ON v.id = d.volume_id WHERE o.id IN (SELECT id FROM lineage_offloads) AND EXISTS"
        " (SELECT 1 FROM copies c WHERE c.destination_id = d.id AND c.state = 'verified')" + where,
        params).fetchall()
    if len({r[0] for r in rows}) != len(rows):
        return None
    return sorted((disk, media or "", site or "") for disk, media, site in rows)


def judge_drives(rule: Rule, drives: Sequence[tuple[str, str, str]]) -> Judgement:
    return judge(rule, (Copy(disk, _kind(media), site or None) for disk, media, site in drives))


def walk_judged(db: Catalog, rule: Rule, source: str, own: Sequence[str], verdicts: Verdicts) -> None:
    """Each file of the prepared listing judged over its own copies (a second pass over the cursor, only
    when the files do not all share their drives)."""
    cache: dict[str, Judgement] = {}
    for f, held in walk(db, source, own, held=True):
        j = cache.get(held)
        if j is None:
            j = cache[held] = judge_drives(rule, sorted(_decode(held)))
        verdicts.add(f, j)


def _decode(held: str) -> set[tuple[str, str, str]]:
    out = set()
    for item in held.split(",") if held else ():
        disk, media, site = (bytes.fromhex(part).decode() for part in item.split("."))
        out.add((disk, media, site))
    return out


def _kind(text: str) -> MediaKind | None:
    try:
        return MediaKind(text) if text else None
    except ValueError:  # a kind written by a newer DataWrangler: not one this version can count
        return None


def rule_reason(rule: Rule, n: int, weakest: Judgement) -> str:
    fix = []
    if weakest.needs_media:
        fix.append("say what each drive is ('datawrangler drive kind PATH KIND'; a drive of no recorded kind "
                   "never counts as another kind)")
    if weakest.needs_site:
        fix.append("set each station's site in its settings (a copy made at no recorded site never counts as "
                   "another place)")
    then = f" If the copies exist, {' and '.join(fix)}; else copy the card to what is missing." if fix else ""
    return (f"{plural(n, 'file')} {agree(n, 'does', 'do')} not meet the rule {rule.name} ({rule.describe()}); "
            f"the weakest: {weakest.sentence()}.{then}")
