"""The rule a card's copies must meet before it may be formatted: pure, no I/O.

Two rules a production chooses between (a preset's `rule`):
- "N copies": N verified copies on distinct physical drives (DataWrangler's rule since the first version);
- "3-2-1": Netflix's published minimum for camera and sound originals: three copies, on at least two kinds of
  media, at least one in another place.

A copy is what `store.redundancy` counts for one file: one physical drive holding a verified copy, with the
kind of media the drive is (a shuttle SSD, a RAID, an LTO tape...) and the site of the station that made it.
A drive whose kind or site nobody recorded cannot prove a second kind or a second site: unknown never
counts as "another", so a rule is never met on a guess. Each judgement says which part of the rule is met and
what is missing, in the words a DIT and a post supervisor use ("2 copies, 1 media kind, 1 site: needs a copy
on another media kind at another site").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from datawrangler.core.words import plural


class MediaKind(StrEnum):
    """What a drive is, as a studio's rule counts kinds of media."""

    SHUTTLE = "shuttle"  # a portable SSD or disk that travels to post
    RAID = "raid"  # a RAID or NAS at the lab or on the cart
    LTO = "lto"  # LTO tape (LTFS)
    CLOUD = "cloud"  # an object store or a cloud drive
    CARD = "card"  # a camera card kept as a copy (never the card being offloaded)
    DISK = "disk"  # an internal or other fixed disk


MEDIA_WORDS = {
    MediaKind.SHUTTLE: "shuttle drive",
    MediaKind.RAID: "RAID",
    MediaKind.LTO: "LTO tape",
    MediaKind.CLOUD: "cloud storage",
    MediaKind.CARD: "camera card",
    MediaKind.DISK: "fixed disk",
}


class RuleError(ValueError):
    """A rule's text cannot be read; the message says which rules exist."""


@dataclass(frozen=True)
class Rule:
    """`copies` verified copies on distinct drives, on at least `media_kinds` kinds of media, at least
    `sites` places."""

    copies: int
    media_kinds: int = 1
    sites: int = 1

    @classmethod
    def parse(cls, text: str | int) -> Rule:
        """'2' (or 2) is two copies on distinct drives; '3-2-1' is Netflix's rule (three copies, two kinds of
        media, one of them in another place: two sites)."""
        if isinstance(text, int) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str):
            raise RuleError(f"A protection rule is text such as '2' or '3-2-1', not {text!r}.")
        words = text.strip().lower()
        if re.fullmatch(r"\d+", words) and int(words) >= 1:
            return cls(int(words))
        if words in ("3-2-1", "321", "netflix"):
            return cls(3, 2, 2)
        raise RuleError(f"Unknown protection rule {text!r}: use a number of copies on distinct drives ('2') or "
                        "'3-2-1' (three copies, two kinds of media, one in another place).")

    @property
    def name(self) -> str:
        if (self.copies, self.media_kinds, self.sites) == (3, 2, 2):
            return "3-2-1"
        if self.media_kinds == 1 and self.sites == 1:
            return str(self.copies)
        return f"{self.copies} copies, {self.media_kinds} media kinds, {self.sites} sites"

    def describe(self) -> str:
        """The rule in a sentence, for a report's header and the preset editor."""
        parts = [f"{plural(self.copies, 'verified copy')} on distinct drives"]
        if self.media_kinds > 1:
            parts.append(f"on at least {self.media_kinds} kinds of media")
        if self.sites > 1:
            parts.append("at least one in another place" if self.sites == 2 else f"in at least {self.sites} places")
        return ", ".join(parts)


@dataclass(frozen=True)
class Copy:
    """One physical drive holding a verified copy of a file (store.redundancy counts drives, not folders)."""

    drive: str  # the physical drive's identity
    media: MediaKind | None = None  # None: nobody said what the drive is
    site: str | None = None  # the site of the station that made the copy; None: not recorded


@dataclass(frozen=True)
class Judgement:
    rule: Rule
    copies: int  # distinct drives
    media_kinds: int  # distinct kinds that can be proved (at least 1 when there is a copy)
    sites: int  # distinct places that can be proved (at least 1 when there is a copy)
    more_copies: int  # the fewest further copies that would meet the rule
    needs_media: bool
    needs_site: bool

    @property
    def met(self) -> bool:
        return self.more_copies == 0

    def counted(self) -> str:
        """'2 copies, 1 media kind, 1 site' (only the parts the rule asks for)."""
        parts = [plural(self.copies, "copy")]
        if self.rule.media_kinds > 1:
            parts.append(plural(self.media_kinds, "media kind"))
        if self.rule.sites > 1:
            parts.append(plural(self.sites, "site"))
        return ", ".join(parts)

    def missing(self) -> str:
        """What would meet the rule, '' when it is met: 'needs a copy on another media kind at another site'."""
        if self.met:
            return ""
        what = "a copy" if self.more_copies == 1 else f"{self.more_copies} more copies"
        if self.copies and self.more_copies == 1 and not (self.needs_media or self.needs_site):
            what = "1 more copy"
        where = ""
        if self.needs_media:
            where += " on another media kind" if self.copies else f" on {self.rule.media_kinds} kinds of media"
        if self.needs_site:
            where += " at another site" if self.copies else f" at {self.rule.sites} sites"
        return f"needs {what}{where}"

    def sentence(self) -> str:
        return f"{self.counted()}: {self.missing() or 'meets the rule ' + self.rule.name}"


def judge(rule: Rule, copies: Iterable[Copy]) -> Judgement:
    """Does this set of copies (of one file, or the weakest file of a card) meet the rule?"""
    drives: dict[str, Copy] = {}
    for copy in copies:
        drives.setdefault(copy.drive, copy)
    n = len(drives)
    kinds = {c.media for c in drives.values() if c.media is not None}
    places = {c.site.strip().casefold() for c in drives.values() if c.site and c.site.strip()}
    n_kinds = max(len(kinds), 1) if n else 0
    n_sites = max(len(places), 1) if n else 0
    # each further copy adds one drive, and at most one kind and one place
    more = max(rule.copies - n, rule.media_kinds - n_kinds, rule.sites - n_sites, 0)
    # with no copy at all, a rule of one kind and one place asks for nothing beyond the copies themselves
    needs_media = n_kinds < rule.media_kinds and rule.media_kinds > 1
    needs_site = n_sites < rule.sites and rule.sites > 1
    return Judgement(rule, n, n_kinds, n_sites, more, needs_media, needs_site)
