"""Clips in the catalog: what `datawrangler.media` read of each clip of an offload, linked to its files.

`record_clips` replaces an offload's clips in one transaction (reading them again is idempotent).
`offload_clips`, `card_clips` and `day_clips` give `ClipRow`s to the reports, the window and the editorial
handoff (ALE, clip CSV). Thumbnails are JPEG files in the thumbnails folder beside the catalog
(`thumbnails_dir`); the catalog holds their paths relative to it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from datawrangler.core.clips import ClipGroup, ClipKind, ClipMeta, ClipState, clip_flags
from datawrangler.store.catalog import Catalog, column_names

THUMBNAILS = "thumbnails"


def thumbnails_dir(catalog: str | os.PathLike[str]) -> Path:
    """The folder beside the catalog file that holds the clips' thumbnails."""
    return Path(catalog).resolve().parent / THUMBNAILS


def thumbnails_root(db: Catalog) -> Path | None:
    """The thumbnails folder of the catalog `db` is open on (None for an in-memory catalog). A catalog on a
    server keeps them in this station's data folder (app.catalog.catalog_file): the station that read the clips
    shows their thumbnails; the others show the clips without them."""
    if db.is_server:
        from datawrangler.config import app_paths

        return app_paths().data_dir / THUMBNAILS
    row = db.run("PRAGMA database_list").fetchone()
    return thumbnails_dir(row[2]) if row and row[2] else None


@dataclass(frozen=True)
class ClipRecord:
    """One clip to record: its files on the card, what reading them found, its thumbnails (relative to
    `thumbnails_dir`), and the destination whose verified copy was read (None: none could be)."""

    group: ClipGroup
    meta: ClipMeta
    thumbnails: tuple[str, ...] = ()
    read_from: int | None = None


@dataclass(frozen=True)
class ClipRow:
    """A clip as the catalog holds it, with its offload's reel and roll for reports and the ALE."""

    id: int
    offload_id: int
    name: str
    kind: ClipKind
    files: int
    bytes: int
    first_frame: int | None
    last_frame: int | None
    gaps: tuple[tuple[int, int], ...]
    meta: ClipMeta
    thumbnails: tuple[str, ...]
    read_from: int | None
    read_at: float | None
    reel: str | None  # the offload's reel (A001)
    roll_name: str | None
    card_id: int | None
    file_paths: tuple[str, ...] = field(default=())  # rel paths on the card, in order

    @property
    def state(self) -> ClipState:
        return self.meta.state

    @property
    def flagged(self) -> bool:
        """Shown in red: possibly damaged, or a sequence with missing frames."""
        return self.meta.state is ClipState.DAMAGED or bool(self.gaps)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What is wrong with the clip, in words: missing frames first, then why it is possibly damaged."""
        return clip_flags(self.gaps, self.meta)


_META_COLUMNS = ("container", "codec", "width", "height", "fps", "duration", "frames", "tc_in", "tc_out", "reel",
                 "camera", "audio_channels", "sample_rate", "bit_depth", "scene", "take", "tape")


def record_clips(db: Catalog, offload_id: int, clips: Sequence[ClipRecord], *, at: float | None = None) -> int:
    """Replace offload `offload_id`'s clips with `clips`, each linked to its files (by rel_path). Files not
    in this offload are not linked. Returns the number of clips recorded."""
    at = time.time() if at is None else at
    rows = db.run("SELECT rel_path, id, size FROM files WHERE offload_id = ?", (offload_id,)).fetchall()
    file_ids = {path: fid for path, fid, _ in rows}
    sizes = {path: size for path, _, size in rows}
    with db.atomic():
        db.run("DELETE FROM clip_files WHERE clip_id IN (SELECT id FROM clips WHERE offload_id = ?)",
                        (offload_id,))
        db.run("DELETE FROM clips WHERE offload_id = ?", (offload_id,))
        for rec in clips:
            g, m = rec.group, rec.meta
            row = {
                "offload_id": offload_id, "name": g.name, "kind": g.kind.value, "state": m.state.value,
                "problems": json.dumps(list(m.problems)), "files": len(g.files),
                "bytes": sum(sizes.get(f, 0) for f in g.files),
                "first_frame": g.first_frame, "last_frame": g.last_frame,
                "gaps": json.dumps([list(x) for x in g.gaps]),
                **{c: getattr(m, c) for c in _META_COLUMNS},
                "tracks": json.dumps(list(m.tracks)), "extra": json.dumps(dict(m.extra), sort_keys=True),
                "thumbnails": json.dumps(list(rec.thumbnails)), "read_from": rec.read_from, "read_at": at,
            }
            cols = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            clip_id = db.new_id(f"INSERT INTO clips ({cols}) VALUES ({marks}) RETURNING id", tuple(row.values()))
            db.run_many("INSERT INTO clip_files (clip_id, file_id) VALUES (?, ?)"
                        " ON CONFLICT (file_id) DO UPDATE SET clip_id = excluded.clip_id",
                                [(clip_id, file_ids[f]) for f in (*g.files, *g.sidecars) if f in file_ids])
    return len(clips)


_SELECT = ("SELECT c.*, o.reel AS o_reel, o.roll_name AS o_roll, o.card_id AS o_card FROM clips c "
           "JOIN offloads o ON o.id = c.offload_id")


def _row(db: Catalog, r: dict, with_paths: bool) -> ClipRow:
    meta = ClipMeta(
        state=ClipState(r["state"]), problems=tuple(json.loads(r["problems"] or "[]")),
        **{c: r[c] for c in _META_COLUMNS},
        tracks=tuple(json.loads(r["tracks"] or "[]")), extra=json.loads(r["extra"] or "{}"))
    paths: tuple[str, ...] = ()
    if with_paths:
        paths = tuple(p for (p,) in db.run(
            "SELECT f.rel_path FROM clip_files cf JOIN files f ON f.id = cf.file_id WHERE cf.clip_id = ? "
            "ORDER BY f.rel_path", (r["id"],)))
    return ClipRow(r["id"], r["offload_id"], r["name"], ClipKind(r["kind"]), r["files"] or 0, r["bytes"] or 0,
                   r["first_frame"], r["last_frame"], tuple(tuple(g) for g in json.loads(r["gaps"] or "[]")),
                   meta, tuple(json.loads(r["thumbnails"] or "[]")), r["read_from"], r["read_at"],
                   r["o_reel"], r["o_roll"], r["o_card"], paths)


def _query(db: Catalog, where: str, args: tuple, with_paths: bool) -> list[ClipRow]:
    cur = db.run(f"{_SELECT} WHERE {where} ORDER BY o.started_at, o.id, c.name, c.id", args)
    names = column_names(cur)
    return [_row(db, dict(zip(names, r, strict=True)), with_paths) for r in cur.fetchall()]


def offload_clips(db: Catalog, offload_id: int, *, with_paths: bool = False) -> list[ClipRow]:
    """The clips of one offload, by name."""
    return _query(db, "c.offload_id = ?", (offload_id,), with_paths)


def card_clips(db: Catalog, card_id: int, *, with_paths: bool = False) -> list[ClipRow]:
    """The clips of every offload of a card (an incremental offload adds the clips it copied)."""
    return _query(db, "o.card_id = ?", (card_id,), with_paths)


def day_clips(db: Catalog, start: float, end: float, *, with_paths: bool = False) -> list[ClipRow]:
    """The clips of the offloads that started in [start, end) (a shooting day, by local midnight)."""
    return _query(db, "o.started_at >= ? AND o.started_at < ?", (start, end), with_paths)


def has_clips(db: Catalog, offload_id: int) -> bool:
    return db.run("SELECT 1 FROM clips WHERE offload_id = ? LIMIT 1", (offload_id,)).fetchone() is not None


@dataclass(frozen=True)
class CopyToRead:
    """Where an offload's verified copies are: a destination roll folder and the files verified in it."""

    destination_id: int
    roll: str
    verified: frozenset[str]


def readable_copies(db: Catalog, offload_id: int) -> list[CopyToRead]:
    """The offload's destinations, most verified files first: the clips are read from verified copies only,
    never from the card (it has gone back to the camera)."""
    out = []
    for dest_id, path in db.run("SELECT id, path FROM destinations WHERE offload_id = ? ORDER BY idx",
                                         (offload_id,)).fetchall():
        verified = frozenset(p for (p,) in db.run(
            "SELECT f.rel_path FROM copies c JOIN files f ON f.id = c.file_id WHERE c.destination_id = ? "
            "AND c.state = 'verified'", (dest_id,)))
        out.append(CopyToRead(dest_id, path, verified))
    out.sort(key=lambda c: -len(c.verified))
    return out


def offload_file_paths(db: Catalog, offload_id: int) -> list[str]:
    """Every file of the offload, as on the card (what the clips are grouped from)."""
    return [p for (p,) in db.run("SELECT rel_path FROM files WHERE offload_id = ? ORDER BY rel_path",
                                          (offload_id,))]
