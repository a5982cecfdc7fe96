"""What a catalog merge did, in words a DIT can act on: rows added per table, copies another station found
worse since, and the conflicts this catalog kept its own word on.

Conflicts are gathered per kind and per offload (a resumed roll can differ in thousands of copies): one
sentence with a count and the first example, not a list nobody reads to the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from datawrangler.core.words import agree, plural

# the tables in the order they are merged; `added` is reported in this order
TABLES = ("volumes", "cards", "offloads", "destinations", "files", "copies", "verifications", "events", "clips",
          "clip_files")
_NOUNS = {"volumes": "drive", "cards": "card", "offloads": "offload", "destinations": "destination",
          "files": "file", "copies": "copy", "verifications": "verification", "events": "event",
          "clips": "clip", "clip_files": "clip-file link"}


@dataclass
class Conflict:
    """Rows both catalogs hold under one identity that say different things; this catalog's word was kept.
    `count` rows like `example` (the first one met), all under `scope` (an offload, a card, a drive)."""

    kind: str  # stable name: volume_disk, card_reel, card_lineage, offload_state, destination, file, copy_not_promoted,
    # copy_state, clip_state, clip_file
    scope: str
    example: str
    ours: str
    theirs: str
    action: str  # what to do to settle it
    count: int = 1

    def sentence(self) -> str:
        more = f" (and {self.count - 1} more like it)" if self.count > 1 else ""
        return (f"{self.scope}: {self.example}{more}: this catalog says {self.ours}, the other catalog says "
                f"{self.theirs}; this catalog's record was kept. {self.action}")


@dataclass
class MergeResult:
    this: str  # how messages name the catalog merged into
    other: str  # and the catalog merged from
    added: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    downgraded: int = 0  # copies marked failed, missing, changed or unreadable from the other's newer read
    conflicts: list[Conflict] = field(default_factory=list)
    stations: tuple[str, ...] = ()  # hosts that ran the offloads something was added for
    running: int = 0  # offloads still running in the other catalog when it was read

    @property
    def nothing_new(self) -> bool:
        return not any(self.added.values()) and not self.downgraded

    def lines(self) -> list[str]:
        """What `datawrangler catalog merge` prints, one sentence a line, the conflicts last."""
        if self.nothing_new:
            out = [f"The catalog {self.other} holds nothing that {self.this} lacks: nothing was added."]
        else:
            parts = [plural(n, _NOUNS[t]) for t in TABLES if (n := self.added[t]) and t != "clip_files"]
            where = f" (offloads made at {', '.join(self.stations)})" if self.stations else ""
            out = [f"Merged {self.other} into {self.this}: added {', '.join(parts) or 'links of clips to files'}"
                   f"{where}."]
        if self.downgraded:
            n = self.downgraded
            out.append(f"{plural(n, 'copy')} {agree(n, 'was', 'were')} found failed, missing or changed by "
                       "a later check recorded in the other catalog, so "
                       f"{agree(n, 'it no longer counts', 'they no longer count')} toward safe to format here. "
                       "Copy those files again (datawrangler offload --resume) or re-verify the drive "
                       "(datawrangler reverify).")
        if self.running:
            out.append(f"{plural(self.running, 'offload')} {agree(self.running, 'was', 'were')} still running in "
                       f"{self.other} when it was read: merge again once "
                       f"{agree(self.running, 'it has', 'they have')} ended to bring in the rest.")
        if self.conflicts:
            n = sum(c.count for c in self.conflicts)
            out.append(f"{plural(n, 'record')} differ between the two catalogs; this catalog kept its own "
                       f"{agree(n, 'one', 'ones')}:")
            out.extend(f"- {c.sentence()}" for c in self.conflicts)
        return out


def export_lines(result: MergeResult) -> list[str]:
    """What `datawrangler catalog export` prints (result.this is the exported file)."""
    parts = [plural(n, _NOUNS[t]) for t in ("offloads", "files", "copies", "verifications") if (n := result.added[t])]
    out = [f"Wrote {result.this}: {', '.join(parts) or 'no offloads'} from {result.other}, in one file. Post opens "
           f"it with DataWrangler (--catalog {result.this}) or merges it into their catalog (datawrangler catalog "
           f"merge {result.this})."]
    if result.running:
        out.append(f"{plural(result.running, 'offload')} {agree(result.running, 'was', 'were')} still running "
                   "when the catalog was read: the export holds what was recorded until then.")
    return out


class Conflicts:
    """Conflicts gathered by (kind, scope): the first example is kept, the rest counted."""

    def __init__(self) -> None:
        self._by: dict[tuple[str, str], Conflict] = {}

    def add(self, kind: str, scope: str, example: str, ours: str, theirs: str, action: str) -> None:
        found = self._by.get((kind, scope))
        if found is None:
            self._by[(kind, scope)] = Conflict(kind, scope, example, ours, theirs, action)
        else:
            found.count += 1

    def all(self) -> list[Conflict]:
        return list(self._by.values())
