"""The merge's big tables, a group of offloads at a time: files (offload uuid, rel_path), copies (file,
destination), verifications (copy, at, method, result), clips (offload uuid, name, kind) with clip_files, and
events (offload uuid, at, kind, code, message). Every reference below an offload stays inside it, so one group's
maps are all a row needs: memory stays bounded by the group, and each table costs a few queries per group, never
one per row.

Copies both catalogs hold follow one rule: this catalog's word is kept, except that a copy the other catalog
found failed, missing, changed or unreadable by a read newer than any this catalog recorded takes that worse
state (safe to format must not count it). The reverse never happens: a copy is only ever made verified here by
a read recorded here (a Conflict says to re-verify). Verifications and events are history: their union is kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import bindparam, func, select, update

from datawrangler.core.words import when
from datawrangler.store import tables as t
from datawrangler.store.merge_top import Merge

BAD = frozenset(("failed", "stale", "missing", "changed", "unreadable"))  # copy states that do not count
BAD_READS = frozenset(("failed", "missing", "changed", "unreadable"))  # what a read can find wrong
GROUP_FILES = 50_000  # files per group of offloads (one offload is never split)
GROUP_OFFLOADS = 500


def groups(m: Merge, bulk: bool = False, skip: frozenset[int] | set[int] = frozenset()) -> Iterator[list[int]]:
    """The other catalog's offloads, by id, in groups of about GROUP_FILES files; not those to `skip`
    (merge_same: unchanged since the last merge), nor the new ones when they were copied in `bulk`."""
    f = t.files
    counts = {oid: n for oid, n in m.src.execute(select(f.c.offload_id, func.count()).group_by(f.c.offload_id))}
    group: list[int] = []
    n = 0
    for oid in sorted(o for o in m.offloads if o not in skip and not (bulk and o in m.new_offloads)):
        group.append(oid)
        n += counts.get(oid, 0)
        if n >= GROUP_FILES or len(group) >= GROUP_OFFLOADS:
            yield group
            group, n = [], 0
    if group:
        yield group


def _names(table: t.Table) -> list[str]:
    return [c.name for c in table.c]


def _rows(table: t.Table, rows: Sequence[Any], new_ids: Sequence[int], refs: dict[str, list[Any]]
          ) -> Iterator[list[Any]]:
    """Rows to insert, made as they are written: the other's rows with new ids and remapped references."""
    names = _names(table)
    at = [(names.index(col), values) for col, values in refs.items()]
    id_at = names.index("id") if "id" in names else None
    for i, (row, new_id) in enumerate(zip(rows, new_ids, strict=True)):
        out = list(row)
        if id_at is not None:
            out[id_at] = new_id
        for pos, values in at:
            out[pos] = values[i]
        yield out


def _refs(m: Merge, rows: Sequence[Any], columns: tuple[tuple[int, dict[int, int], str], ...]) -> list[tuple[Any, ...]]:
    """Per row, the ids here of what its columns (position, map, what it names) point at; MergeError (via
    Merge.remap) for a reference to a row the other catalog does not hold."""
    try:
        if len(columns) == 1:
            (pos, ids, _), = columns
            return [(ids[r[pos]],) if r[pos] is not None else (None,) for r in rows]
        (p1, ids1, _), (p2, ids2, _) = columns
        return [(ids1[r[p1]], ids2[r[p2]]) for r in rows]
    except KeyError:
        for r in rows:
            for pos, ids, what in columns:
                m.remap(ids, r[pos], what)
        raise


def merge_group(m: Merge, group: list[int]) -> None:
    shared = [m.offloads[o] for o in group if o not in m.new_offloads]
    file_ids, file_offload, rel = _files(m, group, shared)
    copy_ids, dest_of = _copies(m, group, shared, file_ids, file_offload, rel)
    _verifications(m, group, shared, copy_ids, dest_of)
    _clips(m, group, shared, file_ids)
    _events(m, group, shared)


def _files(m: Merge, group: list[int], shared: list[int]
           ) -> tuple[dict[int, int], dict[int, int], dict[int, str]]:
    f = t.files
    ours: dict[tuple[int, str], Any] = {}
    if shared:
        for r in m.read().execute(select(f.c.id, f.c.offload_id, f.c.rel_path, f.c.size, f.c.mtime_ns, f.c.digests)
                               .where(f.c.offload_id.in_(shared))):
            ours[(r.offload_id, r.rel_path)] = r
    theirs = m.src.execute(select(f).where(f.c.offload_id.in_(group)).order_by(f.c.id)).all()
    ids: dict[int, int] = {}
    new = theirs
    if ours:
        new = []
        for r in theirs:
            mine = ours.get((m.offloads[r.offload_id], r.rel_path))
            if mine is None:
                new.append(r)
                continue
            ids[r.id] = mine.id
            if (mine.size, mine.mtime_ns) != (r.size, r.mtime_ns) or None is not mine.digests != r.digests is not None:
                m.conflicts.add("file", m.scopes[r.offload_id], r.rel_path,
                                f"size {mine.size}, digests {mine.digests}", f"size {r.size}, digests {r.digests}",
                                "The catalogs disagree about what the card held: offload the card again if you "
                                "still have it, and check the copies against it.")
    new_ids = m.ids.take(f, len(new))
    ids.update(zip((r[0] for r in new), new_ids, strict=True))
    offloads = m.offloads
    m.add("files", _rows(f, new, new_ids, {"offload_id": [offloads[r[1]] for r in new]}))
    m.touched.update({r[1] for r in new})
    return ids, {r[0]: r[1] for r in theirs}, {r[0]: r[2] for r in theirs}


def _copies(m: Merge, group: list[int], shared: list[int], file_ids: dict[int, int], file_offload: dict[int, int],
            rel: dict[int, str]) -> tuple[dict[int, int], dict[int, int]]:
    c, f, v = t.copies, t.files, t.verifications
    ours: dict[tuple[int, int], Any] = {}
    our_latest: dict[int, float] = {}
    if shared:
        for r in m.read().execute(select(c.c.id, c.c.file_id, c.c.destination_id, c.c.state, c.c.verified_at)
                               .join(f, f.c.id == c.c.file_id).where(f.c.offload_id.in_(shared))):
            ours[(r.file_id, r.destination_id)] = r
            our_latest[r.id] = r.verified_at or 0.0
        for cid, at in m.read().execute(select(v.c.copy_id, func.max(v.c.at)).join(c, c.c.id == v.c.copy_id)
                                     .join(f, f.c.id == c.c.file_id).where(f.c.offload_id.in_(shared))
                                     .group_by(v.c.copy_id)):
            our_latest[cid] = max(our_latest.get(cid, 0.0), at)
    theirs = m.src.execute(select(c).join(f, f.c.id == c.c.file_id).where(f.c.offload_id.in_(group))
                           .order_by(c.c.id)).all()
    their_latest: dict[int, tuple[float, str]] = {}
    if ours:
        for cid, at, result in m.src.execute(select(v.c.copy_id, v.c.at, v.c.result).join(c, c.c.id == v.c.copy_id)
                                             .join(f, f.c.id == c.c.file_id).where(f.c.offload_id.in_(group))):
            if at > their_latest.get(cid, (0.0, ""))[0]:
                their_latest[cid] = (at, result)
    ids: dict[int, int] = {}
    new, worse = [], []
    keys = _refs(m, theirs, ((1, file_ids, "a copy is of the file"),
                             (2, m.destinations, "a copy is on the destination")))
    refs = keys if not ours else []
    for r, key in zip(theirs, keys, strict=True):
        mine = ours.get(key) if ours else None
        if mine is None:
            new.append(r)
            if ours:
                refs.append(key)
            continue
        ids[r.id] = mine.id
        if mine.state == r.state:
            continue
        at, result = their_latest.get(r.id, (0.0, ""))
        mine_at = our_latest.get(mine.id, 0.0)
        scope, example = m.scopes[file_offload[r.file_id]], rel[r.file_id]
        if r.state in BAD and result in BAD_READS and at > mine_at:
            worse.append({"b_id": mine.id, "b_state": r.state})
            m.touched.add(file_offload[r.file_id])
        elif r.state == "verified":
            m.conflicts.add("copy_not_promoted", scope, example, f"the copy is {mine.state}",
                            f"it was verified on {when(at or r.verified_at)}",
                            "A merge never makes a copy verified: re-verify the drive (datawrangler reverify) to "
                            "settle it.")
        elif not (mine_at and mine_at >= at):  # unless this catalog's own read is the later one
            m.conflicts.add("copy_state", scope, example, f"the copy is {mine.state}", f"it is {r.state}",
                            "Re-verify the drive (datawrangler reverify) to settle it.")
    if worse:
        m.write(lambda: m.dst.execute(update(c).where(c.c.id == bindparam("b_id")).values(state=bindparam("b_state")),
                                     worse))
        m.result.downgraded += len(worse)
    new_ids = m.ids.take(c, len(new))
    ids.update(zip((r.id for r in new), new_ids, strict=True))
    m.add("copies", _rows(c, new, new_ids, {"file_id": [a for a, _ in refs], "destination_id": [b for _, b in refs]}))
    m.touched.update({file_offload[r[1]] for r in new})
    return ids, {r[0]: file_offload[r[1]] for r in theirs}


def _verifications(m: Merge, group: list[int], shared: list[int], copy_ids: dict[int, int],
                   offload_of: dict[int, int]) -> None:
    c, f, v = t.copies, t.files, t.verifications
    ours: set[tuple[int, float, str, str]] = set()
    if shared:
        mine = (select(v.c.copy_id, v.c.at, v.c.method, v.c.result).join(c, c.c.id == v.c.copy_id)
                .join(f, f.c.id == c.c.file_id).where(f.c.offload_id.in_(shared)))
        ours = {(r[0], r[1], r[2], r[3]) for r in m.read().execute(mine)}
    theirs = m.src.execute(select(v).join(c, c.c.id == v.c.copy_id).join(f, f.c.id == c.c.file_id)
                           .where(f.c.offload_id.in_(group)).order_by(v.c.id)).all()
    copies = [k[0] for k in _refs(m, theirs, ((1, copy_ids, "a verification is of the copy"),))]
    new = theirs
    if ours:
        kept = [(r, copy) for r, copy in zip(theirs, copies, strict=True)
                if (copy, r.at, r.method, r.result) not in ours]
        new, copies = [r for r, _ in kept], [copy for _, copy in kept]
    m.add("verifications", _rows(v, new, m.ids.take(v, len(new)), {"copy_id": copies}))
    m.touched.update({offload_of[r[1]] for r in new})


def _clips(m: Merge, group: list[int], shared: list[int], file_ids: dict[int, int]) -> None:
    k, cf, f = t.clips, t.clip_files, t.files
    ours: dict[tuple[int, str, str], Any] = {}
    clipped: set[int] = set()
    if shared:
        for r in m.read().execute(select(k.c.id, k.c.offload_id, k.c.name, k.c.kind, k.c.state)
                               .where(k.c.offload_id.in_(shared))):
            ours[(r.offload_id, r.name, r.kind)] = r
        clipped = set(m.read().execute(select(cf.c.file_id).join(f, f.c.id == cf.c.file_id)
                                    .where(f.c.offload_id.in_(shared))).scalars())
    theirs = m.src.execute(select(k).where(k.c.offload_id.in_(group)).order_by(k.c.id)).all()
    ids: dict[int, int] = {}
    new = []
    for r in theirs:
        mine = ours.get((m.offloads[r.offload_id], r.name, r.kind))
        if mine is None:
            new.append(r)
            continue
        ids[r.id] = mine.id
        if mine.state != r.state:
            m.conflicts.add("clip_state", m.scopes[r.offload_id], f"the clip {r.name}", repr(mine.state),
                            repr(r.state), "Read the roll's clips again here (datawrangler clips read) to settle it.")
    new_ids = m.ids.take(k, len(new))
    ids.update(zip((r.id for r in new), new_ids, strict=True))
    m.add("clips", _rows(k, new, new_ids, {
        "offload_id": [m.offloads[r.offload_id] for r in new],
        "read_from": [m.remap(m.destinations, r.read_from, "a clip was read from the destination") for r in new]}))
    links = m.src.execute(select(cf.c.clip_id, cf.c.file_id).join(k, k.c.id == cf.c.clip_id)
                          .where(k.c.offload_id.in_(group)))
    rows = []
    for clip, file in links:
        ours_file = m.remap(file_ids, file, "a clip holds the file")
        if ours_file not in clipped:
            rows.append((m.remap(ids, clip, "a clip-file link names the clip"), ours_file))  # column order
    m.add("clip_files", rows)


def _events(m: Merge, group: list[int], shared: list[int]) -> None:
    e = t.events
    ours: set[tuple[Any, ...]] = set()
    if shared:
        ours = {tuple(r) for r in m.read().execute(select(e.c.offload_id, e.c.at, e.c.kind, e.c.code, e.c.message)
                                                .where(e.c.offload_id.in_(shared)))}
    theirs = m.src.execute(select(e).where(e.c.offload_id.in_(group)).order_by(e.c.id)).all()
    new = [r for r in theirs if (m.offloads[r.offload_id], r.at, r.kind, r.code, r.message) not in ours]
    m.add("events", _rows(e, new, m.ids.take(e, len(new)), {"offload_id": [m.offloads[r.offload_id] for r in new]}))
    m.touched.update(r.offload_id for r in new)


def merge_loose_events(m: Merge) -> None:
    """Events of no offload (or of one the other catalog does not hold): kept by (at, kind, code, message)."""
    e = t.events
    ours = {tuple(r) for r in m.read().execute(select(e.c.at, e.c.kind, e.c.code, e.c.message)
                                           .where(e.c.offload_id.is_(None)))}
    held = select(t.offloads.c.id).where(t.offloads.c.id == e.c.offload_id).exists()
    theirs = m.src.execute(select(e).where(e.c.offload_id.is_(None) | ~held).order_by(e.c.id)).all()
    new = [r for r in theirs if (r.at, r.kind, r.code, r.message) not in ours]
    m.add("events", _rows(e, new, m.ids.take(e, len(new)), {"offload_id": [None] * len(new)}))
