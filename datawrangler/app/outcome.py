"""What an offload tells its front end (the Observer's callbacks, Notices) and what it ends with (the
OffloadOutcome and its Verdict): the values every use case of an offload shares (app.offload, app.cascade),
kept apart so both can speak them without importing each other."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from datawrangler.app.clips import ClipsRead
from datawrangler.core.errors import OffloadError
from datawrangler.core.events import FileResult, FileStatus, OffloadResult, ProgressEvent
from datawrangler.core.plan import Problem

log = logging.getLogger("datawrangler.app.offload")


@dataclass(frozen=True)
class Notice:
    """Something to tell the user during an offload. `event` names it for scripts (the CLI's JSON lines:
    warning, error, known_card, handoff, source_history, report); `level` is info, warning or error."""

    event: str
    message: str
    level: str = "info"
    code: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Started:
    offload_id: int
    source: str
    destinations: tuple[str, ...]
    files: int
    bytes: int
    algorithms: tuple[str, ...]
    verify_mode: str


@dataclass(frozen=True)
class Verdict:
    """Safe to format, asked of the catalog once the offload ended: every file of the card verified on
    `copies_required` distinct drives, whichever offload made the copies."""

    safe: bool
    copies: int  # fewest verified copies of any file, on distinct drives
    reasons: tuple[str, ...] = ()
    rule: str = ""  # the rule's name ('2', '3-2-1'): core.protection.Rule.name
    sentence: str = ""  # the weakest file against the rule: '2 copies, 1 media kind, 1 site: needs ...'


@dataclass(frozen=True)
class OffloadOutcome:
    offload_id: int
    result: OffloadResult
    verdict: Verdict
    card_id: int | None
    copies_required: int
    handoff_written: tuple[str, ...] = ()
    reports_written: tuple[str, ...] = ()
    clips: ClipsRead | None = None  # what reading the clips found (None: not read)
    # cascading copy (app.cascade): stage 1 ended verified and the card may leave the reader (safe to format
    # still needs `copies_required` verified copies, the stage-2 ones included)
    released: bool = False
    stage2: tuple[int, ...] = ()  # the stage-2 offloads this run queued
    stage: int = 1
    cascade_of: int | None = None  # a stage-2 offload: the stage-1 offload it copies from

    @property
    def safe(self) -> bool:
        return self.verdict.safe

    @property
    def copies(self) -> int:
        return self.verdict.copies

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.verdict.reasons


@dataclass
class Observer:
    """What a front end wants to hear; every callback is optional and runs on the offload's threads."""

    started: Callable[[Started], None] | None = None
    progress: Callable[[ProgressEvent], None] | None = None
    file: Callable[[FileResult], None] | None = None  # every file result
    failed: Callable[[FileResult], None] | None = None  # failed ones only
    notice: Callable[[Notice], None] | None = None

    def say(self, event: str, message: str, level: str = "info", code: str | None = None, **data: Any) -> None:
        if level != "info":
            (log.warning if level == "warning" else log.error)("%s", message)
        if self.notice is not None:
            self.notice(Notice(event, message, level, code, data))

    def warn(self, message: str, code: str | None = None, **data: Any) -> None:
        self.say("warning", message, "warning", code, **data)

    def result(self, f: FileResult) -> None:
        """A file's result to `file`, and to `failed` when it failed."""
        if self.file is not None:
            self.file(f)
        if self.failed is not None and f.status is FileStatus.FAILED:
            self.failed(f)


class Refused(OffloadError):
    """Preflight refused the offload before a byte moved; `problems` lists every reason, and so does the
    message (the window and auto-offload show it whole; the CLI says each problem on a line of its own)."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        first = problems[0]
        super().__init__(first.code, " ".join(p.message for p in problems), path=first.path or None)
        self.problems = problems

    def __reduce__(self) -> tuple:
        return (self.__class__, (self.problems,))
