"""The merge's small tables, read whole: drives (volumes.key), cards (fingerprint), offloads (uuid) and their
destinations (offload uuid, idx). Each row of the other catalog is matched to this catalog's by its global
identity or given a new id here; the maps from the other's ids to this one's serve every later reference.

Rows both hold are compared on what must agree (a drive's physical disk, a card's reel and lineage, an
offload's state, a destination's folder and drive): a difference is a Conflict and this catalog's row stays.
The one thing filled in is a card's vendor where this catalog recorded none (what store.cards does too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, cast

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import DBAPIError

from datawrangler.core.words import when
from datawrangler.store import tables as t
from datawrangler.store.merge_ids import Ids, remap
from datawrangler.store.merge_result import Conflicts, MergeResult
from datawrangler.store.merge_writer import Writer

BATCH = 10_000  # rows per executemany


@dataclass
class Merge:
    """One merge in progress: both connections, the id maps (the other's id -> this catalog's) and what it
    found so far."""

    src: Connection
    dst: Connection
    ids: Ids
    result: MergeResult
    conflicts: Conflicts = field(default_factory=Conflicts)
    volumes: dict[int, int] = field(default_factory=dict)
    cards: dict[int, int] = field(default_factory=dict)
    offloads: dict[int, int] = field(default_factory=dict)
    destinations: dict[int, int] = field(default_factory=dict)
    new_offloads: set[int] = field(default_factory=set)  # the other's ids of offloads this catalog lacked
    scopes: dict[int, str] = field(default_factory=dict)  # the other's offload id -> how sentences name it
    hosts: dict[int, str] = field(default_factory=dict)
    touched: set[int] = field(default_factory=set)  # the other's offloads something was added for
    writer: Writer | None = None  # into a server, the files step's writes run on a thread of their own

    def add(self, table: str, rows: Iterable[Sequence[Any]]) -> None:
        """Insert rows (values in the table's column order): into a server by COPY (_copy); into a file in
        batches, each one executemany of the driver:
        Core's own executemany builds and checks a parameter dict per row, two thirds of a big merge's time.
        The rows are made as they are written: a big group's rows are never all in memory twice."""
        columns = list(t.metadata.tables[table].c)
        if self.dst.dialect.name == "postgresql":
            names = [c.name for c in columns]
            self.write(lambda: self._copy(table, names, rows))
            return
        mark = "?" if self.dst.dialect.paramstyle == "qmark" else "%s"
        sql = (f"INSERT INTO {table} ({', '.join(c.name for c in columns)}) "
               f"VALUES ({', '.join(mark for _ in columns)})")
        it = iter(rows)
        while batch := [tuple(r) for r in islice(it, BATCH)]:
            self.dst.exec_driver_sql(sql, batch)
            self.result.added[table] += len(batch)

    def _copy(self, table: str, names: list[str], rows: Iterable[Sequence[Any]]) -> None:
        """Into a server: COPY ... FROM STDIN on the connection's own psycopg cursor, inside the merge's
        transaction. Through the driver's batched inserts (pipeline mode, a message per row) the million rows
        of a 200,000-file merge took 23 s of its 30 s; by COPY the whole merge takes 16 s, most of it the
        server's own work (its foreign-key checks, 60% of it). A 1,000,000-file merge: 226 s -> 86 s."""
        import psycopg

        raw = cast("psycopg.Connection[Any]", self.dst.connection.dbapi_connection)
        n = 0
        sql = f"COPY {table} ({', '.join(names)}) FROM STDIN"
        try:
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
        except psycopg.Error as exc:  # as SQLAlchemy's own statements fail: merge_engines says what and rolls back
            raise DBAPIError(sql, None, exc) from exc
        self.result.added[table] += n

    def write(self, job: Callable[[], object]) -> None:
        """Run a write on this catalog: on the writer's thread while one runs (store.merge_writer), else now."""
        if self.writer is not None:
            self.writer.submit(job)
        else:
            job()

    def read(self) -> Connection:
        """This catalog's connection, to read from: once the writes queued so far are done (what it reads is
        what the merge wrote, as without the writer)."""
        if self.writer is not None:
            self.writer.drain()
        return self.dst

    def add_dicts(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        names = [c.name for c in t.metadata.tables[table].c]
        self.add(table, ([r[n] for n in names] for r in rows))

    def remap(self, ids: dict[int, int], value: Any, what: str) -> int | None:
        return remap(ids, value, what, self.result.other)


def _new_ids(m: Merge, table: t.Table, theirs: list[dict[str, Any]], found: dict[int, int]) -> list[dict[str, Any]]:
    """The other's rows not `found` here, each given a new id in `found` (its map); the rows, to insert."""
    new = [r for r in theirs if r["id"] not in found]
    for r, new_id in zip(new, m.ids.take(table, len(new)), strict=True):
        found[r["id"]] = new_id
    return new


def _read(conn: Connection, table: t.Table) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def merge_volumes(m: Merge) -> None:
    """Drives by key; a drive's media kind (schema 5: what a studio's rule counts) is filled in where this
    catalog has none, and a different one is a conflict."""
    v = t.volumes
    kind = v.c.get("media_kind")
    ours = {r.key: r for r in m.dst.execute(select(v.c.id, v.c.key, v.c.disk, *([kind] if kind is not None else [])))}
    theirs = _read(m.src, v)
    kinds = []
    for r in theirs:
        if r["key"] not in ours:
            continue
        mine = ours[r["key"]]
        m.volumes[r["id"]] = mine.id
        scope = f"The drive {r['label'] or r['key']}"
        if mine.disk != r["disk"]:
            m.conflicts.add("volume_disk", scope, f"key {r['key']}", f"it is on the physical disk {mine.disk}",
                            f"{r['disk']}", "Redundancy counts the disk this catalog names; if that is wrong, "
                            "re-verify the drive's rolls at this station (datawrangler reverify) to record it again.")
        theirs_kind = r.get("media_kind")
        if kind is not None and theirs_kind and mine.media_kind != theirs_kind:
            if mine.media_kind is None:
                kinds.append({"b_id": mine.id, "b_kind": theirs_kind})
            else:
                m.conflicts.add("volume_media_kind", scope, "its media kind", repr(mine.media_kind),
                                repr(theirs_kind), "Set the drive's media kind here (Destinations) if this "
                                "catalog's is wrong: the studio's rule counts it.")
    if kinds and kind is not None:
        m.dst.execute(update(v).where(v.c.id == bindparam("b_id")).values(media_kind=bindparam("b_kind")), kinds)
    new = _new_ids(m, v, theirs, m.volumes)
    m.add_dicts("volumes", [{**r, "id": m.volumes[r["id"]]} for r in new])


def merge_cards(m: Merge) -> None:
    ours = {r.fingerprint: r for r in m.dst.execute(select(t.cards.c.id, t.cards.c.fingerprint, t.cards.c.reel,
                                                           t.cards.c.lineage, t.cards.c.vendor))}
    theirs = _read(m.src, t.cards)
    vendors = []
    for r in theirs:
        if r["fingerprint"] in ours:
            m.cards[r["id"]] = ours[r["fingerprint"]].id
    new = _new_ids(m, t.cards, theirs, m.cards)
    for r in theirs:
        mine = ours.get(r["fingerprint"])
        if mine is None:
            continue
        scope = f"The card {mine.reel or r['reel'] or r['fingerprint'][:12]}"
        if mine.reel != r["reel"]:
            m.conflicts.add("card_reel", scope, "its reel", repr(mine.reel), repr(r["reel"]),
                            "Reports and handoff files use this catalog's reel name.")
        lineage = m.remap(m.cards, r["lineage"], "a card's lineage names the card")
        if lineage is not None and mine.lineage != lineage:
            m.conflicts.add("card_lineage", scope, "the card it grew from", f"card {mine.lineage}",
                            f"card {lineage}", "Safe to format counts the copies of this catalog's lineage; "
                            "offload the card again (--incremental) if a file is said to be missing.")
        if mine.vendor is None and r["vendor"]:
            vendors.append({"b_id": mine.id, "b_vendor": r["vendor"]})
    if vendors:
        m.dst.execute(update(t.cards).where(t.cards.c.id == bindparam("b_id"))
                      .values(vendor=bindparam("b_vendor")), vendors)
    m.add_dicts("cards", [{**r, "id": m.cards[r["id"]],
                           "volume_id": m.remap(m.volumes, r["volume_id"], "a card's drive is"),
                           "lineage": m.remap(m.cards, r["lineage"], "a card's lineage names the card")} for r in new])


def _station(r: dict[str, Any]) -> str:
    """The station that made an offload: its name (schema 5), else its computer's."""
    return str(r.get("station") or r["host"] or "an unnamed station")


def _scope(r: dict[str, Any]) -> str:
    roll = f", roll {r['roll_name']}" if r["roll_name"] else ""
    return (f"The offload of reel {r['reel'] or '?'}{roll} (started {when(r['started_at'])} at {_station(r)}, "
            f"{r['uuid']})")


def merge_offloads(m: Merge) -> None:
    """Offloads and their destinations: ids for the new ones of both first, since a stage-2 offload names a
    destination of its stage-1 offload (made_from) and an offload names other offloads."""
    ours = {r.uuid: r for r in m.dst.execute(select(t.offloads.c.id, t.offloads.c.uuid, t.offloads.c.state))}
    theirs = _read(m.src, t.offloads)
    for r in theirs:
        m.scopes[r["id"]] = _scope(r)
        m.hosts[r["id"]] = _station(r)
        m.result.running += r["state"] == "running"
        if r["uuid"] in ours:
            m.offloads[r["id"]] = ours[r["uuid"]].id
            if ours[r["uuid"]].state != r["state"]:
                m.conflicts.add("offload_state", m.scopes[r["id"]], "its state", repr(ours[r["uuid"]].state),
                                repr(r["state"]), "Its files and copies were merged one by one (a copy is never "
                                "made verified by a merge): re-verify the roll (datawrangler reverify) to settle it.")
    new = _new_ids(m, t.offloads, theirs, m.offloads)
    m.new_offloads = {r["id"] for r in new}
    dests = _merge_destinations(m)
    m.add_dicts("offloads", [{**r, "id": m.offloads[r["id"]],
                        "card_id": m.remap(m.cards, r["card_id"], "an offload's card is"),
                        "incremental_of": m.remap(m.offloads, r["incremental_of"], "an offload adds to the offload"),
                        "cascade_of": m.remap(m.offloads, r["cascade_of"], "a stage-2 offload copies the offload"),
                        "made_from": m.remap(m.destinations, r["made_from"], "a stage-2 offload reads the destination")}
                       for r in new])
    m.add_dicts("destinations", dests)
    m.touched |= m.new_offloads


def _merge_destinations(m: Merge) -> list[dict[str, Any]]:
    """Match the destinations, give the new ones ids; the rows to insert (after their offloads)."""
    shared = [ours for theirs, ours in m.offloads.items() if theirs not in m.new_offloads]
    ours: dict[tuple[int, int], Any] = {}
    if shared:
        for row in m.dst.execute(select(t.destinations.c.id, t.destinations.c.offload_id, t.destinations.c.idx,
                                      t.destinations.c.path, t.destinations.c.volume_id)
                               .where(t.destinations.c.offload_id.in_(shared))):
            ours[(row.offload_id, row.idx)] = row
    theirs = _read(m.src, t.destinations)
    for r in theirs:
        offload = m.remap(m.offloads, r["offload_id"], "a destination belongs to the offload")
        here = ours.get((offload or 0, r["idx"]))
        if here is None:
            continue
        m.destinations[r["id"]] = here.id
        volume = m.remap(m.volumes, r["volume_id"], "a destination's drive is")
        if (here.path, here.volume_id) != (r["path"], volume):
            m.conflicts.add("destination", m.scopes[r["offload_id"]], f"destination {r['idx'] + 1}",
                            f"its roll is {here.path}", f"{r['path']}" + ("" if volume == here.volume_id else
                                                                          " on another drive"),
                            "Re-verify the roll where it really is (datawrangler reverify) to record it.")
    new = _new_ids(m, t.destinations, theirs, m.destinations)
    for r in new:
        m.touched.add(r["offload_id"])
    return [{**r, "id": m.destinations[r["id"]],
             "offload_id": m.remap(m.offloads, r["offload_id"], "a destination belongs to the offload"),
             "volume_id": m.remap(m.volumes, r["volume_id"], "a destination's drive is")} for r in new]
