"""A source that arrives with an ASC MHL history (a shuttle drive, a copy of a copy): check every file the
offload reads against it, and hand the history on so the destination continues the chain.

Use, before the engine runs:
    plan, src = prepare_source(plan)         # adds the history's algorithms; the source's ascmhl/ is not copied
then `src.check(f)` for each FileResult while it runs (app.offload does), and after it:
`src.finish(scanned_paths)` for the missing files, `src.report()` for what to tell the user,
and `write_handoff(..., source_history=src.history)` to continue the chain at each destination.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from datawrangler.core.events import FileResult
from datawrangler.core.hashing import mhl_order
from datawrangler.core.plan import OffloadPlan
from datawrangler.handoff.history import History, load_lenient
from datawrangler.store.handoff_names import ASCMHL_FOLDER


@dataclass
class SourceReport:
    root: str
    generations: int
    checked: int = 0
    matched: int = 0
    mismatches: list[tuple[str, str]] = field(default_factory=list)  # (path, what differs)
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

    def check(self, f: FileResult) -> None:
        if self.history is None:
            return  # refused: there is nothing to compare with
        expected = self.expected.get(f.rel_path)
        if expected is None:
            self._report.new.append(f.rel_path)
            return
        self._seen.add(f.rel_path)
        if not f.digests:
            return  # the card could not be read: the offload reports that file already
        self._report.checked += 1
        size = self.sizes.get(f.rel_path)
        diffs = [f"{a}: history {v}, card {f.digests[a]}" for a, v in expected.items()
                 if a in f.digests and f.digests[a] != v]
        if size is not None and size != f.size:
            diffs.insert(0, f"size: history {size}, card {f.size}")
        if not any(a in f.digests for a in expected):
            diffs.append(f"no common algorithm (history: {', '.join(expected)})")
        if diffs:
            self._report.mismatches.append((f.rel_path, "; ".join(diffs)))
        else:
            self._report.matched += 1

    def finish(self, scanned: Iterable[str]) -> None:
        """After the offload: paths the history records that the source no longer has."""
        present = set(scanned) | self._seen
        self._report.missing = sorted(p for p in self.expected if p not in present)

    def report(self) -> SourceReport:
        return self._report


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
