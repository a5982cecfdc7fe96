"""Naming a card from the catalog: the next reel per camera (continuing across days), and a reel that
collides with a different card already offloaded under that name (flagged before a byte is copied).

These read the catalog (store) and so live above it; core.presets renders the names.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from datawrangler.core.cards import CardInfo
from datawrangler.core.presets import Preset, card_tokens, render_template
from datawrangler.core.scan import SourceFile
from datawrangler.store import cards as store_cards
from datawrangler.store import reads_naming
from datawrangler.store.db import Catalog


def next_reel_number(db: Catalog, camera: str, project: str | None = None) -> int:
    """1 + the highest reel number offloaded for this camera letter (A007 -> 8), in this project if given."""
    pattern = re.compile(rf"^{re.escape(camera)}(\d{{3,4}})$")
    numbers = [int(m.group(1)) for reel in reads_naming.camera_reels(db, camera, project) if (m := pattern.match(reel))]
    return max(numbers, default=0) + 1


@dataclass(frozen=True)
class ReelCollision:
    reel: str
    offload_id: int
    started_at: float
    fingerprint: str

    @property
    def message(self) -> str:
        day = dt.datetime.fromtimestamp(self.started_at).strftime("%Y-%m-%d %H:%M")
        return (f"Reel {self.reel} was already offloaded on {day} (offload {self.offload_id}) from a different "
                "card. Check the card: give this one another reel name, or confirm it is the same card.")


def reel_collision(db: Catalog, reel: str, fingerprint: str, files: Sequence[SourceFile],
                   project: str | None = None) -> ReelCollision | None:
    """A different card already offloaded as `reel`. The same card inserted again, or a card that went back
    into the camera and shot more (same lineage), is not a collision."""
    if store_cards.find_known(db, fingerprint, reel, files) is not None:
        return None
    taken = reads_naming.reel_taken(db, reel, fingerprint, project)
    return ReelCollision(reel, taken.offload_id, taken.started_at, taken.fingerprint) if taken else None


@dataclass(frozen=True)
class CardName:
    reel: str | None  # None: an empty card (no files after the ignore rules) is given no name
    camera: str
    counter: int
    from_counter: bool  # True: the card's names carry no reel; the counter named it
    roll: str  # the rendered template: the roll folder (relative, '/'-separated) under each destination
    collision: ReelCollision | None
    known: store_cards.KnownCard | None  # this card (or its earlier self) is in the catalog


def name_card(db: Catalog, preset: Preset, card: CardInfo, files: Sequence[SourceFile],
              when: dt.date | None = None) -> CardName:
    """Reel, counter and roll folder for a card under a preset; known card and reel collision looked up.

    An empty card (no files after the ignore rules: a freshly formatted card, an empty volume) gets no reel,
    not even one from its names or label: there is nothing to offload under a name, and listing it as A001
    with 0 clips says a camera roll is there."""
    if not files:
        return CardName(None, preset.camera_for(card), 0, False, "", None, None)
    known = store_cards.find_known(db, card.fingerprint, card.reel, files)
    if card.reel:
        reel, from_counter = card.reel, False
    elif known is not None and known.reel:
        reel, from_counter = known.reel, False  # the same card again keeps its earlier name
    else:
        camera = preset.camera_for(card)
        reel, from_counter = f"{camera}{next_reel_number(db, camera, preset.project or None):03d}", True
    counter = int(reel[1:]) if reel[1:].isdigit() else 0
    collision = None if known is not None else reel_collision(db, reel, card.fingerprint, files,
                                                               preset.project or None)
    roll = render_template(preset.template, card_tokens(preset, card, reel=reel, counter=counter, when=when))
    return CardName(reel, reel[0], counter, from_counter, roll, collision, known)
