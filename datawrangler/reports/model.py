"""The report models: what a report says, as frozen dataclasses, built from the catalog (see offload, day,
redundancy) and rendered by html/pdf/csvout. No formatting here beyond the facts' own words."""

from __future__ import annotations

from dataclasses import dataclass

from datawrangler.core.words import plural
from datawrangler.reports.clipmodel import ClipTable
from datawrangler.reports.stagemodel import WAITING, Cascade
from datawrangler.reports.volumemodel import Volume


@dataclass(frozen=True)
class Meta:
    """What every page says: which report, of what, when, by which version."""

    kind: str  # offload / day / redundancy / contact
    title: str  # "Offload report"
    subject: str  # "A001 · offload 7"
    production: str | None
    generated_at: float
    app_version: str
    host: str
    required: int  # verified copies on distinct drives that make a card safe to format
    paper: str = "a4"
    rule_text: str = ""  # a studio's rule in words (core.protection.Rule.describe); "": N copies on distinct drives


@dataclass(frozen=True)
class Verdict:
    safe: bool
    copies: int  # the fewest verified copies on distinct drives that any file of the card has
    required: int
    reasons: tuple[str, ...] = ()
    rule: str = ""  # the rule's name ('2', '3-2-1')
    sentence: str = ""  # the weakest file against the rule: '2 copies, 1 media kind, 1 site: needs ...'

    @property
    def headline(self) -> str:
        if self.safe:
            return f"VERIFIED ON {self.copies} VOLUME{'S' if self.copies != 1 else ''}"
        return "NOT SAFE TO FORMAT"

    @property
    def detail(self) -> str:
        if self.safe and self.rule and not self.rule.isdigit():
            return f"Safe to format: every file meets the rule {self.rule} ({self.sentence.split(':')[0]})."
        if self.safe:
            return (f"Safe to format: every file has a verified copy on at least "
                    f"{plural(self.copies, 'distinct drive')} (rule: {self.required}).")
        return " ".join(self.reasons)


@dataclass(frozen=True)
class Destination:
    number: int  # 1-based: D1, D2…
    path: str
    volume: Volume | None
    state: str
    files_ok: int
    files_failed: int
    copies_verified: int
    copies_copied: int  # size mode: written, not read back
    already_present: int
    bypassed: int  # verified read-backs that could not have come from the OS cache
    not_bypassed: int  # verified read-backs that may have come from it
    code: str | None = None
    message: str | None = None
    changed: int = 0  # copies found different from the card since (a re-verify, a stage-2 copy reading them)

    @property
    def tag(self) -> str:
        return f"D{self.number}"


@dataclass(frozen=True)
class Problem:
    """A failure or a warning, with its message as the catalog holds it."""

    where: str  # "D1", "card", "" (the offload as a whole), or a reel in a day report
    path: str
    code: str
    message: str


@dataclass(frozen=True)
class FileRow:
    path: str
    size: int
    digests: tuple[str, ...]  # in the report's algorithm order ('' where missing)
    status: str
    results: tuple[str, ...]  # per destination: verified / copied / failed: <code> / '' (not on it)
    message: str = ""


@dataclass(frozen=True)
class CardInfo:
    card_id: int | None
    label: str | None
    vendor: str | None
    camera: str | None
    reel: str | None
    fingerprint: str | None
    source: str
    source_volume: Volume | None


@dataclass(frozen=True)
class OffloadReport:
    meta: Meta
    offload_id: int
    uuid: str
    state: str
    message: str
    operator: str | None
    host: str | None
    shooting_day: str | None
    location: str | None
    card: CardInfo
    destinations: tuple[Destination, ...]
    algorithms: tuple[str, ...]
    verify_mode: str
    cache_bypass: str  # one sentence: did the read-backs bypass the OS cache?
    files_total: int
    files_verified: int
    files_copied: int
    files_failed: int
    files_pending: int
    skipped: int  # entries the scan found and did not copy (symlinks, special files)
    bytes_total: int
    clips: int
    started_at: float
    ended_at: float | None
    resumes: int
    incremental_of: int | None
    verdict: Verdict
    warnings: tuple[Problem, ...]
    failures: tuple[Problem, ...]  # the first ones, each with its message
    failures_total: int
    failures_grouped: tuple[tuple[str, str, int], ...]  # (where, code, count) over every failure
    files: tuple[FileRow, ...] | None = None  # the per-file table, when asked for
    clip_table: ClipTable | None = None  # the clips read from a verified copy; None: not read (yet)
    cascade: Cascade | None = None  # None: an offload with no stage 2

    @property
    def released_not_safe(self) -> bool:
        """Stage 1 released the card, and its stage 2 has not ended: the card may leave the reader, and must
        not be formatted yet."""
        c = self.cascade
        return c is not None and c.released and not self.verdict.safe and bool(c.waiting or c.queueing)

    @property
    def headline(self) -> str:
        return "RELEASED · NOT YET SAFE TO FORMAT" if self.released_not_safe else self.verdict.headline

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else max(0.0, self.ended_at - self.started_at)

    @property
    def failures_more(self) -> int:
        return self.failures_total - len(self.failures)


@dataclass(frozen=True)
class DayCard:
    card_id: int
    offload_id: int
    reel: str | None
    camera: str | None
    label: str | None
    clips: int
    files: int
    bytes: int
    state: str
    started_at: float
    verdict: Verdict
    failures: int
    stage2: tuple[tuple[int, str], ...] = ()  # its stage-2 offloads: (id, state)
    released: bool = False  # stage 1 of a cascade ended verified: the card left the reader

    @property
    def stage2_words(self) -> str:
        """'stage 2: offload 5 queued', for the day's card row; '' without a stage 2."""
        if not self.stage2:
            return ""
        return "stage 2: " + ", ".join(f"offload {i} {state}" for i, state in self.stage2)

    @property
    def stage2_waiting(self) -> bool:
        """A stage-2 offload of the card has not ended (queued, running, or stopped to resume)."""
        return any(state in WAITING for _, state in self.stage2)


@dataclass(frozen=True)
class CameraTotal:
    camera: str
    cards: int
    clips: int
    files: int
    bytes: int
    safe: int  # cards safe to format


@dataclass(frozen=True)
class DriveTotal:
    name: str
    disk: str
    cards: int
    copies_verified: int
    bytes_verified: int
    copies_failed: int


@dataclass(frozen=True)
class DayReport:
    meta: Meta
    day: str  # YYYY-MM-DD
    window: tuple[float, float]
    shooting_day: str | None
    location: str | None
    operators: tuple[str, ...]
    cards: tuple[DayCard, ...]
    cameras: tuple[CameraTotal, ...]
    drives: tuple[DriveTotal, ...]
    failures: tuple[Problem, ...]
    failures_total: int

    @property
    def totals(self) -> CameraTotal:
        return CameraTotal("all", len(self.cards), sum(c.clips for c in self.cards),
                           sum(c.files for c in self.cards), sum(c.bytes for c in self.cards),
                           sum(c.verdict.safe for c in self.cards))


@dataclass(frozen=True)
class CardCopies:
    """One card in the redundancy report."""

    card_id: int
    reel: str | None
    label: str | None
    offloads: tuple[int, ...]
    files: int
    bytes: int
    files_short: int
    verdict: Verdict
    short_sample: tuple[tuple[str, int], ...]  # (path, verified copies on distinct drives)
    stage2_waiting: tuple[tuple[int, str], ...] = ()  # its stage-2 offloads not ended: (id, state)

    @property
    def short(self) -> bool:
        return not self.verdict.safe


@dataclass(frozen=True)
class DriveCard:
    """What one drive holds of one card."""

    reel: str | None
    card_id: int
    files: int  # files of the card with a verified copy on this drive
    bytes: int
    files_short: int  # of those, files with fewer verified copies (on distinct drives) than the rule
    card_files: int
    card_safe: bool
    made_from: tuple[str, ...] = ()  # per offload that wrote here: 'the card (offload 3)' or the stage-1 copy read

    @property
    def short(self) -> bool:
        return self.files_short > 0 or not self.card_safe


@dataclass(frozen=True)
class DriveCopies:
    name: str
    disk: str
    identities: tuple[str, ...]  # volume keys (filesystem UUIDs) on this disk
    mount_points: tuple[str, ...]
    cards: tuple[DriveCard, ...]
    media_kind: str = ""  # what the drive is in words ('LTO tape'), "" when nobody said
    made_by: tuple[str, ...] = ()  # the stations that made its copies: 'cart-a at Stage 4'

    @property
    def short(self) -> bool:
        return any(c.short for c in self.cards)


@dataclass(frozen=True)
class RedundancyReport:
    meta: Meta
    scope: str
    cards: tuple[CardCopies, ...]  # short of the rule first
    drives: tuple[DriveCopies, ...]  # drives holding short cards first

    @property
    def cards_short(self) -> int:
        return sum(c.short for c in self.cards)


@dataclass(frozen=True)
class ContactCard:
    """One card on a contact sheet: its clips (each once, from the latest offload that read it)."""

    card_id: int | None
    reel: str | None
    label: str | None
    offloads: tuple[int, ...]
    table: ClipTable


@dataclass(frozen=True)
class ContactSheet:
    """Thumbnails of every clip of a card (its whole lineage) or of a shooting day, card by card."""

    meta: Meta
    scope: str  # "card" or "day"
    day: str | None  # the day of a day's sheet (YYYY-MM-DD)
    dates: tuple[str, ...]  # the days its offloads started
    shooting_day: str | None
    location: str | None
    stations: tuple[str, ...]
    operators: tuple[str, ...]
    cards: tuple[ContactCard, ...]
    unread: tuple[tuple[str, int], ...] = ()  # cards of the day whose clips were not read: (reel, latest offload)

    @property
    def reels(self) -> tuple[str, ...]:
        return tuple(c.reel or c.label or f"card {c.card_id}" for c in self.cards)

    @property
    def table(self) -> ClipTable:
        """Every clip of the sheet, for the totals and the CSV."""
        return ClipTable(tuple(line for c in self.cards for line in c.table.lines))


Report = OffloadReport | DayReport | RedundancyReport | ContactSheet
