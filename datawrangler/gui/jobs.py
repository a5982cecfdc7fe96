"""The work the window asks for, run on worker threads by the bridge (never on the GUI thread).

Pure Python, no Qt: inspect a card, run an offload that records into the catalog, measure drives.
Tests call these directly.

The recorded offload goes through `store.session.run_recorded`, the one path the CLI and auto-offload use
too; what comes before it (preflight with warnings for the window, known-card lookup, begin or reopen the
row) follows `cli/offload.py` step for step, since that part is bound to argparse and stdout there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from datawrangler.config import Settings, app_paths
from datawrangler.core import cards as core_cards
from datawrangler.core import devices
from datawrangler.core.cards import default_reel
from datawrangler.core.errors import Code
from datawrangler.core.events import FileResult, FileStatus, OffloadControl, OffloadResult, ProgressEvent
from datawrangler.core.plan import OffloadPlan, preflight
from datawrangler.core.presets import Preset, TemplateError, card_tokens, render_template
from datawrangler.core.scan import ScanResult, scan_source
from datawrangler.handoff.source import prepare_source
from datawrangler.handoff.writer import HandoffOptions, write_handoff
from datawrangler.store import cards, offloads, redundancy, resume, session
from datawrangler.store.db import open_catalog
from datawrangler.store.liveness import mark_interrupted
from datawrangler.store.offloads import OffloadMeta
from datawrangler.volumes.awake import keep_awake
from datawrangler.volumes.naming import name_card


@dataclass(frozen=True)
class CardInfo:
    """What the Cards list shows about a source, read off the GUI thread: recognition (core.cards), its name
    under the preset (volumes.naming) and what the catalog knows (store)."""

    path: str
    label: str
    vendor: str | None
    reel: str | None
    camera: str | None
    clips: int
    files: int
    bytes: int
    fingerprint: str
    card: core_cards.CardInfo | None = None
    counter: int = 0
    collision: str = ""  # a different card was offloaded under this reel
    card_id: int | None = None  # in the catalog
    known_exact: bool = False
    last_offload_id: int | None = None
    last_offload_at: float | None = None
    offload_state: str | None = None  # of the last offload of this card
    copies: int = 0  # fewest verified copies of any file, on distinct drives
    safe: bool = False
    reasons: tuple[str, ...] = ()
    new_or_changed: int = 0
    scan_problems: int = 0  # unreadable entries


def catalog_file(catalog: str | os.PathLike[str] | None) -> Path:
    return Path(catalog) if catalog else app_paths().catalog_file


_open_lock = threading.Lock()
_ready: set[Path] = set()


def open_db(catalog: str | os.PathLike[str] | None) -> Database:
    """open_catalog, with the first opening of a catalog (its creation or migration) done by one worker
    at a time: several workers start at once when the window opens."""
    path = catalog_file(catalog)
    if path in _ready:
        return open_catalog(path)
    with _open_lock:
        db = open_catalog(path)
        _ready.add(path)
        return db


def inspect_card(path: str, settings: Settings, preset: Preset, catalog: str | os.PathLike[str] | None = None,
                 label: str | None = None) -> CardInfo:
    """Scan and recognise the card, name it under the preset, and ask the catalog whether it was offloaded
    and is safe to format."""
    scan = scan_source(path, settings.ignore)
    card = core_cards.recognise(path, scan=scan, label=label)
    name = label or os.path.basename(os.path.normpath(path)) or path
    db = open_db(catalog)
    try:
        reel: str | None
        try:
            named = name_card(db, preset, card, scan.files)
            reel, counter, collision = named.reel, named.counter, named.collision.message if named.collision else ""
            known = named.known
        except TemplateError:
            known = cards.find_known(db, card.fingerprint, card.reel, scan.files)
            reel, counter, collision = card.reel, 0, ""
        vendor = None if card.generic else card.vendor
        info = CardInfo(path, name, vendor, reel, (reel or "")[:1] or card.camera_letter, card.clip_count,
                        len(scan.files), scan.total_bytes, card.fingerprint, card, counter, collision,
                        scan_problems=len(scan.errors))
        if known is None:
            return info
        listing = [(f.rel_path, f.size, f.mtime_ns) for f in scan.files]
        red = redundancy.card_redundancy(db, known.card_id, preset.copies_required, listing)
        state = None
        if known.last_offload_id is not None:
            row = db.conn.execute("SELECT state FROM offloads WHERE id = ?", (known.last_offload_id,)).fetchone()
            state = row[0] if row else None
        return dataclasses.replace(info, card_id=known.card_id, known_exact=known.exact,
                                   last_offload_id=known.last_offload_id, last_offload_at=known.last_offload_at,
                                   offload_state=state, copies=red.min_disks, safe=red.safe,
                                   reasons=tuple(red.reasons), new_or_changed=known.new_or_changed)
    finally:
        db.close()


def roll_for(preset: Preset, info: CardInfo) -> str:
    """The roll folder (relative) for this card under the preset's naming template."""
    if info.card is None:
        return info.label
    tokens = card_tokens(preset, info.card, reel=info.reel or info.label, counter=info.counter or None)
    return render_template(preset.template, tokens)


@dataclass(frozen=True)
class OffloadRequest:
    """One queued offload: a card to its destination roots, or the resume of an offload in the catalog."""

    source: str
    dest_roots: tuple[str, ...]
    roll: str = ""  # rendered naming template, '/'-separated, relative to each root ('' = card folder name)
    settings: Settings = field(default_factory=Settings)
    project: str | None = None
    reel: str | None = None
    camera: str | None = None
    operator: str | None = None
    vendor: str | None = None
    resume_id: int | None = None  # resume (or retry the failed files of) this offload
    incremental: bool = False  # a known card: copy only what its earlier offloads do not hold verified
    algorithms: tuple[str, ...] = ("xxh64",)  # from the preset
    verify_mode: str = "full"
    copies_required: int = 2
    handoff: tuple[str, ...] = ()  # core.presets.HANDOFF_KINDS
    keep_awake: bool = False  # hold a sleep inhibitor while this offload runs (volumes.awake)
    shooting_day: int | None = None  # the preset's day, recorded in the catalog for the reports
    location: str | None = None


@dataclass(frozen=True)
class OffloadOutcome:
    offload_id: int
    result: OffloadResult
    safe: bool
    copies: int  # fewest verified copies on distinct drives, after this offload
    reasons: tuple[str, ...]
    card_id: int | None
    handoff_notes: tuple[str, ...] = ()


def make_plan(req: OffloadRequest) -> OffloadPlan:
    s = req.settings
    roll = req.roll.strip("/")
    parent, _, leaf = roll.rpartition("/")
    roots = [os.path.join(r, *parent.split("/")) if parent else r for r in req.dest_roots]
    return OffloadPlan.create(req.source, roots, roll_name=leaf or None, algorithms=req.algorithms,
                              verify_mode=req.verify_mode, ignore=tuple(s.ignore), retries=s.retries,
                              read_retries=s.read_retries, chunk_size=s.chunk_mib << 20,
                              queue_depth=s.queue_depth, overlap_verify=s.overlap_verify)


def drives_of(req: OffloadRequest) -> frozenset[str]:
    """The physical volumes an offload reads or writes: two offloads that share one wait for each other."""
    out = set()
    for p in (req.source, *req.dest_roots):
        with contextlib.suppress(OSError):
            out.add(devices.physical_volume(p))
    return frozenset(out)


Warn = Callable[[Code, str], None]


def run_offload(req: OffloadRequest, control: OffloadControl, *, on_progress: Callable[[ProgressEvent], None],
                on_failed: Callable[[FileResult], None], on_warning: Warn, on_started: Callable[[int], None],
                catalog: str | os.PathLike[str] | None = None) -> OffloadOutcome:
    """Preflight, record, copy, verify, record the end, and answer safe-to-format. Raises OffloadError when
    preflight refuses (nothing was written), CatalogError when the catalog cannot be used. With
    req.keep_awake the machine is kept from sleeping until it returns."""
    awake = keep_awake(f"Offloading {req.reel or os.path.basename(req.source.rstrip(os.sep))}") if req.keep_awake \
        else contextlib.nullcontext()
    with awake:
        return _run_offload(req, control, on_progress=on_progress, on_failed=on_failed, on_warning=on_warning,
                            on_started=on_started, catalog=catalog)


def _run_offload(req: OffloadRequest, control: OffloadControl, *, on_progress: Callable[[ProgressEvent], None],
                 on_failed: Callable[[FileResult], None], on_warning: Warn, on_started: Callable[[int], None],
                 catalog: str | os.PathLike[str] | None) -> OffloadOutcome:
    path = catalog_file(catalog)
    db = open_db(path)
    try:
        mark_interrupted(db)
        pairs: dict = {}
        source_history = None
        if req.resume_id is not None:
            info = resume.load(db, req.resume_id)
            plan = info.plan
            scan = scan_source(plan.source, plan.ignore)
            _check(plan, scan, on_warning)
            pairs = resume.verified_pairs(db, plan.destinations, [info.offload_id])
            record = offloads.reopen_offload(db, info.offload_id, plan, scan)
        else:
            plan = make_plan(req)
            for root, d in zip(req.dest_roots, plan.destinations, strict=True):
                if os.path.isdir(root):  # the template's folders above the roll; a missing drive stays missing
                    os.makedirs(os.path.dirname(d), exist_ok=True)
            plan, source_history = prepare_source(plan)
            scan = scan_source(plan.source, plan.ignore)
            _check(plan, scan, on_warning)
            fp = core_cards.fingerprint(scan)
            reel = req.reel or default_reel(plan.source)
            meta = OffloadMeta(project=req.project or req.settings.production or None, reel=reel,
                               camera=req.camera, operator=req.operator or req.settings.operator or None,
                               vendor=req.vendor, shooting_day=req.shooting_day, location=req.location)
            begun = session.begin(db, plan, scan, fp, meta, incremental=req.incremental)
            record, pairs = begun.record, begun.pairs
        on_started(record.offload_id)
        notes: list[str] = []

        def on_file(f: FileResult) -> None:
            if source_history is not None:
                source_history.check(f)
            if f.status is FileStatus.FAILED:
                on_failed(f)

        def after_finish(offload_id: int, result: OffloadResult) -> None:
            notes.extend(handoff(db, offload_id, result, req.handoff))

        done = session.run_recorded(db, path, plan, scan, record, pairs=pairs, copies_required=req.copies_required,
                                    control=control, on_progress=on_progress, on_file=on_file,
                                    after_finish=after_finish)
        result = done.result
        card_id = session.card_of(db, record.offload_id)
        red = redundancy.card_redundancy(db, card_id, req.copies_required)
        return OffloadOutcome(record.offload_id, result, red.safe, red.min_disks, tuple(red.reasons), card_id,
                              tuple(notes))
    finally:
        db.close()


def _check(plan: OffloadPlan, scan: ScanResult, on_warning: Warn) -> None:
    pf = preflight(plan, scan)
    for w in pf.warnings:
        on_warning(w.code, w.message)
    pf.raise_for_errors()


def handoff_options(kinds: tuple[str, ...]) -> HandoffOptions:
    lists = tuple(a for k, a in (("md5sum", "md5"), ("xxhsum", "xxh64")) if k in kinds)
    return HandoffOptions(ascmhl="ascmhl" in kinds, legacy_mhl="mhl" in kinds, checksum_lists=lists,
                          csv="csv" in kinds, json="json" in kinds)


def handoff(db: Database, offload_id: int, result: OffloadResult, kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The handoff files (ASC MHL, lists) of a finished offload, written into each roll. Returns warnings."""
    if not kinds or result.files_verified + result.files_copied == 0:
        return ()
    try:
        out = write_handoff(db, offload_id, handoff_options(kinds))
    except (OSError, ValueError) as exc:
        return (f"The handoff files could not be written ({exc}). The copies are not affected.",)
    return tuple(out.warnings)


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
            mount = devices.mount_of(p)
            label = ""
            if mount is not None and mount.mount_point not in ("/", ""):
                label = os.path.basename(mount.mount_point)
            out.append(DriveInfo(p, True, st.f_bavail * block, st.f_blocks * block, devices.physical_volume(p),
                                 label or os.path.basename(os.path.normpath(p)), mount.fstype if mount else "",
                                 time.time()))
        except OSError:
            out.append(DriveInfo(p, False, measured_at=time.time()))
    return out
