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
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlite_utils import Database

from datawrangler.core.protection import Copy, Judgement, MediaKind, Rule, judge
from datawrangler.core.words import agree, plural
from datawrangler.store.cards import lineage_offloads

_PER_FILE = """
SELECT l.rel_path, l.size,
  COUNT(DISTINCT CASE WHEN c.state = 'verified'{not_card} THEN v.disk END),
  COALESCE(SUM(c.state = 'verified'), 0),
  COALESCE(SUM(c.state IN ('failed', 'stale', 'missing', 'changed', 'unreadable')), 0),
  COALESCE(SUM(c.state = 'copied'), 0),
  COUNT(g.id) > 0,
  {on_card},
  l.mtime_ns
FROM {listing} l
LEFT JOIN files g INDEXED BY idx_files_offload_id_rel_path ON g.offload_id IN (SELECT id FROM temp.lineage_offloads)
  AND g.rel_path = l.rel_path AND g.size = l.size AND g.mtime_ns = l.mtime_ns
LEFT JOIN copies c ON c.file_id = g.id
LEFT JOIN destinations d ON d.id = c.destination_id
LEFT JOIN volumes v ON v.id = d.volume_id
GROUP BY l.rowid
"""


@dataclass(frozen=True)
class FileRedundancy:
    rel_path: str
    size: int
    disks: int  # distinct physical disks holding a verified copy
    verified: int  # verified copies (several may share a disk)
    failed: int
    unverified: int  # copied, sizes checked only
    known: bool  # the catalog lists this file for the card
    on_card_disk: int = 0  # verified copies on the card's own disk: not counted in `disks`
    mtime_ns: int = 0


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


def _set_lineage(db: Database, card_id: int) -> None:
    with db.atomic():
        db.conn.execute("DROP TABLE IF EXISTS temp.lineage_offloads")
        db.conn.execute("CREATE TEMP TABLE lineage_offloads (id INTEGER PRIMARY KEY)")
        db.conn.executemany("INSERT INTO temp.lineage_offloads (id) VALUES (?)",
                            [(oid,) for oid in lineage_offloads(db, card_id)])


def _same_place(source: str, mount_point: str) -> bool:
    def norm(path: str) -> str:
        return os.path.normcase(os.path.normpath(path))
    return norm(source) == norm(mount_point) or norm(os.path.realpath(source)) == norm(mount_point)


def card_disks(db: Database, card_id: int) -> list[str]:
    """The physical disks that formatting this card erases: the disk of the card's volume, for each offload
    of its lineage whose source was that volume's mount point (the whole card). Empty when every offload
    read a folder (see the module docstring)."""
    ids = lineage_offloads(db, card_id)
    rows = db.conn.execute(
        "SELECT DISTINCT o.source, v.last_mount_point, v.disk FROM offloads o JOIN cards c ON c.id = o.card_id"
        f" JOIN volumes v ON v.id = c.volume_id WHERE o.id IN ({', '.join('?' for _ in ids)})", ids).fetchall()
    return sorted({disk for source, mount, disk in rows if source and mount and _same_place(source, mount)})


def per_file(db: Database, card_id: int, listing: Iterable[tuple[str, int, int]] | None = None,
             own: Sequence[str] | None = None) -> list[FileRedundancy]:
    """Each file of the card (its latest offload's listing, or `listing` as scanned from the card now).
    Verified copies on the disks `own` (default: card_disks) are counted apart, in on_card_disk."""
    own = card_disks(db, card_id) if own is None else list(own)
    _set_lineage(db, card_id)
    if listing is None:
        # the latest offload that read the card (a stage-2 copy lists only what its stage-1 copy held)
        latest = db.conn.execute("SELECT o.id FROM offloads o WHERE o.card_id = ? AND COALESCE(o.stage, 1) = 1"
                                 " ORDER BY o.started_at DESC LIMIT 1", (card_id,)).fetchone()
        latest_id = int(latest[0]) if latest else -1
        source = ("(SELECT rowid, rel_path, size, mtime_ns FROM files INDEXED BY idx_files_offload_id_rel_path"
                  f" WHERE offload_id = {latest_id})")
    else:
        with db.atomic():
            db.conn.execute("DROP TABLE IF EXISTS temp.listing")
            db.conn.execute("CREATE TEMP TABLE listing (rel_path TEXT, size INTEGER, mtime_ns INTEGER)")
            db.conn.executemany("INSERT INTO temp.listing VALUES (?, ?, ?)", listing)
        source = "temp.listing"
    if own:  # the disk names are parameters; without any, the query is the plain one
        marks = ", ".join("?" for _ in own)
        sql = _PER_FILE.format(listing=source, not_card=f" AND v.disk NOT IN ({marks})",
                               on_card=f"COALESCE(SUM(c.state = 'verified' AND v.disk IN ({marks})), 0)")
        rows = db.conn.execute(sql, [*own, *own]).fetchall()
    else:
        rows = db.conn.execute(_PER_FILE.format(listing=source, not_card="", on_card="0")).fetchall()
    return [FileRedundancy(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8]) for r in rows]


def card_redundancy(db: Database, card_id: int | None, required: int | Rule = 2,
                    listing: Iterable[tuple[str, int, int]] | None = None) -> CardRedundancy:
    """Safe to format? With the reasons when not, most important first. `required`: the rule, or a number
    of copies on distinct drives (the rule every caller had before core.protection)."""
    rule = required if isinstance(required, Rule) else Rule(int(required))
    required = rule.copies
    if card_id is None:
        out = CardRedundancy(None, None, required, files_total=len(list(listing or ())), rule=rule)
        out.weakest = judge(rule, ())
        out.reasons.append("This card was never offloaded: the catalog holds no copy of it.")
        return out
    reel = db.conn.execute("SELECT reel FROM cards WHERE id = ?", (card_id,)).fetchone()
    out = CardRedundancy(card_id, reel[0] if reel else None, required, rule=rule)
    out.card_disks = card_disks(db, card_id)
    files = per_file(db, card_id, listing, out.card_disks)
    judged = _judge_files(db, rule, files, out.card_disks)
    out.files_total = len(files)
    unknown = [f for f in files if not f.known]
    failed = [f for f in files if f.failed and f.disks < required]
    unverified = [f for f in files if f.unverified and f.disks < required]
    on_card = [f for f in files if f.on_card_disk and f.disks < required]
    # several verified copies on one counted disk (copies on the card's own disk are said apart)
    shared = [f for f in files if f.verified - f.on_card_disk > f.disks and f.disks < required]
    short = [f for f in files if f.disks < required]
    beyond = [f for f, j in zip(files, judged, strict=True) if f.disks >= required and not j.met]
    out.weakest = max(judged, key=_distance, default=None)
    unread = unreadable_entries(db, card_id) if listing is None else []
    out.files_ok = len(files) - len(short) - len(beyond)
    out.min_disks = min((f.disks for f in files), default=0)
    out.short = (short + beyond)[:20]
    out.safe = bool(files) and not short and not beyond and not unread
    if unread:
        n = len(unread)
        out.reasons.append(f"{plural(n, 'entry')} of the card could not be read at its last offload, so "
                           f"{agree(n, 'it has', 'they have')} no copy, e.g. {unread[0]}. Fix the card's permissions "
                           "or reader, then offload it again.")
    if not files:
        out.reasons.append("The catalog lists no files for this card.")
    if unknown:
        out.reasons.append(f"{plural(len(unknown), 'file')} on the card {agree(len(unknown), 'was', 'were')} never "
                           f"offloaded (added after the last offload?), e.g. {unknown[0].rel_path}. Offload the card "
                           "again (--incremental).")
    lost = _lost_in_stage2(db, {f.rel_path for f in failed}) if failed else set()
    if lost:
        first = min(lost)
        out.reasons.append(f"{plural(len(lost), 'file')} {agree(len(lost), 'has', 'have')} a stage-1 copy that "
                           "stage 2 found changed, missing or unreadable (it no longer counts), e.g. "
                           f"{first}. Copy {agree(len(lost), 'it', 'them')} again from the card; do not format it.")
    failed = [f for f in failed if f.rel_path not in lost]
    if failed:
        out.reasons.append(f"{plural(len(failed), 'file')} {agree(len(failed), 'has', 'have')} a copy that failed "
                           "(at the offload or a later re-verify: missing, changed, unreadable), e.g. "
                           f"{failed[0].rel_path}. Resume or repeat the offload.")
    if on_card:
        where = "only on" if all(f.disks == 0 for f in on_card) else "on"
        one = sum(f.on_card_disk for f in on_card) == 1
        out.reasons.append(f"{plural(len(on_card), 'file')} {agree(len(on_card), 'has', 'have')} "
                           f"{'a copy' if one else 'copies'} {where} the card's own drive, which formatting the card "
                           f"erases, so {'that copy does' if one else 'those copies do'} not count, e.g. "
                           f"{on_card[0].rel_path}. Copy {agree(len(on_card), 'it', 'them')} to another drive.")
    if unverified:
        out.reasons.append(f"{plural(len(unverified), 'file')} {agree(len(unverified), 'was', 'were')} copied with "
                           "sizes checked only (verify mode 'size'): not verified.")
    if shared:
        out.reasons.append(f"{plural(len(shared), 'file')} {agree(len(shared), 'has', 'have')} copies in several "
                           f"folders of one drive, which count as one copy, e.g. {shared[0].rel_path}. Copy to "
                           "another drive.")
    rest = len(short) - len({f.rel_path for f in unknown + failed + on_card + unverified + shared} | lost)
    if rest > 0:
        out.reasons.append(_fewer(rest, required))
    if short and not out.reasons:
        out.reasons.append(_fewer(len(short), required))
    if (short or beyond) and out.weakest is not None and not _plain(rule):
        out.reasons.append(_rule_reason(rule, len(short) + len(beyond), out.weakest))
    out.disks = disks_of_card(db, card_id, out.card_disks)
    return out


def _plain(rule: Rule) -> bool:
    """N copies on distinct drives: judged by the per-file disk count alone, as before core.protection."""
    return rule.media_kinds == 1 and rule.sites == 1


def _distance(j: Judgement) -> tuple[int, int, int, int, int]:
    """How far a file is from the rule; among equals, the one with the fewest copies, kinds, places."""
    return j.more_copies, int(j.needs_media) + int(j.needs_site), -j.copies, -j.media_kinds, -j.sites


def _rule_reason(rule: Rule, n: int, weakest: Judgement) -> str:
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


def _judge_files(db: Database, rule: Rule, files: Sequence[FileRedundancy],
                 own: Sequence[str]) -> list[Judgement]:
    """Each file judged by core.protection.judge over its verified copies on the drives that count. For N
    copies the per-file disk count is the whole answer; a rule that counts kinds of media or places reads
    each counted copy's drive kind and the site of the offload that made it (lineage set by per_file). Files
    with the same copies share one judgement: a card's files are nearly always on the same drives."""
    if _plain(rule):
        by_count: dict[int, Judgement] = {}
        return [by_count.get(f.disks) or by_count.setdefault(f.disks, judge(rule, (Copy(str(i)) for i in
                                                                                  range(f.disks))))
                for f in files]
    where = f" AND v.disk NOT IN ({', '.join('?' for _ in own)})" if own else ""
    every = _same_copies(db, files, where, own)
    if every is not None:  # every file is on every drive that holds copies: one judgement for all
        judged = judge(rule, (Copy(disk, _kind(media), site or None) for disk, media, site in every))
        return [judged] * len(files)
    rows = db.conn.execute(
        "SELECT DISTINCT g.rel_path, g.size, g.mtime_ns, v.disk, v.media_kind, o.site"
        " FROM files g JOIN copies c ON c.file_id = g.id JOIN destinations d ON d.id = c.destination_id"
        " JOIN volumes v ON v.id = d.volume_id JOIN offloads o ON o.id = d.offload_id"
        " WHERE c.state = 'verified' AND g.offload_id IN (SELECT id FROM lineage_offloads)" + where,
        list(own)).fetchall()
    copies: dict[tuple[str, int, int], set[tuple[str, str, str]]] = {}
    for rel_path, size, mtime_ns, disk, media, site in rows:
        copies.setdefault((rel_path, size, mtime_ns), set()).add((disk, media or "", site or ""))
    cache: dict[frozenset[tuple[str, str, str]], Judgement] = {}
    out = []
    for f in files:
        held = frozenset(copies.get((f.rel_path, f.size, f.mtime_ns), ()))
        if held not in cache:
            cache[held] = judge(rule, (Copy(disk, _kind(media), site or None) for disk, media, site in sorted(held)))
        out.append(cache[held])
    return out


def _same_copies(db: Database, files: Sequence[FileRedundancy], where: str,
                 own: Sequence[str]) -> list[tuple[str, str, str]] | None:
    """The (drive, media kind, site) of every drive holding verified copies of the lineage, when each file
    provably has a copy on every one of them: its count of drives (per_file) is the number of drives, and each
    drive has one kind and one site. None otherwise (the files are judged one by one). A card's files nearly
    always share their drives, and this asks the catalog per destination, not per copy."""
    rows = db.conn.execute(
        "SELECT DISTINCT v.disk, v.media_kind, o.site FROM offloads o JOIN destinations d ON d.offload_id = o.id"
        " JOIN volumes v ON v.id = d.volume_id WHERE o.id IN (SELECT id FROM lineage_offloads) AND EXISTS"
        " (SELECT 1 FROM copies c WHERE c.destination_id = d.id AND c.state = 'verified')" + where,
        list(own)).fetchall()
    drives = {r[0] for r in rows}
    if len(drives) != len(rows) or any(f.disks != len(drives) for f in files):
        return None
    return sorted((disk, media or "", site or "") for disk, media, site in rows)


def _kind(text: str) -> MediaKind | None:
    try:
        return MediaKind(text) if text else None
    except ValueError:  # a kind written by a newer DataWrangler: not one this version can count
        return None


def _lost_in_stage2(db: Database, paths: set[str]) -> set[str]:
    """Of these files of the card (lineage set by per_file), those with a stage-1 copy that a stage-2 copy
    found no longer holding the card's file (store.cascade.mark_stage1): the card must be read again."""
    rows = db.conn.execute(
        "SELECT DISTINCT g.rel_path FROM files g JOIN copies c ON c.file_id = g.id"
        " WHERE g.offload_id IN (SELECT id FROM temp.lineage_offloads) AND c.state IN ('changed', 'missing',"
        " 'unreadable') AND EXISTS (SELECT 1 FROM verifications v WHERE v.copy_id = c.id AND v.method ="
        " 'stage2-read')").fetchall()
    return {r[0] for r in rows} & paths


def _fewer(n: int, required: int) -> str:
    files = f"{plural(n, 'file')} {agree(n, 'has', 'have')}"
    if required == 1:
        return f"{files} no verified copy."
    return f"{files} fewer than {required} verified copies on distinct drives."


def unreadable_entries(db: Database, card_id: int) -> list[str]:
    """Entries the card's latest offload could not read (scan errors: they are not in its file listing, so
    no per-file count can see them) and that it did not record as files since (a resume after a fix). The
    latest offload that read the card: a stage-2 copy (cascade) read a stage-1 copy, not the card."""
    rows = db.conn.execute(
        "SELECT json_extract(e.data, '$.path') FROM events e WHERE e.kind = 'skipped' AND e.code = 'unreadable'"
        " AND e.offload_id = (SELECT id FROM offloads WHERE card_id = ? AND COALESCE(stage, 1) = 1"
        " ORDER BY started_at DESC LIMIT 1)"
        " AND NOT EXISTS (SELECT 1 FROM files f WHERE f.offload_id = e.offload_id"
        " AND f.rel_path = json_extract(e.data, '$.path'))", (card_id,)).fetchall()
    return sorted({r[0] for r in rows if r[0]})


def disks_of_card(db: Database, card_id: int, own: Sequence[str] | None = None) -> list[dict]:
    """The disks holding verified copies of the card's lineage; `card_disk`: the card's own disk (see
    card_disks: its copies do not count)."""
    own = card_disks(db, card_id) if own is None else list(own)
    _set_lineage(db, card_id)
    rows = db.conn.execute(
        "SELECT v.disk, group_concat(DISTINCT v.label), group_concat(DISTINCT d.path), COUNT(DISTINCT g.rel_path)"
        " FROM files g JOIN copies c ON c.file_id = g.id AND c.state = 'verified'"
        " JOIN destinations d ON d.id = c.destination_id JOIN volumes v ON v.id = d.volume_id"
        " WHERE g.offload_id IN (SELECT id FROM temp.lineage_offloads) GROUP BY v.disk ORDER BY v.disk").fetchall()
    made = _made_by(db)
    return [{"disk": r[0], "labels": r[1], "paths": (r[2] or "").split(","), "files_verified": r[3],
             "card_disk": r[0] in own, **made.get(r[0], {"media_kind": None, "stations": [], "sites": []})}
            for r in rows]


def _made_by(db: Database) -> dict[str, dict]:
    """Per disk holding verified copies of the lineage (set by the caller): its media kind (None: not said)
    and the stations that made the copies, with their sites: 'which station made each copy'."""
    rows = db.conn.execute(
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
