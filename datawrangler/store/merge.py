"""`datawrangler catalog merge OTHER`: bring another station's catalog (an SQLite file or a server) into this
one, for the days on set without a network.

Rows are matched by their global identities, never by their local ids (see merge_top and merge_rows): drives
by volumes.key, cards by fingerprint, offloads by uuid, and what belongs to an offload by its place in it. What
the other catalog holds and this one lacks is added, in one transaction on this catalog: a failure anywhere
leaves it exactly as it was. Merging twice adds nothing. Rows both hold and that disagree are reported as
conflicts (this catalog's word is kept), but for a copy the other station found bad by a later read; a merge
never makes a copy verified. The other catalog is only read, in one snapshot.

Backend-neutral: SQLAlchemy Core on `store.tables`, per table and per group of offloads; the rows added go in
by batched inserts (executemany) into a file and by COPY into a server (Merge.add), where they run on a thread
of their own while the next group is read (store.merge_writer): 1,000,000 files 86 s -> 59 s.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError

from datawrangler.store import merge_bulk
from datawrangler.store.merge_ids import Ids
from datawrangler.store.merge_open import MergeError, location, other_engine, refuse_same, this_engine
from datawrangler.store.merge_result import Conflict, MergeResult
from datawrangler.store.merge_rows import groups, merge_group, merge_loose_events
from datawrangler.store.merge_same import unchanged
from datawrangler.store.merge_top import Merge, merge_cards, merge_offloads, merge_volumes
from datawrangler.store.merge_writer import Writer
from datawrangler.store.server import LOCK_KEY, CatalogLocation

__all__ = ["Conflict", "MergeError", "MergeResult", "merge", "merge_engines"]

Where = str | os.PathLike[str] | CatalogLocation


def merge(this: Where, other: Where, on_step: Callable[[str], None] | None = None) -> MergeResult:
    """Merge the catalog `other` into the catalog `this` (each a path, sqlite:///PATH or postgresql://...).
    MergeError, with nothing changed, when the other is no catalog of this schema, is this catalog itself, or
    the merge fails; `on_step` hears each step ("volumes", "cards", "offloads", "files 1/3", ...)."""
    here, there = location(this), location(other)
    refuse_same(here, there)
    with other_engine(there) as (src, src_file):
        try:
            dst = this_engine(here)
            try:
                return merge_engines(dst, src, here.shown(), there.shown(), on_step, attach=src_file)
            finally:
                dst.dispose()
        finally:
            src.dispose()


def merge_engines(dst: Engine, src: Engine, this: str, other: str, on_step: Callable[[str], None] | None = None,
                  attach: Path | None = None) -> MergeResult:
    """The merge itself, between two engines already checked (store.export makes its own `dst`). `attach`:
    the other catalog's file, when it is one, for the offloads new here to be copied inside SQLite when this
    catalog is an SQLite file too (merge_bulk)."""
    step = on_step or (lambda _: None)
    result = MergeResult(this, other)
    server = dst.dialect.name == "postgresql"
    try:
        with src.connect() as read, dst.connect() as write, contextlib.ExitStack() as stack:
            bulk = attach is not None and not server
            if attach is not None and bulk:
                merge_bulk.attach(write.connection.dbapi_connection, attach)
            # into a server, ids come from its sequences on a connection of their own: the merge's is the
            # writer thread's while the files step writes (store.merge_writer)
            ids = Ids(stack.enter_context(dst.connect()) if server else write)
            with write.begin():
                if server:  # one merge at a time into a shared catalog
                    write.execute(select(func.pg_advisory_xact_lock(LOCK_KEY + 1)))
                m = Merge(read, write, ids, result)
                for name, run in (("volumes", merge_volumes), ("cards", merge_cards), ("offloads", merge_offloads)):
                    step(name)
                    run(m)
                if bulk:
                    step("new offloads")
                    merge_bulk.copy_new_offloads(m)
                step("unchanged offloads")
                same = unchanged(m, sorted(set(m.offloads) - m.new_offloads))
                todo = list(groups(m, bulk, same))
                m.writer = Writer() if server else None
                try:
                    for i, group in enumerate(todo, start=1):
                        step(f"files {i}/{len(todo)}")
                        merge_group(m, group)
                    m.read()  # every write done (or its error raised) before the transaction goes on
                except BaseException:
                    if m.writer is not None:
                        m.writer.close(cancel=True)
                    raise
                if m.writer is not None:
                    m.writer.close()
                    m.writer = None
                step("events")
                merge_loose_events(m)
                result.conflicts = m.conflicts.all()
                result.stations = tuple(sorted({m.hosts[o] for o in m.touched if o in m.hosts}))
    except DBAPIError as exc:
        said = str(exc.orig or exc).rstrip(".")
        raise MergeError(f"The merge of {other} into {this} stopped: {said}. Nothing was merged: {this} is as "
                         "it was. Check both catalogs' disks (or the server), then try again.") from exc
    return result
