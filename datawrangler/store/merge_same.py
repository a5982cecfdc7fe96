"""Offloads both catalogs hold and nothing changed in since: found by a summary per offload (counts per file
status, per copy state and per clip state, how many files have digests, verifications and events with the
latest of each, clip links) computed by the database on both sides, so the next merge of two stations that
merged before reads only the offloads something happened to.

Every change the merge acts on moves the summary: a new file, copy, verification, event, clip or link adds to
a count, a re-verify adds a verification, a copy's new state moves its state's count, a file hashed since
counts among those with digests. An offload whose summaries differ is merged row by row (merge_rows).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Select, func, select

from datawrangler.store import tables as t
from datawrangler.store.merge_top import Merge

CHUNK = 500  # offload ids per query (an IN list)


def _queries(ids: list[int]) -> Iterable[tuple[str, Select[Any]]]:
    f, c, v, e, k, cf = t.files, t.copies, t.verifications, t.events, t.clips, t.clip_files
    yield "files", (select(f.c.offload_id, f.c.status, func.count(), func.count(f.c.digests))
                    .where(f.c.offload_id.in_(ids)).group_by(f.c.offload_id, f.c.status))
    yield "copies", (select(f.c.offload_id, c.c.state, func.count()).join(f, f.c.id == c.c.file_id)
                     .where(f.c.offload_id.in_(ids)).group_by(f.c.offload_id, c.c.state))
    yield "verifications", (select(f.c.offload_id, func.count(), func.max(v.c.at)).join(c, c.c.id == v.c.copy_id)
                            .join(f, f.c.id == c.c.file_id).where(f.c.offload_id.in_(ids)).group_by(f.c.offload_id))
    yield "events", (select(e.c.offload_id, func.count(), func.max(e.c.at)).where(e.c.offload_id.in_(ids))
                     .group_by(e.c.offload_id))
    yield "clips", (select(k.c.offload_id, k.c.state, func.count()).where(k.c.offload_id.in_(ids))
                    .group_by(k.c.offload_id, k.c.state))
    yield "clip_files", (select(k.c.offload_id, func.count()).select_from(cf).join(k, k.c.id == cf.c.clip_id)
                         .where(k.c.offload_id.in_(ids)).group_by(k.c.offload_id))


def _summaries(conn: Connection, ids: list[int]) -> dict[int, list[tuple[Any, ...]]]:
    out: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for start in range(0, len(ids), CHUNK):
        for name, query in _queries(ids[start:start + CHUNK]):
            for row in conn.execute(query):
                out[row[0]].append((name, *row[1:]))
    for rows in out.values():
        rows.sort(key=repr)
    return out


def unchanged(m: Merge, theirs: list[int]) -> set[int]:
    """Of these offloads of the other catalog (each also held here), those whose summaries agree."""
    if not theirs:
        return set()
    other = _summaries(m.src, theirs)
    ours = _summaries(m.dst, [m.offloads[o] for o in theirs])
    return {o for o in theirs if other.get(o, []) == ours.get(m.offloads[o], [])}
