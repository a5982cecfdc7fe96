"""Redundancy: per file, the verified copies on distinct physical disks; per card, safe to format.

A card is safe to format when every file of it has a verified copy on at least N distinct physical disks
(two folders on one drive count once). A card's files are matched with the copies of every offload of
its lineage (the card, and the card it grew from), by path, size and modification time.

Copies on the card's own disk do not count when an offload of the lineage read the card's whole volume
(its source was the mount point of the card's volume): formatting the card erases that disk, copies and
all. When the source is a folder inside a bigger disk (a card dumped into a folder on a shuttle drive,
test folders on one disk), the catalog cannot tell what "format" would erase, so copies on that disk
count as usual (preflight warns `same_volume` before such an offload starts).

The rule is a core.protection.Rule: N copies on distinct drives (an int `required` is that rule), or a
studio's rule such as 3-2-1, which also counts the kinds of media the drives are (`volumes.media_kind`) and the
sites of the stations that made the copies (`offloads.site`). Each file is judged by core.protection.judge;
the card is safe only when every file meets the rule, and the weakest file's judgement says what is missing.

The answer is folded from one pass over the catalog's cursor (store.redundancy_files.walk): counts, the first
example of each reason and a sample of the files below the rule, never a list of every file. It is asked at
the end of every offload, and a card of a million small files must not cost hundreds of MB to answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from datawrangler.core.protection import Judgement, Rule, judge
from datawrangler.core.words import agree, plural
from datawrangler.store.catalog import Catalog, in_list
from datawrangler.store.redundancy_files import (
    FileRedundancy,
    card_disks,
    iter_files,
    prepare,
    set_lineage,
    walk,
)
from datawrangler.store.rule_judge import (
    SAMPLE,
    ByCount,
    Verdicts,
    every_drive,
    judge_drives,
    plain,
    rule_reason,
    walk_judged,
)

__all__ = ["CardRedundancy", "FileRedundancy", "card_disks", "card_redundancy", "disks_of_card", "iter_files",
           "per_file", "unreadable_entries"]


@dataclass
class CardRedundancy:
    card_id: int | None
    reel: str | None
    required: int
    files_total: int = 0
    files_ok: int = 0
    min_disks: int = 0
    safe: bool = False
    reasons: list[str] = field(default_factory=list)
    short: list[FileRedundancy] = field(default_factory=list)  # a sample of files below the rule
    disks: list[dict] = field(default_factory=list)  # the disks holding verified copies, with file counts
    card_disks: list[str] = field(default_factory=list)  # the card's own disks: their copies do not count
    rule: Rule = field(default_factory=lambda: Rule(2))
    weakest: Judgement | None = None  # the judgement of the file furthest from the rule (any file when all meet it)

    @property
    def sentence(self) -> str:
        """'2 copies, 1 media kind, 1 site: needs a copy on another media kind at another site' for the weakest
        file; '' when the card has no file."""
        return self.weakest.sentence() if self.weakest else ""


def per_file(db: Catalog, card_id: int, listing: Iterable[tuple[str, int, int]] | None = None,
             own: Sequence[str] | None = None) -> list[FileRedundancy]:
    """Each file of the card (its latest offload's listing, or `listing` as scanned from the card now).
    Verified copies on the disks `own` (default: card_disks) are counted apart, in on_card_disk. A list of
    every file: to count or sample, iterate `iter_files` instead."""
    return list(iter_files(db, card_id, listing, own))


@dataclass
class _Short:
    """The files below the rule's number of drives, folded one by one: per reason a count and the first
    example, so the reasons read as they did when they were filtered lists."""

    count: int = 0
    sample: list[FileRedundancy] = field(default_factory=list)
    explained: int = 0  # files with at least one of the reasons below (the rest have simply too few drives)
    unknown: int = 0
    unknown_first: str = ""
    failed: int = 0
    failed_first: str = ""
    lost: int = 0  # failed because stage 2 found their stage-1 copy changed (said apart)
    lost_first: str = ""  # the smallest path, as the reason has always named it
    on_card: int = 0
    on_card_first: str = ""
    on_card_only: bool = True  # every such file has no copy elsewhere
    on_card_copies: int = 0
    unverified: int = 0
    shared: int = 0
    shared_first: str = ""
    stage2_lost: set[str] | None = None  # read when the first failed file comes

    def add(self, db: Catalog, f: FileRedundancy) -> None:
        self.count += 1
        if len(self.sample) < SAMPLE:
            self.sample.append(f)
        why = False
        if not f.known:
            self.unknown += 1
            self.unknown_first = self.unknown_first or f.rel_path
            why = True
        if f.failed:
            if self.stage2_lost is None:
                self.stage2_lost = _lost_in_stage2(db)
            if f.rel_path in self.stage2_lost:
                self.lost += 1
                self.lost_first = min(self.lost_first, f.rel_path) if self.lost_first else f.rel_path
            else:
                self.failed += 1
                self.failed_first = self.failed_first or f.rel_path
            why = True
        if f.on_card_disk:
            self.on_card += 1
            self.on_card_first = self.on_card_first or f.rel_path
            self.on_card_only = self.on_card_only and f.disks == 0
            self.on_card_copies += f.on_card_disk
            why = True
        if f.unverified:
            self.unverified += 1
            why = True
        if f.verified - f.on_card_disk > f.disks:  # several verified copies on one counted disk
            self.shared += 1
            self.shared_first = self.shared_first or f.rel_path
            why = True
        self.explained += why


def card_redundancy(db: Catalog, card_id: int | None, required: int | Rule = 2,
                    listing: Iterable[tuple[str, int, int]] | None = None) -> CardRedundancy:
    """Safe to format? With the reasons when not, most important first. `required`: the rule, or a number
    of copies on distinct drives (the rule every caller had before core.protection)."""
    rule = required if isinstance(required, Rule) else Rule(int(required))
    required = rule.copies
    if card_id is None:
        out = CardRedundancy(None, None, required, files_total=sum(1 for _ in listing or ()), rule=rule)
        out.weakest = judge(rule, ())
        out.reasons.append("This card was never offloaded: the catalog holds no copy of it.")
        return out
    reel = db.row("SELECT reel FROM cards WHERE id = :card", {"card": card_id})
    out = CardRedundancy(card_id, reel[0] if reel else None, required, rule=rule)
    out.card_disks = card_disks(db, card_id)
    source = prepare(db, card_id, listing)
    short, verdicts, by_count = _Short(), Verdicts(required), ByCount(rule)
    # enough: the files with the drives the rule asks for, kept in case one judgement misses the rule for all
    total, low, high, enough = 0, -1, -1, Verdicts(required)
    for f, _ in walk(db, source, out.card_disks):
        total += 1
        low = f.disks if low < 0 else min(low, f.disks)
        high = max(high, f.disks)
        if f.disks < required:
            short.add(db, f)
        if plain(rule):
            verdicts.add(f, by_count(f.disks))
        elif f.disks >= required:
            enough.add_beyond(f)
    if total and not plain(rule):
        drives = every_drive(db, out.card_disks)
        if drives is not None and low == high == len(drives):  # one judgement for every file
            verdicts.weakest = judge_drives(rule, drives)
            if not verdicts.weakest.met:
                verdicts.beyond, verdicts.beyond_sample = enough.beyond, enough.beyond_sample
        else:
            walk_judged(db, rule, source, out.card_disks, verdicts)
    out.files_total = total
    out.weakest = verdicts.weakest
    unread = unreadable_entries(db, card_id) if listing is None else []
    out.files_ok = total - short.count - verdicts.beyond
    out.min_disks = max(low, 0)
    out.short = (short.sample + verdicts.beyond_sample)[:SAMPLE]
    out.safe = bool(total) and not short.count and not verdicts.beyond and not unread
    out.reasons = _reasons(rule, total, short, verdicts, unread)
    out.disks = disks_of_card(db, card_id, out.card_disks)
    return out


def _reasons(rule: Rule, total: int, short: _Short, verdicts: Verdicts, unread: list[str]) -> list[str]:
    """Why the card is not safe, most important first (the words the window, reports and status show)."""
    out = []
    if unread:
        n = len(unread)
        out.append(f"{plural(n, 'entry')} of the card could not be read at its last offload, so "
                   f"{agree(n, 'it has', 'they have')} no copy, e.g. {unread[0]}. Fix the card's permissions "
                   "or reader, then offload it again.")
    if not total:
        out.append("The catalog lists no files for this card.")
    if n := short.unknown:
        out.append(f"{plural(n, 'file')} on the card {agree(n, 'was', 'were')} never offloaded (added after the "
                   f"last offload?), e.g. {short.unknown_first}. Offload the card again (--incremental).")
    if n := short.lost:
        out.append(f"{plural(n, 'file')} {agree(n, 'has', 'have')} a stage-1 copy that stage 2 found changed, "
                   f"missing or unreadable (it no longer counts), e.g. {short.lost_first}. Copy "
                   f"{agree(n, 'it', 'them')} again from the card; do not format it.")
    if n := short.failed:
        out.append(f"{plural(n, 'file')} {agree(n, 'has', 'have')} a copy that failed (at the offload or a later "
                   f"re-verify: missing, changed, unreadable), e.g. {short.failed_first}. Resume or repeat the "
                   "offload.")
    if n := short.on_card:
        where = "only on" if short.on_card_only else "on"
        one = short.on_card_copies == 1
        out.append(f"{plural(n, 'file')} {agree(n, 'has', 'have')} {'a copy' if one else 'copies'} {where} the "
                   f"card's own drive, which formatting the card erases, so "
                   f"{'that copy does' if one else 'those copies do'} not count, e.g. {short.on_card_first}. Copy "
                   f"{agree(n, 'it', 'them')} to another drive.")
    if n := short.unverified:
        out.append(f"{plural(n, 'file')} {agree(n, 'was', 'were')} copied with sizes checked only (verify mode "
                   "'size'): not verified.")
    if n := short.shared:
        out.append(f"{plural(n, 'file')} {agree(n, 'has', 'have')} copies in several folders of one drive, which "
                   f"count as one copy, e.g. {short.shared_first}. Copy to another drive.")
    if (rest := short.count - short.explained) > 0:
        out.append(_fewer(rest, rule.copies))
    if short.count and not out:
        out.append(_fewer(short.count, rule.copies))
    if (short.count or verdicts.beyond) and verdicts.weakest is not None and not plain(rule):
        out.append(rule_reason(rule, short.count + verdicts.beyond, verdicts.weakest))
    return out


def _lost_in_stage2(db: Catalog) -> set[str]:
    """The card's files (lineage set by prepare) with a stage-1 copy that a stage-2 copy found no longer
    holding the card's file (store.cascade.mark_stage1): the card must be read again. Read only when a file
    of the card has a failed copy."""
    rows = db.run(
        "SELECT DISTINCT g.rel_path FROM files g JOIN copies c ON c.file_id = g.id"
        " WHERE g.offload_id IN (SELECT id FROM lineage_offloads) AND c.state IN ('changed', 'missing',"
        " 'unreadable') AND EXISTS (SELECT 1 FROM verifications v WHERE v.copy_id = c.id AND v.method ="
        " 'stage2-read')").fetchall()
    return {r[0] for r in rows}


def _fewer(n: int, required: int) -> str:
    files = f"{plural(n, 'file')} {agree(n, 'has', 'have')}"
    if required == 1:
        return f"{files} no verified copy."
    return f"{files} fewer than {required} verified copies on distinct drives."


# The path an event's JSON data names: reading JSON in a text column has no spelling shared by SQLite and
# PostgreSQL (json_extract against the ->> operator on a cast), so it is spelled per dialect.
_JSON_PATH = {"sqlite": "json_extract(e.data, '$.path')", "postgresql": "(CAST(e.data AS json) ->> 'path')"}


def unreadable_entries(db: Catalog, card_id: int) -> list[str]:
    """Entries the card's latest offload could not read (scan errors: they are not in its file listing, so
    no per-file count can see them) and that it did not record as files since (a resume after a fix). The
    latest offload that read the card: a stage-2 copy (cascade) read a stage-1 copy, not the card."""
    path = _JSON_PATH[db.dialect]
    rows = db.run(
        f"SELECT {path} FROM events e WHERE e.kind = 'skipped' AND e.code = 'unreadable'"
        " AND e.offload_id = (SELECT id FROM offloads WHERE card_id = :card AND COALESCE(stage, 1) = 1"
        " ORDER BY started_at DESC, id DESC LIMIT 1)"
        " AND NOT EXISTS (SELECT 1 FROM files f WHERE f.offload_id = e.offload_id"
        f" AND f.rel_path = {path})", {"card": card_id}).fetchall()
    return sorted({r[0] for r in rows if r[0]})


def disks_of_card(db: Catalog, card_id: int, own: Sequence[str] | None = None) -> list[dict]:
    """The disks holding verified copies of the card's lineage, each with its labels, folders and the number
    of the card's files verified on it; `card_disk`: the card's own disk (see card_disks: its copies do not
    count).

    Counted per destination first (the copies index by destination; a copy is always of a file of its
    destination's offload, and one file has one copy per destination), which is the count of distinct files
    whenever a disk holds one destination of the lineage: the common case. Only a disk that holds several
    (two folders on one drive, or a card offloaded twice to one drive) is counted by its distinct paths, so a
    file copied twice to one drive counts once. One COUNT(DISTINCT path) per disk over every copy of a
    100,000-file card took 0.43 s of a 10,000,000-file server catalog's safe to format; this takes 0.1 s."""
    own = card_disks(db, card_id) if own is None else list(own)
    set_lineage(db, card_id)
    lineage = "SELECT d.id FROM destinations d WHERE d.offload_id IN (SELECT id FROM lineage_offloads)"
    verified = dict(db.run(
        "SELECT c.destination_id, COUNT(*) FROM copies c WHERE c.state = 'verified'"
        f" AND c.destination_id IN ({lineage}) GROUP BY c.destination_id").fetchall())
    disks: dict[str, dict] = {}
    for dest, disk, label, path in db.run(
            "SELECT d.id, v.disk, v.label, d.path FROM destinations d JOIN volumes v ON v.id = d.volume_id"
            " WHERE d.offload_id IN (SELECT id FROM lineage_offloads) ORDER BY v.disk, d.id").fetchall():
        if not verified.get(dest):
            continue
        entry = disks.setdefault(disk, {"dests": [], "labels": set(), "paths": set()})
        entry["dests"].append(dest)
        entry["labels"].update([label] if label else [])
        entry["paths"].add(path)
    made = _made_by(db)
    out = []
    for disk, entry in sorted(disks.items()):
        dests = entry["dests"]
        count = int(verified[dests[0]]) if len(dests) == 1 else _distinct_paths(db, dests)
        out.append({"disk": disk, "labels": ",".join(sorted(entry["labels"])) or None,
                    "paths": sorted(entry["paths"]), "files_verified": count, "card_disk": disk in own,
                    **made.get(disk, {"media_kind": None, "stations": [], "sites": []})})
    return out


def _distinct_paths(db: Catalog, dests: Sequence[int]) -> int:
    """The card's files with a verified copy in one of the destinations `dests` (one disk's), each path once."""
    marks, params = in_list("dest", dests)
    return int(db.value(
        "SELECT COUNT(*) FROM (SELECT DISTINCT g.rel_path FROM copies c JOIN files g ON g.id = c.file_id"
        f" WHERE c.state = 'verified' AND c.destination_id IN {marks}) x", params) or 0)


def _made_by(db: Catalog) -> dict[str, dict]:
    """Per disk holding verified copies of the lineage (set by the caller): its media kind (None: not said)
    and the stations that made the copies, with their sites: 'which station made each copy'."""
    rows = db.run(
        "SELECT DISTINCT v.disk, v.media_kind, o.station, o.site FROM offloads o"
        " JOIN destinations d ON d.offload_id = o.id JOIN volumes v ON v.id = d.volume_id"
        " WHERE o.id IN (SELECT id FROM lineage_offloads) AND EXISTS (SELECT 1 FROM copies c"
        " WHERE c.destination_id = d.id AND c.state = 'verified')").fetchall()
    out: dict[str, dict] = {}
    for disk, media, station, site in rows:
        entry = out.setdefault(disk, {"media_kind": None, "stations": [], "sites": []})
        entry["media_kind"] = entry["media_kind"] or media
        if station and station not in entry["stations"]:
            entry["stations"].append(station)
        if site and site not in entry["sites"]:
            entry["sites"].append(site)
    for entry in out.values():
        entry["stations"].sort()
        entry["sites"].sort()
    return out
