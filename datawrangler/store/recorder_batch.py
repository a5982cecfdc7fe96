"""The Recorder's writes: one batch of the engine's results into the catalog, the same SQL text on an SQLite
file and on a PostgreSQL server. Here, not in store.recorder, so that the spool's delivery (app.spooled,
through `replay`) writes exactly what the Recorder's writer thread writes.

A batch's rows are staged in two TEMP tables with one batched insert each, then one INSERT ... SELECT each
fills files, copies and verifications: a few round trips per batch whatever its size, which is what keeps
the catalog's share of a 20,000-file offload small on a server across a network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable

from datawrangler.core.events import FileResult
from datawrangler.store import offloads
from datawrangler.store.catalog import Catalog
from datawrangler.store.offloads import OffloadRecord

# one batch, staged on the writer's own connection (TEMP: in memory, never in the catalog file).
# Enum members (StrEnum) bind as their text; bools are given as 0/1 (PostgreSQL would bind a bool as boolean).
# seq is given (PostgreSQL has no implicit rowid; INTEGER PRIMARY KEY stays SQLite's rowid, no extra index);
# BIGINT and DOUBLE PRECISION hold on both what SQLite's INTEGER and REAL did
STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS dw_rec_files (seq INTEGER PRIMARY KEY, rel_path TEXT, size BIGINT,"
    " mtime_ns BIGINT, digests TEXT, status TEXT, code TEXT, message TEXT, source_reverified BIGINT)",
    "CREATE TEMP TABLE IF NOT EXISTS dw_rec_copies (seq INTEGER PRIMARY KEY, rel_path TEXT,"
    " destination_id BIGINT, state TEXT, digests TEXT, code TEXT, message TEXT, already_present BIGINT,"
    " attempts BIGINT, verified_at DOUBLE PRECISION, cache_bypassed BIGINT)",
)
_FILE_COLUMNS = ("seq", "rel_path", "size", "mtime_ns", "digests", "status", "code", "message", "source_reverified")
_COPY_COLUMNS = ("seq", "rel_path", "destination_id", "state", "digests", "code", "message", "already_present",
                 "attempts", "verified_at", "cache_bypassed")
# in arrival order (seq), so a path given twice ends as it did last, as one statement per row would
_UPSERT_FILES = (
    "INSERT INTO files (offload_id, rel_path, size, mtime_ns, digests, status, code, message, source_reverified)"
    " SELECT :oid, rel_path, size, mtime_ns, digests, status, code, NULLIF(message, ''), source_reverified"
    " FROM dw_rec_files WHERE true ORDER BY seq"
    " ON CONFLICT (offload_id, rel_path) DO UPDATE SET size = excluded.size,"
    " mtime_ns = excluded.mtime_ns, digests = excluded.digests, status = excluded.status, code = excluded.code,"
    " message = excluded.message, source_reverified = excluded.source_reverified")
# LEFT JOIN: a copy whose file is missing fails on files.id NOT NULL, as the per-row subquery did
_COPIES = (
    "INSERT INTO copies (file_id, destination_id, state, digests, code, message, already_present, attempts,"
    " verified_at, cache_bypassed)"
    " SELECT f.id, t.destination_id, t.state, t.digests, t.code, NULLIF(t.message, ''), t.already_present,"
    " t.attempts, t.verified_at, t.cache_bypassed"
    " FROM {source} LEFT JOIN files f ON f.offload_id = :oid AND f.rel_path = t.rel_path"
    " WHERE true ORDER BY {order}"
    " ON CONFLICT (file_id, destination_id) DO UPDATE SET state = excluded.state,"
    " digests = excluded.digests, code = excluded.code, message = excluded.message,"
    " already_present = excluded.already_present, attempts = excluded.attempts,"
    " verified_at = excluded.verified_at, cache_bypassed = excluded.cache_bypassed")
_UPSERT_COPIES = _COPIES.format(source="dw_rec_copies t", order="t.seq")
# a copy given twice in one batch (the engine retried it): PostgreSQL refuses an upsert that meets one row
# twice, so the copy is written once, where it came first, with what it was last (what one statement per
# row leaves on both); every staged row still gets its verification
_UPSERT_COPIES_ONCE = _COPIES.format(
    source="dw_rec_copies t JOIN (SELECT MIN(seq) AS first_seq, MAX(seq) AS last_seq FROM dw_rec_copies"
           " GROUP BY rel_path, destination_id) g ON t.seq = g.last_seq",
    order="g.first_seq")
_ADD_VERIFICATIONS = (
    "INSERT INTO verifications (copy_id, at, method, cache_bypassed, digests, result, code, message)"
    " SELECT c.id, CASE WHEN t.verified_at IS NOT NULL AND t.verified_at != 0 THEN t.verified_at ELSE :now END,"
    " CASE WHEN t.state = 'copied' THEN 'size-only' WHEN t.already_present != 0 THEN 'already-present'"
    " ELSE 'offload-readback' END, t.cache_bypassed, t.digests, t.state, t.code, NULLIF(t.message, '')"
    " FROM dw_rec_copies t LEFT JOIN files f ON f.offload_id = :oid AND f.rel_path = t.rel_path"
    " LEFT JOIN copies c ON c.file_id = f.id AND c.destination_id = t.destination_id ORDER BY t.seq")
# replay (a spool's batches): a batch the server committed while its answer was lost on the way (the connection
# cut after COMMIT) was spooled too; its verifications are already there, to the same second, and are not added
# twice. A batch the Recorder writes itself never meets one (its copies' verifications are new).
_ADD_VERIFICATIONS_ONCE = _ADD_VERIFICATIONS.replace(" ORDER BY t.seq", (
    " WHERE NOT EXISTS (SELECT 1 FROM verifications v WHERE v.copy_id = c.id AND v.method = CASE WHEN t.state ="
    " 'copied' THEN 'size-only' WHEN t.already_present != 0 THEN 'already-present' ELSE 'offload-readback' END"
    " AND v.result = t.state AND t.verified_at IS NOT NULL AND t.verified_at != 0 AND v.at = t.verified_at)"
    " ORDER BY t.seq"))
_CARRIED = ("UPDATE files SET status = 'verified', message = ? WHERE offload_id = ? AND rel_path = ?"
            " AND status = 'pending'")
_CLEAR = ("DELETE FROM dw_rec_files", "DELETE FROM dw_rec_copies")


def _digests_json(d: object) -> str | None:
    return json.dumps(dict(d)) if d else None  # type: ignore[call-overload]


def replay(db: Catalog, record: OffloadRecord, batches: Iterable[list[object]],
           clock: Callable[[], float] = time.time) -> int:
    """A spool's batches (store.spool) written into the catalog as the Recorder would have written them, in one
    transaction; SpoolError when the catalog's offload of that id is not the spool's (another catalog).
    Returns the file results written."""
    from datawrangler.store.spool import SpoolError

    written = 0
    with db.atomic():
        uid = db.value("SELECT uuid FROM offloads WHERE id = ?", (record.offload_id,))
        if uid != record.uuid:
            raise SpoolError(f"The spooled results of offload {record.uuid} do not belong to this catalog (its "
                             f"offload {record.offload_id} is another). They were left in the spool: point "
                             "DataWrangler at the catalog they were made for, then deliver them.")
        for sql in STAGE:
            db.run(sql)
        for batch in batches:
            write_batch(db, record, batch, clock, again=True)
            written += sum(1 for item in batch if isinstance(item, FileResult))
    return written


def write_batch(db: Catalog, record: OffloadRecord, batch: list[object], clock: Callable[[], float],
                again: bool = False) -> None:
    """One batch of results (FileResults, carried files, the end) in one transaction (a savepoint when nested):
    staged in the TEMP tables, then one statement each for files, copies and verifications. `again`: a spool's
    batch delivered (replay), which may have been committed already: no verification is added twice."""
    oid = record.offload_id
    dest_ids = record.destination_ids
    files: list[tuple] = []
    at: dict[str, int] = {}  # rel_path: its place in files (a path given twice is written once, see below)
    copies: list[tuple] = []
    copy_keys: set[tuple[str, int]] = set()
    end: tuple | None = None
    carried: list[tuple] = []
    for item in batch:
        if isinstance(item, FileResult):
            d = item.digests
            dj = _digests_json(d)
            place = at.setdefault(item.rel_path, len(files))
            row = (place, item.rel_path, item.size, item.mtime_ns, dj, item.status, item.code, item.message,
                   int(item.source_reverified))
            if place == len(files):
                files.append(row)
            else:  # where it came first, with what it was last: as one upsert per result left it
                files[place] = row
            for c in item.copies:
                copy_keys.add((item.rel_path, c.destination))
                cd = c.digests
                copies.append((len(copies), item.rel_path, dest_ids[c.destination], c.state,
                               dj if cd is d or cd == d else _digests_json(cd), c.code, c.message,
                               int(c.already_present), c.attempts, c.verified_at,
                               None if c.cache_bypassed is None else int(c.cache_bypassed)))
        elif isinstance(item, tuple) and item[0] == "carried":
            carried.append((item[2], oid, item[1]))
        elif isinstance(item, tuple):
            end = item
    with db.atomic():
        if files:
            db.copy_rows("dw_rec_files", _FILE_COLUMNS, files)
            db.copy_rows("dw_rec_copies", _COPY_COLUMNS, copies)
            db.run(_UPSERT_FILES, {"oid": oid})
            db.run(_UPSERT_COPIES if len(copy_keys) == len(copies) else _UPSERT_COPIES_ONCE, {"oid": oid})
            db.run(_ADD_VERIFICATIONS_ONCE if again else _ADD_VERIFICATIONS, {"oid": oid, "now": clock()})
            for sql in _CLEAR:
                db.run(sql)
        if carried:
            db.run_many(_CARRIED, carried)
        if end is not None and end[0] == "finish":
            offloads.finish_offload(db, record, end[1])
        elif end is not None:
            db.run("UPDATE offloads SET state = ?, message = ?, ended_at = ? WHERE id = ?",
                   (end[1], end[2], clock(), oid))
            offloads.event(db, oid, end[1], end[2])
