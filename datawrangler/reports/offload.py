"""The offload report: one card, one offload, from the catalog."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from datawrangler.core.cards import count_clips
from datawrangler.reports import clipview, common, stages
from datawrangler.reports.common import camera_of, meta, verdict, volume
from datawrangler.reports.fmt import plural
from datawrangler.reports.model import CardInfo, Destination, FileRow, OffloadReport, Problem
from datawrangler.reports.stagemodel import Cascade
from datawrangler.store import clips as store_clips
from datawrangler.store import reads_reports as query
from datawrangler.store.db import Catalog

MAX_FAILURES = 50  # listed one by one, with their messages; the rest are counted by drive and code
MAX_SKIPPED = 20
_QUIET_EVENTS = ("started", "finished", "skipped", "resumed", "released", "queued")  # the report says these


class UnknownOffload(LookupError):
    pass


def build(db: Catalog, offload_id: int, *, required: int = 2, with_files: bool = False,
          shooting_day: str | None = None, location: str | None = None, now: float | None = None,
          paper: str = "a4") -> OffloadReport:
    o = query.offload(db, offload_id)
    if o is None:
        raise UnknownOffload(f"There is no offload {offload_id} in the catalog. 'datawrangler history' lists them.")
    c = query.card(db, o["card_id"]) or {}
    # the report's flags win over what the offload recorded
    shooting_day = shooting_day or common.shooting_day([o.get("shooting_day")])
    location = location or common.location([o.get("location")])
    reel = o["reel"] or c.get("reel")
    card = CardInfo(o["card_id"], c.get("label"), c.get("vendor"), camera_of(o["camera"], reel), reel,
                    c.get("fingerprint"), o["source"], volume(query.volume(db, c.get("volume_id"))))
    dests = tuple(_destination(db, d) for d in query.destinations(db, offload_id))
    counts = query.status_counts(db, offload_id)
    algorithms = tuple(a for a in (o["algorithms"] or "").split(",") if a)
    failures, total, grouped = _failures(db, offload_id)
    skipped = query.events(db, offload_id, ("skipped",))
    cascade = stages.of_offload(db, o)
    files = tuple(iter_files(db, offload_id, algorithms)) if with_files else None
    rows = store_clips.offload_clips(db, offload_id)  # one query, whatever the clips' frame counts
    clip_table = clipview.lines(rows, store_clips.thumbnails_root(db)) if rows else None
    return OffloadReport(
        meta=meta("offload", "Offload report", f"{reel or card.label or 'card'} · offload {offload_id}",
                  o["project"], required, now=now, paper=paper),
        offload_id=offload_id, uuid=o["uuid"], state=o["state"], message=o["message"] or "",
        operator=o["operator"] or None, host=o["host"], shooting_day=shooting_day, location=location,
        card=card, destinations=dests, algorithms=algorithms, verify_mode=o["verify_mode"] or "",
        cache_bypass=_cache_sentence(dests, o["verify_mode"]),
        files_total=sum(counts.values()), files_verified=counts.get("verified", 0),
        files_copied=counts.get("copied", 0), files_failed=counts.get("failed", 0),
        files_pending=counts.get("pending", 0), skipped=len(skipped),
        bytes_total=o["bytes_total"] or 0, clips=count_clips(query.rel_paths(db, offload_id)),
        started_at=o["started_at"], ended_at=o["ended_at"], resumes=o["resumes"] or 0,
        incremental_of=o["incremental_of"], verdict=verdict(db, o["card_id"], required),
        warnings=_warnings(db, o, card, dests, counts, skipped, cascade), failures=failures, failures_total=total,
        failures_grouped=grouped, files=files, clip_table=clip_table, cascade=cascade)


def iter_files(db: Catalog, offload_id: int, algorithms: tuple[str, ...]) -> Iterator[FileRow]:
    """The per-file table of an offload, one row at a time from the catalog's cursor, in listing order: the
    report's CSV is written from this, so that an offload of a million files never holds a row for each.
    `algorithms`: the report's, in its order (a digest the file lacks is '')."""
    ids = [d["id"] for d in query.destinations(db, offload_id)]
    for p, size, dig, status, _code, message, results in query.file_rows(db, offload_id, ids):
        yield FileRow(p, size, tuple(dig.get(a, "") for a in algorithms), status, results, message or "")


def _destination(db: Catalog, d: dict[str, Any]) -> Destination:
    return Destination(d["idx"] + 1, d["path"], volume(query.volume(db, d["volume_id"])), d["state"] or "",
                       d["files_ok"] or 0, d["files_failed"] or 0, d["verified"], d["copied"],
                       d["already_present"], d["bypassed"], d["not_bypassed"], d["code"], d["message"], d["changed"])


def _cache_sentence(dests: tuple[Destination, ...], mode: str | None) -> str:
    if mode == "size":
        return "No read-back: verify mode 'size' compares sizes only."
    yes = sum(d.bypassed for d in dests)
    no = sum(d.not_bypassed for d in dests)
    if not yes and not no:
        return "No copy was read back."
    if not no:
        return f"Yes: all {yes:,} read-backs came from the drives, not from the OS cache."
    tags = ", ".join(d.tag for d in dests if d.not_bypassed)
    return (f"NOT for {no:,} of {yes + no:,} read-backs ({tags}): that filesystem cannot bypass the OS cache, "
            "so those read-backs may have come from memory.")


def _failures(db: Catalog, offload_id: int
              ) -> tuple[tuple[Problem, ...], int, tuple[tuple[str, str, int], ...]]:
    shown: list[Problem] = []
    groups: Counter[tuple[str, str]] = Counter()
    rows = [(f"D{idx + 1}", p, code, msg) for idx, p, code, msg in query.failed_copies(db, offload_id)]
    rows += [("card", p, code, msg) for p, code, msg in query.failed_files_without_copy(db, offload_id)]
    for where, path, code, message in rows:
        groups[(where, code or "failed")] += 1
        if len(shown) < MAX_FAILURES:
            shown.append(Problem(where, path, code or "failed", message or ""))
    grouped = tuple((w, c, n) for (w, c), n in sorted(groups.items()))
    return tuple(shown), len(rows), grouped


def _warnings(db: Catalog, o: dict[str, Any], card: CardInfo, dests: tuple[Destination, ...],
              counts: dict[str, int], skipped: list[dict[str, Any]], cascade: Cascade | None) -> tuple[Problem, ...]:
    out: list[Problem] = []
    if o["verify_mode"] == "size":
        out.append(Problem("", "", "size_only", "Verify mode 'size': sizes were compared, no copy was read back. "
                           "This offload can never make the card safe to format."))
    by_disk: dict[str, list[str]] = {}
    for d in dests:
        if d.volume and d.volume.disk:
            by_disk.setdefault(d.volume.disk, []).append(d.tag)
    for tags in by_disk.values():
        if len(tags) > 1:
            out.append(Problem(", ".join(tags), "", "same_volume", f"{' and '.join(tags)} are on one physical drive: "
                               "they count as one copy, not several."))
    card_disk = card.source_volume.disk if card.source_volume else None
    for d in dests:
        if card_disk and d.volume and d.volume.disk == card_disk:
            out.append(Problem(d.tag, d.path, "same_drive_as_card",
                               f"{d.tag} is on the same drive as the card: it is not a backup of it."))
        made = cascade.made_from_volume if cascade else None
        if cascade and made and made.disk and d.volume and d.volume.disk == made.disk:
            out.append(Problem(d.tag, d.path, "same_drive_as_source",
                               f"{d.tag} is on the same drive as the stage-1 copy it was made from "
                               f"({cascade.made_from_path}): it adds no copy on a drive of its own."))
        if d.not_bypassed:
            out.append(Problem(d.tag, d.path, "cache_not_bypassed",
                               f"{d.not_bypassed:,} read-backs on {d.tag} may have come from the OS cache (this "
                               "filesystem cannot bypass it). Re-verify the drive after a remount."))
        if d.message and d.state != "verified":
            out.append(Problem(d.tag, d.path, d.code or d.state, d.message))
    if counts.get("pending"):
        pending = counts["pending"]
        out.append(Problem("", "", "not_copied", f"{plural(pending, 'file')} {'was' if pending == 1 else 'were'} "
                           f"not copied: the offload did not finish. Run 'datawrangler resume {o['id']}'."))
    if o["resumes"]:
        out.append(Problem("", "", "resumed", f"The offload was resumed {o['resumes']} time(s); files verified "
                           "before a resume were not copied again."))
    if o["incremental_of"]:
        out.append(Problem("", "", "incremental", f"Incremental offload: files that offload {o['incremental_of']} "
                           "had already verified on these destinations were not copied again."))
    for e in query.events(db, o["id"]):
        if e["kind"] not in _QUIET_EVENTS and e["message"]:
            out.append(Problem("", "", e["code"] or e["kind"], e["message"]))
    for e in skipped[:MAX_SKIPPED]:
        out.append(Problem("card", e["data"].get("path", ""), e["code"] or "skipped", e["message"]))
    if len(skipped) > MAX_SKIPPED:
        more = len(skipped) - MAX_SKIPPED
        entries = "entry" if more == 1 else "entries"
        out.append(Problem("card", "", "skipped", f"… and {more:,} more {entries} skipped."))
    return tuple(out)
