"""Is the process that started an offload still running? A crash or a kill leaves the offload 'running'
in the catalog; on opening it, those whose process is gone are marked 'interrupted'.

A process is named by host, pid and a start token (`platform.start_token`: its start time), so a pid that
the OS gave to another process since is not mistaken for the offload's.
"""

from __future__ import annotations

import socket
import time

from datawrangler.platform import process_alive, start_token
from datawrangler.store.catalog import Catalog

__all__ = ["alive", "mark_interrupted", "start_token"]  # start_token: what an offload's row records


def alive(host: str | None, pid: int | None, token: str | None) -> bool:
    """True when the process may still be running (another host: we cannot tell, so yes)."""
    if host != socket.gethostname():
        return True
    return process_alive(pid, token)


def mark_interrupted(db: Catalog) -> list[int]:
    """Offloads left 'running' by a process that is gone become 'interrupted'. Returns their ids.

    Only this host's offloads can be judged: one that another station runs on a shared catalog is alive as far
    as we can tell (`alive` says yes for another host), so it is never marked here."""
    rows = db.run("SELECT id, host, pid, start_token FROM offloads WHERE state = 'running' ORDER BY id").fetchall()
    stale = [int(r[0]) for r in rows if not alive(r[1], r[2], r[3])]
    if stale:
        now = time.time()
        with db.atomic():
            db.run_many(
                "UPDATE offloads SET state = 'interrupted', message = :message WHERE id = :id AND state = 'running'",
                [{"id": oid, "message": "The offload stopped before it finished (crash, kill or power loss). "
                  f"Resume it with 'datawrangler resume {oid}'."} for oid in stale])
            db.run_many("INSERT INTO events (at, offload_id, kind, message) "
                        "VALUES (:at, :id, 'interrupted', 'its process is gone; marked interrupted')",
                        [{"at": now, "id": oid} for oid in stale])
    return stale
