"""The drives an offload touches and what the destination drives hold: for the scheduler and the window's
Destinations list (run on a worker: statvfs on a sleeping drive can take seconds)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

from datawrangler import platform
from datawrangler.app.catalog import open_db
from datawrangler.app.request import OffloadRequest
from datawrangler.core.plan import existing_ancestor
from datawrangler.core.protection import MEDIA_WORDS, MediaKind
from datawrangler.store import cascade, resume, volumes


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
    media_kind: str = ""  # what the catalog says the drive is (core.protection.MediaKind), "" when not said


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


def measure_with_kinds(paths: Iterable[str], catalog: str | os.PathLike[str] | None = None) -> list[DriveInfo]:
    """measure_drives, with each present drive's media kind from the catalog (a rule such as 3-2-1 counts
    them). A catalog that cannot be read leaves the kinds unsaid: measuring free space must not fail for it."""
    infos = measure_drives(paths)
    try:
        db = open_db(catalog)
    except Exception:  # the catalog's own problems are said where it is opened for an offload
        return infos
    try:
        return [dataclasses.replace(i, media_kind=volumes.media_kind_at(db, i.path) or "") if i.present else i
                for i in infos]
    finally:
        db.close()


def set_media_kind(catalog: str | os.PathLike[str] | None, path: str, kind: str | None) -> str:
    """Record what the drive holding `path` is (None: not said) and return the sentence the window says."""
    db = open_db(catalog)
    try:
        vol, _rows = volumes.set_media_kind(db, path, kind)
    finally:
        db.close()
    name = vol.label or vol.mount_point or path
    words = MEDIA_WORDS[MediaKind(kind)] if kind and kind in MediaKind._value2member_map_ else kind
    return f"Drive {name}: " + (f"{words}." if kind else "media kind not said (it never counts as another kind "
                                "for a 3-2-1 rule).")
