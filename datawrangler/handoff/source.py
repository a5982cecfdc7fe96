"""A source that arrives with an ASC MHL history (a shuttle drive, a copy of a copy): check every file the
offload reads against it, and hand the history on so the destination continues the chain.

Use, before the engine runs:
    plan, src = prepare_source(plan)         # adds the history's algorithms; the source's ascmhl/ is not copied
then `src.check(f)` for each FileResult while it runs, before the catalog records it (app.offload passes it
to app.recorded.run_recorded as `check`: a file that no longer matches the card's own history is failed there,
so that it is never recorded, reported or counted as verified), and after it:
`src.finish(scanned_paths)` for the missing files, `src.report()` for what to tell the user,
and `write_handoff(..., source_history=src.history)` to continue the chain at each destination.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from datawrangler.core.errors import Code
from datawrangler.core.events import CopyState, FileResult, FileStatus
from datawrangler.core.hashing import mhl_order
from datawrangler.core.plan import OffloadPlan
from datawrangler.handoff.history import History, load_lenient
from datawrangler.store.handoff_names import ASCMHL_FOLDER

# The stable code of a card file that no longer matches the card's own ASC MHL history.
HISTORY_MISMATCH: Code = Code.SOURCE_HISTORY_MISMATCH
HISTORY_ADVICE = ("Do not format the card: its copies hold the file as the card has it now, not as the history "
                  "recorded it. Try the card in another reader and offload it again; if the file still differs, it "
                  "is damaged on the card, and the file as it was is only on the copies made when that history was "
                  "written: find them before the card is formatted.")


@dataclass
class SourceReport:
    root: str
    generations: int
    checked: int = 0
    matched: int = 0
    mismatches: list[tuple[str, str]] = field(default_factory=list)  # (path, what differs)
    failed: set[str] = field(default_factory=set)  # mismatches the check failed (HISTORY_MISMATCH)
    missing: list[str] = field(default_factory=list)  # in the history, not on the source
    new: list[str] = field(default_factory=list)  # on the source, not in the history
    problems: list[str] = field(default_factory=list)  # the history itself (chain, manifests)

    @property
    def ok(self) -> bool:
        return not (self.mismatches or self.missing or self.problems)


class SourceHistory:
    """Compares each FileResult's card digests with the digests the history first recorded for its path.

    `history` is None when the card's history was refused (handoff.history): nothing is compared, the
    report carries why, and each destination starts a history of its own instead of continuing that one."""

    def __init__(self, history: History | None, problems: Iterable[str] = (), root: str = "") -> None:
        self.history = history
        self.expected = history.expected() if history else {}
        self.sizes = {p: r.size for p, r in history.paths().items()} if history else {}
        self._report = SourceReport(history.root if history else root, len(history.generations) if history else 0,
                                    problems=list(problems))
        self._seen: set[str] = set()

    @property
    def algorithms(self) -> tuple[str, ...]:
        """The algorithms the history's original hashes use (what a comparison needs)."""
        found = {h.algorithm for g in (self.history.generations if self.history else ()) for r in g.records
                 for h in r.hashes if h.action == "original"}
        return tuple(mhl_order(found))

    def check(self, f: FileResult) -> FileResult:
        """Compare a file's card digests with its history: the result to record in its place. A file the engine
        verified (or copied) whose card digests or size differ from what the history recorded comes back
        failed (HISTORY_MISMATCH), each of its copies too, with a message that names the history, the
        algorithm and both digests. Any other result comes back as it is (a file that failed already keeps
        its own failure)."""
        if self.history is None:
            return f  # refused: there is nothing to compare with
        expected = self.expected.get(f.rel_path)
        if expected is None:
            self._report.new.append(f.rel_path)
            return f
        self._seen.add(f.rel_path)
        if not f.digests:
            return f  # the card could not be read: the offload reports that file already
        self._report.checked += 1
        size = self.sizes.get(f.rel_path)
        differ = [(a, v, f.digests[a]) for a, v in expected.items() if a in f.digests and f.digests[a] != v]
        diffs = [f"{a}: history {was}, card {now}" for a, was, now in differ]
        if size is not None and size != f.size:
            diffs.insert(0, f"size: history {size}, card {f.size}")
        if not any(a in f.digests for a in expected):
            diffs.append(f"no common algorithm (history: {', '.join(expected)})")
        if not diffs:
            self._report.matched += 1
            return f
        self._report.mismatches.append((f.rel_path, "; ".join(diffs)))
        if f.status is FileStatus.FAILED or not (differ or (size is not None and size != f.size)):
            return f
        self._report.failed.add(f.rel_path)
        message = self._mismatch_message(f, differ, size)
        copies = tuple(c if c.state is CopyState.FAILED else
                       dataclasses.replace(c, state=CopyState.FAILED, code=HISTORY_MISMATCH, message=message)
                       for c in f.copies)
        return dataclasses.replace(f, status=FileStatus.FAILED, code=HISTORY_MISMATCH, message=message,
                                   copies=copies)

    def _mismatch_message(self, f: FileResult, differ: list[tuple[str, str, str]], size: int | None) -> str:
        assert self.history is not None
        what = [f"{a} was {was}, is now {now}" for a, was, now in differ]
        if size is not None and size != f.size:
            what.insert(0, f"its size was {size:,} bytes, is now {f.size:,}")
        records = self.history.records_of(f.rel_path)
        # the generation that first recorded the value compared (each algorithm's first value: expected())
        first = min((next(i for i, r in records if any(h.algorithm == a for h in r.hashes)) for a, _, _ in differ),
                    default=records[0][0])
        expected = self.expected[f.rel_path]
        vouched = [i for i, r in records if r.hashes and all(h.action != "failed" and expected.get(h.algorithm)
                                                               == h.value for h in r.hashes)]
        last = vouched[-1] if vouched else first
        checked = "" if last == first else f", on {self._generation(last)}"
        return (f"{f.rel_path} does not match the card's own ASC MHL history of {self._generation(first)}: "
                f"{'; '.join(what)}. The card's file changed since it was last checked{checked}. {HISTORY_ADVICE}")

    def _generation(self, index: int) -> str:
        """'2026-12-04 09:21 UTC (generation 1, ascmhl 1.2 on cart-01)', as far as the manifest says."""
        g = self.history.generations[index] if self.history else None
        if g is None:
            return "an unknown date"
        by = " on ".join(_short(x) for x in (g.tool, g.hostname) if x)
        return f"{_utc(g.creation_date)} (generation {g.number}{', ' + by if by else ''})"

    def finish(self, scanned: Iterable[str]) -> None:
        """After the offload: paths the history records that the source no longer has."""
        present = set(scanned) | self._seen
        self._report.missing = sorted(p for p in self.expected if p not in present)

    def report(self) -> SourceReport:
        return self._report


def _short(text: str, limit: int = 60) -> str:
    """Text from a manifest (it comes from outside) on one line, cut to `limit` characters for a message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def _utc(text: str | None) -> str:
    """A manifest's creation date as 'YYYY-MM-DD HH:MM UTC' (as written when it is not a date)."""
    try:
        d = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        return _short(text) if text and text.strip() else "an unknown date"
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return d.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def prepare_source(plan: OffloadPlan) -> tuple[OffloadPlan, SourceHistory | None]:
    """The plan to run (with the history's algorithms added and its ascmhl/ folders not copied as card
    files: the destination gets the history as a history) and the checker, or (plan, None).

    A history that is refused (a path out of the card, a DTD, a file too large, not XML...) is never used
    and its folder is not copied either (it is not footage); the checker then only reports why."""
    history, problems = load_lenient(plan.source)
    if history is None and not problems:
        return plan, None
    if history is None:
        problems = [f"The card's own ASC MHL history was not used: {problems[0]} The card's files are copied and "
                    "verified as usual without it; its ascmhl folder is not copied, and each destination starts a "
                    "new history."]
    src = SourceHistory(history, problems, root=plan.source)
    algorithms = plan.algorithms + tuple(a for a in src.algorithms if a not in plan.algorithms)
    ignore = plan.ignore if ASCMHL_FOLDER in plan.ignore else (*plan.ignore, ASCMHL_FOLDER)
    return dataclasses.replace(plan, algorithms=algorithms, ignore=ignore), src
