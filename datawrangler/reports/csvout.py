"""Every table of a report as CSV (UTF-8, one header row, sizes in bytes, times ISO 8601 with offset).

The report's main table goes to the path asked for; each other table beside it as <stem>.<table>.csv.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from datawrangler.reports.clipmodel import ClipTable
from datawrangler.reports.model import ContactSheet, DayReport, FileRow, OffloadReport, RedundancyReport, Report

Table = tuple[Sequence[str], Iterable[Sequence[Any]]]


def _iso(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds") if ts else ""


def tables(report: Report, files: Iterable[FileRow] | None = None) -> dict[str, Table]:
    """Name -> (header, rows), the main table first. `files`: an offload report's per-file rows when they are
    streamed from the catalog (offload.iter_files) rather than held in the report."""
    if isinstance(report, OffloadReport):
        return _offload(report, report.files if files is None else files)
    if isinstance(report, DayReport):
        return _day(report)
    if isinstance(report, ContactSheet):
        return {"clips": _clips(report.table)}
    return _redundancy(report)


CLIP_COLUMNS = ["reel", "clip", "kind", "state", "flagged", "warnings", "notes", "tc_in", "tc_out", "duration",
                "duration_s", "frames", "first_frame", "last_frame", "missing_frames", "codec", "width", "height",
                "fps", "audio_channels", "sample_rate", "bit_depth", "files", "bytes", "offload", "thumbnail"]


def _clips(t: ClipTable) -> Table:
    """One row per clip: the values as read (durations also in seconds), warnings in words."""
    return (CLIP_COLUMNS, ([c.reel or "", c.name, c.kind, c.state, "yes" if c.flagged else "no", "; ".join(c.marks),
                            "; ".join(c.notes), c.tc_in or "", c.tc_out or "", c.duration or "",
                            "" if c.seconds is None else round(c.seconds, 3), _blank(c.frames),
                            _blank(c.first_frame), _blank(c.last_frame), c.missing, c.codec or "", _blank(c.width),
                            _blank(c.height), c.rate or "", _blank(c.channels), _blank(c.sample_rate),
                            _blank(c.bit_depth), c.files, c.bytes, c.offload_id,
                            str(c.thumb.path) if c.thumb else ""] for c in t.lines))


def _blank(n: int | None) -> int | str:
    return "" if n is None else n


def _offload(r: OffloadReport, files: Iterable[FileRow] | None) -> dict[str, Table]:
    tags = [d.tag for d in r.destinations]
    out: dict[str, Table] = {}
    if files is not None:
        out["files"] = (["path", "size", "status", *r.algorithms, *tags, "message"],
                        ([f.path, f.size, f.status, *f.digests, *f.results, f.message] for f in files))
    v = r.verdict
    summary = [
        ("offload", r.offload_id), ("offload_uuid", r.uuid), ("production", r.meta.production or ""),
        ("shooting_day", r.shooting_day or ""), ("date", _iso(r.started_at)[:10]), ("dit", r.operator or ""),
        ("location", r.location or ""), ("station", r.host or ""), ("card_label", r.card.label or ""),
        ("vendor", r.card.vendor or ""), ("camera", r.card.camera or ""), ("reel", r.card.reel or ""),
        ("fingerprint", r.card.fingerprint or ""), ("source", r.card.source),
        ("algorithms", ",".join(r.algorithms)), ("verify_mode", r.verify_mode), ("cache_bypass", r.cache_bypass),
        ("files", r.files_total), ("files_verified", r.files_verified), ("files_copied", r.files_copied),
        ("files_failed", r.files_failed), ("files_not_copied", r.files_pending), ("skipped", r.skipped),
        ("bytes", r.bytes_total), ("clips", r.clips), *_clip_summary(r.clip_table), ("start", _iso(r.started_at)),
        ("end", _iso(r.ended_at)),
        ("duration_s", "" if r.duration is None else round(r.duration, 3)),
        ("bytes_per_s", round(r.bytes_total / r.duration) if r.duration else ""), ("result", r.state),
        ("result_message", r.message), ("verdict", r.headline), ("safe_to_format", "yes" if v.safe else "no"),
        ("copies_on_distinct_drives", v.copies), ("copies_required", v.required), ("reasons", " ".join(v.reasons)),
        ("generated", _iso(r.meta.generated_at)), ("app_version", r.meta.app_version)]
    summary += _stage_summary(r)
    out["summary"] = (["field", "value"], summary)
    out["destinations"] = (
        ["destination", "path", "volume_label", "volume_identity", "disk", "mount_point", "fstype", "result",
         "files_ok", "files_failed", "copies_verified", "copies_size_only", "already_present",
         "readbacks_bypassing_cache", "readbacks_maybe_cached", "code", "message", "copies_changed_since"],
        ([d.tag, d.path, d.volume.label if d.volume else "", d.volume.key if d.volume else "",
          d.volume.disk if d.volume else "", d.volume.mount_point if d.volume else "",
          d.volume.fstype if d.volume else "", d.state, d.files_ok, d.files_failed, d.copies_verified,
          d.copies_copied, d.already_present, d.bypassed, d.not_bypassed, d.code or "", d.message or "", d.changed]
         for d in r.destinations))
    ct = r.clip_table
    out["problems"] = (["kind", "where", "path", "code", "message"],
                       [*(("failure", p.where, p.path, p.code, p.message) for p in r.failures),
                        *(("warning", p.where, p.path, p.code, p.message) for p in r.warnings),
                        *(("warning", "clip", c.name, "clip_flagged", "; ".join(c.marks))
                          for c in (ct.flagged if ct else ()))])
    if r.cascade is not None and r.cascade.stage2:
        out["stage2"] = (["offload", "state", "destinations", "made_from", "files", "files_verified", "files_failed",
                          "files_stage1_mismatch"],
                         ([s.offload_id, s.state, " ".join(s.destinations), s.made_from, s.files, s.files_verified,
                           s.files_failed, s.files_mismatched] for s in r.cascade.stage2))
    if ct is not None:  # clips read: their table (an offload whose clips were not read has none)
        out["clips"] = _clips(ct)
    if "files" not in out:  # the summary is the main table when the per-file list was not built
        out = {"summary": out.pop("summary"), **out}
    return out


def _stage_summary(r: OffloadReport) -> list[tuple[str, object]]:
    """The cascade's fields: stage 1 (released, its stage-2 offloads) or stage 2 (what it was made from)."""
    c = r.cascade
    if c is None:
        return [("stage", 1)]
    if c.stage == 2:
        return [("stage", 2), ("stage1_offload", c.stage1 or ""), ("made_from", c.made_from_path or ""),
                ("made_from_volume", c.made_from_volume.name if c.made_from_volume else ""),
                ("made_from_sentence", c.made_from)]
    return [("stage", 1), ("released", "yes" if c.released else "no"), ("released_at", _iso(c.released_at)),
            ("stage2_asked", " ".join(c.asked)), ("stage2_offloads", " ".join(str(s.offload_id) for s in c.stage2)),
            ("stage2_waiting", " ".join(str(s.offload_id) for s in c.waiting))]


def _clip_summary(t: ClipTable | None) -> list[tuple[str, object]]:
    if t is None:
        return [("clips_read", "no")]
    return [("clips_read", "yes"), ("clips_in_table", t.count), ("running_time", t.running_time or ""),
            ("running_time_s", round(t.seconds, 3)), ("clips_flagged", len(t.flagged)),
            ("clips_metadata_not_read", t.not_read)]


def _day(r: DayReport) -> dict[str, Table]:
    return {
        "cards": (["reel", "camera", "card_label", "clips", "files", "bytes", "copies_on_distinct_drives",
                   "copies_required", "safe_to_format", "reasons", "offload", "result", "failed_copies", "start",
                   "released", "stage2"],
                  ([c.reel or "", c.camera or "", c.label or "", c.clips, c.files, c.bytes, c.verdict.copies,
                    c.verdict.required, "yes" if c.verdict.safe else "no", " ".join(c.verdict.reasons),
                    c.offload_id, c.state, c.failures, _iso(c.started_at), "yes" if c.released else "no",
                    c.stage2_words] for c in r.cards)),
        "cameras": (["camera", "cards", "clips", "files", "bytes", "cards_safe_to_format"],
                    ([c.camera, c.cards, c.clips, c.files, c.bytes, c.safe] for c in r.cameras)),
        "drives": (["drive", "disk", "cards", "copies_verified", "bytes_verified", "copies_failed"],
                   ([d.name, d.disk, d.cards, d.copies_verified, d.bytes_verified, d.copies_failed] for d in r.drives)),
        "failures": (["card_destination", "path", "code", "message"],
                     ([p.where, p.path, p.code, p.message] for p in r.failures)),
    }


def _redundancy(r: RedundancyReport) -> dict[str, Table]:
    return {
        "cards": (["reel", "card_label", "card_id", "files", "bytes", "fewest_copies_on_distinct_drives",
                   "copies_required", "files_short", "safe_to_format", "reasons", "offloads", "stage2_not_ended",
                   "rule", "judgement"],
                  ([c.reel or "", c.label or "", c.card_id, c.files, c.bytes, c.verdict.copies, c.verdict.required,
                    c.files_short, "yes" if c.verdict.safe else "no", " ".join(c.verdict.reasons),
                    " ".join(map(str, c.offloads)), " ".join(f"{i}:{state}" for i, state in c.stage2_waiting),
                    c.verdict.rule, c.verdict.sentence]
                   for c in r.cards)),
        "drives": (["drive", "disk", "volume_identities", "reel", "card_id", "files_verified_here", "bytes_here",
                    "files_here_below_rule", "card_files", "card_safe_to_format", "made_from", "media_kind", "made_by"],
                   ([d.name, d.disk, " ".join(d.identities), c.reel or "", c.card_id, c.files, c.bytes,
                     c.files_short, c.card_files, "yes" if c.card_safe else "no", "; ".join(c.made_from),
                     d.media_kind, "; ".join(d.made_by)]
                    for d in r.drives for c in d.cards)),
        "short_files": (["reel", "card_id", "path", "copies_on_distinct_drives"],
                        ([c.reel or "", c.card_id, p, n] for c in r.cards for p, n in c.short_sample)),
    }


def write_csv(report: Report, path: str | os.PathLike[str], files: Iterable[FileRow] | None = None) -> list[Path]:
    """The main table at path, the others beside it; returns every file written. `files` (an offload report's
    rows from offload.iter_files) are written as they come, never held."""
    main = Path(path)
    written = []
    for i, (name, (header, rows)) in enumerate(tables(report, files).items()):
        target = main if i == 0 else main.with_name(f"{main.stem}.{name}.csv")
        tmp = target.with_name(f".{target.name}.tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
        os.replace(tmp, target)
        written.append(target)
    return written
