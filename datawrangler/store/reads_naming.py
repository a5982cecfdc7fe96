"""The catalog's answers for naming a card (app.naming): the reels already offloaded for a camera letter, and
the latest offload of a different card under a reel name. Naming itself (the next number, the message of a
collision) stays above store."""

from __future__ import annotations

from dataclasses import dataclass

from datawrangler.store.catalog import LIKE, Catalog, starts_with


def camera_reels(db: Catalog, camera: str, project: str | None = None) -> list[str]:
    """The reel names of every offload whose reel starts with `camera` (in this project if given), as
    recorded: the caller picks the ones that are that camera's numbered reels."""
    sql = f"SELECT reel FROM offloads WHERE lower(reel) {LIKE}"  # case-insensitive on both, as SQLite's LIKE
    params: list[object] = [starts_with(camera)]
    if project:
        sql += " AND project = ?"
        params.append(project)
    return [reel for (reel,) in db.run(sql, params) if reel]


@dataclass(frozen=True)
class ReelTaken:
    """The latest offload, under a reel name, of a card with another fingerprint."""

    offload_id: int
    started_at: float
    fingerprint: str


def reel_taken(db: Catalog, reel: str, fingerprint: str, project: str | None = None) -> ReelTaken | None:
    """The latest offload named `reel` of a card other than `fingerprint`; with a project, only offloads of
    that project or of none."""
    sql = ("SELECT o.id, o.started_at, c.fingerprint FROM offloads o JOIN cards c ON c.id = o.card_id "
           "WHERE o.reel = ? AND c.fingerprint != ?")
    params: list[object] = [reel, fingerprint]
    if project:
        sql += " AND (o.project = ? OR o.project IS NULL)"
        params.append(project)
    row = db.run(sql + " ORDER BY o.started_at DESC LIMIT 1", params).fetchone()
    return ReelTaken(row[0], row[1], row[2]) if row else None
