"""An offload request: everything one offload needs, decided before it runs, as one frozen (and picklable)
value that crosses to a worker process. Built in one place from a preset (the window, auto-offload) or from
a preset plus command-line overrides (`datawrangler offload`); a resume is a request too.

What the card is called (reel, roll folder) comes from `app.inspection`; how it is copied (hashes, verify
mode, engine tuning) from the settings and the preset; what is written afterwards (handoff files) from
the preset, else from the settings file's `extra.handoff`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from datawrangler.app.clips import ClipOptions
from datawrangler.app.inspection import Inspection, inspect_card
from datawrangler.config import Settings
from datawrangler.core.errors import Code, OffloadError
from datawrangler.core.hashing import parse_algorithms
from datawrangler.core.plan import OffloadPlan, check_roll_name
from datawrangler.core.presets import Preset, card_tokens, list_algorithms, protection_rule, render_template
from datawrangler.core.protection import Rule
from datawrangler.handoff.writer import HandoffOptions
from datawrangler.store.db import Catalog


@dataclass(frozen=True)
class OffloadRequest:
    """One offload: a card to its destination roots, or (resume_id) the rest of an offload in the catalog."""

    source: str
    dest_roots: tuple[str, ...]
    roll: str = ""  # the roll folder, '/'-separated, relative to each root ('' = the card's folder name)
    settings: Settings = field(default_factory=Settings)  # engine tuning: ignore, retries, chunk, queue depth
    project: str | None = None
    reel: str | None = None  # None: from the clip names, else the card folder's name
    camera: str | None = None
    operator: str | None = None
    vendor: str | None = None  # None: from recognition
    shooting_day: int | None = None  # recorded with the offload, printed by the reports
    location: str | None = None
    resume_id: int | None = None  # resume (or retry the failed files of) this offload
    incremental: bool = False  # a known card: copy only what its earlier offloads do not hold verified
    algorithms: tuple[str, ...] = ("xxh64",)
    verify_mode: str = "full"
    extra_ignore: tuple[str, ...] = ()  # more names to ignore than the settings' list
    default_ignore: bool = True  # False: ignore only extra_ignore (no system-file list)
    retries: int | None = None  # None: the settings' value
    copies_required: int = 2
    rule: str = ""  # the protection rule ("3-2-1"); "": copies_required copies on distinct drives
    handoff: HandoffOptions | None = field(default_factory=HandoffOptions)  # None: no handoff files
    keep_awake: bool = False  # hold a sleep inhibitor while this offload runs
    report: bool = True  # write the offload report into the reports folder when it ends
    clips: ClipOptions | None = field(default_factory=ClipOptions)  # read the clips once verified; None: not
    notes: tuple[tuple[str, str], ...] = ()  # (code, text) warnings found while building it, said once it starts
    label: str = ""  # how the window and messages name the card
    stage2: tuple[str, ...] = ()  # cascading copy: roots written from a verified stage-1 copy (app.cascade)

    @property
    def protection(self) -> Rule:
        """The rule the card is judged by (core.presets.protection_rule)."""
        return protection_rule(self.copies_required, self.rule)

    @property
    def name(self) -> str:
        return self.label or self.reel or os.path.basename(os.path.normpath(self.source)) or self.source


def handoff_options(kinds: Iterable[str]) -> HandoffOptions | None:
    """A preset's handoff kinds (core.presets.HANDOFF_KINDS) as writer options; None for none at all."""
    kinds = tuple(kinds)
    if not kinds:
        return None
    lists = list_algorithms(kinds)
    return HandoffOptions(ascmhl="ascmhl" in kinds, legacy_mhl="mhl" in kinds, checksum_lists=lists,
                          csv="csv" in kinds, json="json" in kinds, ale="ale" in kinds, clip_csv="clip_csv" in kinds)


def clip_options(preset: Preset) -> ClipOptions | None:
    """A preset's clip reading: None when it reads no clips."""
    return ClipOptions(preset.thumbnails) if preset.clips else None


def settings_handoff(settings: Settings) -> tuple[HandoffOptions, tuple[tuple[str, str], ...]]:
    """The handoff files of an offload run without a preset: the settings file's `extra.handoff` (e.g.
    {"legacy_mhl": true, "checksum_lists": "xxh64,md5"}), ASC MHL by default. A bad entry must not stop an
    offload: the ASC MHL only, and a note that says why."""
    try:
        return HandoffOptions.from_mapping(settings.extra.get("handoff")), ()
    except (ValueError, TypeError, AttributeError, OffloadError) as exc:
        return HandoffOptions(), (("handoff", f"The settings' 'handoff' entry cannot be used ({exc}): writing the "
                                              "ASC MHL only. Fix it in the settings file."),)


def roll_for(preset: Preset, inspection: Inspection) -> str:
    """The roll folder (relative, '/'-separated) for this card under the preset's naming template."""
    if inspection.card is None:
        return inspection.label
    tokens = card_tokens(preset, inspection.card, reel=inspection.reel or inspection.label,
                         counter=inspection.counter or None)
    return render_template(preset.template, tokens)


def from_preset(inspection: Inspection | str, preset: Preset, settings: Settings) -> OffloadRequest:
    """The offload of a card with a preset: the window's queue and auto-offload. `inspection` is the card
    as app.inspection saw it, or only its path (not read yet: named by its folder, recognised when it
    runs). ValueError (TemplateError too) with a sentence when it cannot be made."""
    roots = tuple(d for d in preset.destinations if d)
    if not roots:
        raise ValueError("No destination drive in the preset: add one under Destinations.")
    stage2 = tuple(d for d in preset.stage2 if d)
    common = dict(project=preset.project or settings.production or None, operator=settings.operator or None,
                  shooting_day=preset.day, algorithms=tuple(preset.algorithms), verify_mode=preset.verify_mode,
                  copies_required=preset.copies_required, rule=preset.rule, handoff=handoff_options(preset.handoff),
                  keep_awake=preset.keep_awake, clips=clip_options(preset))
    if isinstance(inspection, str):
        name = os.path.basename(os.path.normpath(inspection))
        return OffloadRequest(inspection, roots, name, settings, label=name, stage2=stage2, **common)  # type: ignore[arg-type]
    return OffloadRequest(inspection.path, roots, roll_for(preset, inspection), settings, reel=inspection.reel,
                          stage2=stage2, camera=inspection.camera, vendor=inspection.vendor, label=inspection.label,
                          incremental=inspection.card_id is not None and inspection.new_or_changed > 0,
                          **common)  # type: ignore[arg-type]


def resume_request(offload_id: int, source: str, settings: Settings, preset: Preset | None = None, *,
                   label: str = "") -> OffloadRequest:
    """Resume an offload in the catalog: its plan comes from the catalog; what to require, write afterwards
    and whether to keep awake from the preset (else the settings)."""
    if preset is not None:
        return OffloadRequest(source, (), settings=settings, resume_id=offload_id,
                              copies_required=preset.copies_required, rule=preset.rule,
                              handoff=handoff_options(preset.handoff), keep_awake=preset.keep_awake,
                              clips=clip_options(preset), label=label)
    handoff, notes = settings_handoff(settings)
    return OffloadRequest(source, (), settings=settings, resume_id=offload_id,
                          copies_required=settings.copies_required, handoff=handoff, label=label, notes=notes)


def make_plan(req: OffloadRequest) -> OffloadPlan:
    """The engine's plan for a new offload: each root gets the roll folder (its parents made on a drive that
    is there; a missing drive stays missing and preflight says so)."""
    s = req.settings
    roll = req.roll.strip("/")
    parent, _, leaf = roll.rpartition("/")
    for part in parent.split("/") if parent else ():  # each folder of a template's path, as the roll itself
        check_roll_name(part)
    roots = [os.path.join(r, *parent.split("/")) if parent else r for r in req.dest_roots]
    ignore = (tuple(s.ignore) if req.default_ignore else ()) + req.extra_ignore
    plan = OffloadPlan.create(req.source, roots, roll_name=leaf or None, algorithms=req.algorithms,
                              verify_mode=req.verify_mode, ignore=ignore,
                              retries=s.retries if req.retries is None else req.retries,
                              read_retries=s.read_retries, chunk_size=s.chunk_mib << 20, queue_depth=s.queue_depth,
                              overlap_verify=s.overlap_verify)
    if parent:
        for root, d in zip(req.dest_roots, plan.destinations, strict=True):
            if os.path.isdir(root):  # a drive that refuses (read-only, full) is preflight's to say
                with contextlib.suppress(OSError):
                    os.makedirs(os.path.dirname(d), exist_ok=True)
    return plan


def from_arguments(db: Catalog, source: str, dests: Iterable[str], settings: Settings, preset: Preset | None = None,
                   *, read_clips: bool | None = None, thumbnails: int | None = None,
                   **overrides: Any) -> OffloadRequest:
    """The offload the command line asks for: with a preset, exactly what the window would queue for this
    card (inspected and named under the preset; `dests`, when given, replace the preset's drives); without
    one, the settings' hashes, verify mode and handoff files, and the card's folder name as the roll.
    `overrides` are OffloadRequest fields the arguments set (None: not given). Its `notes` say a reel another
    card was offloaded under, or a bad `handoff` entry in the settings. `read_clips`/`thumbnails` override
    the preset's clip reading (default: read, one thumbnail per clip). OffloadError when the preset's naming
    template cannot name this card."""
    notes: tuple[tuple[str, str], ...] = ()
    dests = tuple(dests)
    if preset is not None:
        if dests:
            preset = dataclasses.replace(preset, destinations=dests)
        info = inspect_card(db, source, settings, preset)
        if info.collision:  # the DIT asked for this card by hand: said, not refused
            notes = (("reel_collision", info.collision),)
        try:
            req = from_preset(info, preset, settings)
        except ValueError as exc:  # TemplateError: the card's names give the template nothing to work with
            raise OffloadError(Code.BAD_ROLL_NAME, f"Preset {preset.name!r} cannot name this card: {exc} Fix the "
                               "preset's naming template, or give the roll folder with --roll.") from None
    else:
        handoff, notes = settings_handoff(settings)
        req = OffloadRequest(source, dests, "", settings, algorithms=tuple(settings.algorithms),
                             verify_mode=settings.verify_mode, copies_required=settings.copies_required,
                             handoff=handoff)
    if overrides.get("roll") is not None:
        check_roll_name(overrides["roll"])  # --roll names one folder
    if isinstance(overrides.get("algorithms"), str):
        overrides["algorithms"] = tuple(parse_algorithms(overrides["algorithms"]))
    changes = {k: v for k, v in overrides.items() if v is not None}
    req = with_clips(req, read_clips, thumbnails)
    return dataclasses.replace(req, **changes, notes=req.notes + notes)


def with_clips(req: OffloadRequest, read_clips: bool | None = None, thumbnails: int | None = None
               ) -> OffloadRequest:
    """`req` with the command line's clip reading: read_clips False reads none, `thumbnails` sets how many a
    clip gets (reading them even where the preset reads none); None leaves the preset's (or the settings')."""
    if read_clips is False:
        return dataclasses.replace(req, clips=None)
    if thumbnails is not None or read_clips:
        return dataclasses.replace(req, clips=ClipOptions(req.clips.thumbnails if thumbnails is None and req.clips
                                                          else 1 if thumbnails is None else thumbnails))
    return req
