"""The drives an offload touches and what the destination drives hold: for the scheduler and the window's
Destinations list (run on a worker: statvfs on a sleeping drive can take seconds)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

from datawrangler import platform
from datawrangler.app.catalog import open_db
from datawrangler.app.request import OffloadRequest
from datawrangler.core.plan import existing_ancestor
from datawrangler.store import cascade, resume


def drives_of(req: OffloadRequest, catalog: str | os.PathLike[str] | None = None) -> frozenset[str]:
    """The physical volumes an offload reads or writes: two offloads that share one wait for each other. A
    resume's are those of the plan its offload recorded in the catalog; a stage-2 copy's are the drives it
    writes (its stage-1 drive is read while the next card's stage 1 may write to it)."""
    paths = [req.source, *req.dest_roots]
    if req.resume_id is not None:
        db = open_db(catalog)
        try:
            plan = resume.plan_of(db, req.resume_id)
            stage2 = cascade.parent_of(db, req.resume_id) is not None
        finally:
            db.close()
        if plan is not None:  # a stage-2 copy reads a fast stage-1 drive the next card may write at once
            paths = [*plan.destinations] if stage2 else [plan.source, *plan.destinations]
    out = set()
    for p in paths:
        with contextlib.suppress(OSError):
            out.add(platform.physical_volume(existing_ancestor(os.path.abspath(p))))
    return frozenset(out)



@dataclass(frozen=True)
class DriveInfo:
    path: str
    present: bool
    free: int = 0
    total: int = 0
    drive: str = ""  # physical volume id
    label: str = ""
    fstype: str = ""
    measured_at: float = 0.0


def measure_drives(paths: Iterable[str]) -> list[DriveInfo]:
    out = []
    for p in paths:
        if not os.path.isdir(p):
            out.append(DriveInfo(p, False, measured_at=time.time()))
            continue
        try:
            st = os.statvfs(p)
            block = st.f_frsize or st.f_bsize
            mount = platform.mount_of(p)
            label = ""
            if mount is not None and mount.mount_point not in ("/", ""):
                label = os.path.basename(mount.mount_point)
            out.append(DriveInfo(p, True, st.f_bavail * block, st.f_blocks * block, platform.physical_volume(p),
                                 label or os.path.basename(os.path.normpath(p)), mount.fstype if mount else "",
                                 time.time()))
        except OSError:
            out.append(DriveInfo(p, False, measured_at=time.time()))
    return out
