"""Inspecting a card: what recognition sees (core.cards), what it is called under a preset (app.naming) and
what the catalog knows of it (store): new, the same card again, a card that shot more, or a reel name that
another card already has. And, from that, the one decision auto-offload makes for every front end: copy
it, skip it (and why), or flag it for the DIT.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from datawrangler.app.naming import name_card
from datawrangler.config import Settings
from datawrangler.core import cards as core_cards
from datawrangler.core.cards import CardRule
from datawrangler.core.presets import Preset, TemplateError
from datawrangler.core.scan import scan_source
from datawrangler.core.words import plural
from datawrangler.store import cards, offloads, redundancy
from datawrangler.store.db import Catalog
from datawrangler.store.handoff_names import ASCMHL_FOLDER


@dataclass(frozen=True)
class Inspection:
    """A source as the Cards list and auto-offload see it, read off the GUI thread."""

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
    template_error: str = ""  # the preset's naming template cannot name this card
    card_id: int | None = None  # in the catalog
    known_exact: bool = False
    last_offload_id: int | None = None
    last_offload_at: float | None = None
    offload_state: str | None = None  # of the last offload of this card
    copies: int = 0  # fewest verified copies of any file, on distinct drives
    safe: bool = False
    reasons: tuple[str, ...] = ()
    judgement: str = ""  # the weakest file against the preset's rule: '2 copies, 1 media kind, 1 site: needs ...'
    new_or_changed: int = 0
    scan_problems: int = 0  # unreadable entries


def source_ignore(path: str, ignore: tuple[str, ...]) -> tuple[str, ...]:
    """What a scan of this source leaves out: the settings' list, and the source's own ASC MHL history
    folder (handoff.source checks the card against it and hands it on; it is not footage). The one rule
    for inspecting a card and for offloading it, so both see the same files and the same fingerprint."""
    if ASCMHL_FOLDER not in ignore and os.path.isdir(os.path.join(path, ASCMHL_FOLDER)):
        return (*ignore, ASCMHL_FOLDER)
    return tuple(ignore)


def inspect_card(db: Catalog, path: str, settings: Settings, preset: Preset, label: str | None = None,
                 rules: list[CardRule] | None = None) -> Inspection:
    """Scan and recognise the card, name it under the preset, and ask the catalog whether it was offloaded
    and is safe to format (with the card's current listing: a file added since is not covered)."""
    scan = scan_source(path, source_ignore(path, settings.ignore))
    card = core_cards.recognise(path, scan=scan, label=label, rules=rules)
    name = label or os.path.basename(os.path.normpath(path)) or path
    template_error = ""
    reel: str | None
    try:
        named = name_card(db, preset, card, scan.files)
        reel, counter, collision = named.reel, named.counter, named.collision.message if named.collision else ""
        known = named.known
    except TemplateError as exc:
        known = cards.find_known(db, card.fingerprint, card.reel, scan.files)
        reel, counter, collision, template_error = card.reel, 0, "", f"Preset {preset.name!r}: {exc}"
    vendor = None if card.generic else card.vendor
    info = Inspection(path, name, vendor, reel, (reel or "")[:1] or card.camera_letter, card.clip_count,
                      len(scan.files), scan.total_bytes, card.fingerprint, card, counter, collision, template_error,
                      scan_problems=len(scan.errors))
    if known is None:
        return info
    listing = [(f.rel_path, f.size, f.mtime_ns) for f in scan.files]
    red = redundancy.card_redundancy(db, known.card_id, preset.protection, listing)
    safe, reasons = red.safe, tuple(red.reasons)
    if scan.errors:  # what cannot be read now is in no listing: the card is not known to be complete
        safe = False
        reasons += (f"{plural(len(scan.errors), 'entry')} on the card cannot be read (e.g. {scan.errors[0].rel_path}): "
                    "copy what can be read, then check the card in its camera or another reader.",)
    state = None if known.last_offload_id is None else offloads.state_of(db, known.last_offload_id)
    return dataclasses.replace(info, card_id=known.card_id, known_exact=known.exact,
                               last_offload_id=known.last_offload_id, last_offload_at=known.last_offload_at,
                               offload_state=state, copies=red.min_disks, safe=safe, reasons=reasons,
                               judgement=red.sentence, new_or_changed=known.new_or_changed)


@dataclass(frozen=True)
class Decision:
    """What auto-offload does with an inspected card. kind: offload, skipped, flagged, refused."""

    kind: str
    message: str = ""

    @property
    def offload(self) -> bool:
        return self.kind == "offload"


def auto_decision(info: Inspection, preset: Preset) -> Decision:
    """One rule for every front end (the window's auto-enqueue, `watch --auto`): a card is copied without a
    click only when the preset says so, it is a camera card (or the preset takes any), it holds files, it
    is not already safe to format, its name renders, and its reel does not collide with another card's."""
    p = preset
    if not p.auto_offload:
        return Decision("skipped", f"Preset {p.name!r} has auto-offload off.")
    if info.vendor is None and not p.auto_generic:
        return Decision("skipped", f"{info.label} is not a recognised camera card: offload it by hand (or set "
                        "auto_generic in the preset).")
    if info.files == 0:
        return Decision("skipped", f"{info.label} holds no files.")
    if info.template_error:
        return Decision("refused", info.template_error)
    if info.card_id is not None and info.known_exact and info.safe:
        return Decision("skipped", f"{info.label} was already offloaded as {info.reel} and is safe to format: "
                        "not copied again.")
    if info.collision:
        return Decision("flagged", info.collision)
    return Decision("offload")


def describe(info: Inspection) -> str:
    """One line: 'A001R2EC: ARRI ALEXA, 3 clips, reel A001'."""
    card = info.card
    what = f"{card.vendor} {card.family}" if card is not None and not card.generic else "an unrecognised card"
    return f"{info.label}: {what}, {plural(info.clips, 'clip')}" + (f", reel {info.reel}" if info.reel else "")
