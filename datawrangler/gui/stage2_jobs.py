"""The controller's side of the cascading copy (gui.cascade): stage-2 jobs in the queue and the card rows
that follow them. A mixin of gui.controller.Controller (which owns the queue, the cards and the bridge), kept
apart so the controller stays about queueing and scheduling offloads.

Stage 2 never changes what a card's row says about the card itself (it reads a stage-1 copy, not the card):
while it runs the row stays RELEASED with stage 2's progress; its end sets the card's verdict.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

from datawrangler.app.drives import drives_of
from datawrangler.app.offload import OffloadOutcome
from datawrangler.core.errors import Code
from datawrangler.gui import cascade
from datawrangler.gui.bridge import Bridge
from datawrangler.gui.messages import Messages
from datawrangler.gui.models.cards import CardsModel
from datawrangler.gui.models.queue import QueueItem, QueueModel, drive_names, released_text
from datawrangler.gui.theme import Status


class Stage2Jobs:
    """Mixed into Controller: these are the attributes and methods of it that the stage-2 jobs use."""

    queue: QueueModel
    cards: CardsModel
    bridge: Bridge
    messages: Messages
    catalog: str | os.PathLike[str] | None

    @property
    def settings(self) -> Any:
        raise NotImplementedError

    @property
    def preset(self) -> Any:
        raise NotImplementedError

    def _item(self, item_id: int | None) -> QueueItem | None:
        raise NotImplementedError

    def _busy(self, item_id: int | None) -> bool:
        raise NotImplementedError

    def _changed(self, item: QueueItem) -> None:
        raise NotImplementedError

    def _drives_known(self, item_id: int, drives: Any) -> None:
        raise NotImplementedError

    def _drives_unknown(self, item_id: int, exc: BaseException) -> None:
        raise NotImplementedError

    def _queue_stage2(self, item: QueueItem, outcome: OffloadOutcome) -> None:
        """The stage-2 offloads this stage 1 queued in the catalog become jobs of the window's queue."""
        self.bridge.run(cascade.stage2_jobs, self.catalog, outcome.offload_id, outcome.stage2,
                        on_done=partial(self._stage2_jobs_read, item.id),
                        on_error=partial(self.messages.exception, context=f"{item.label}: reading its stage 2"))

    def _stage2_jobs_read(self, item_id: int, found: list[cascade.Stage2Job]) -> None:
        parent = self._item(item_id)
        if parent is not None and not parent.stage2_to and found:  # a resumed stage 1: its request named none
            parent.stage2_to = tuple(r for j in found for r in cascade.stage2_roots(j))
            self._changed(parent)
            if parent.status is Status.RELEASED:
                self.cards.update(parent.card_path, detail=released_text(parent.stage2_to))
        known = {q.offload_id for q in self.queue.rows}
        for job in found:
            if job.offload_id in known:
                continue
            card = parent.card_path if parent is not None else ""
            self.add_stage2(cascade.stage2_item(job, self.settings, self.preset, card_path=card,
                                                bytes_total=parent.bytes_total if parent is not None else 0,
                                                card_label=parent.label if parent is not None else ""))

    def _card_stage2(self, path: str, found: list[cascade.Stage2Job]) -> None:
        """A card offloaded before (another session) whose stage 2 has not ended: it is RELEASED, not merely
        offloaded, and its row follows that stage-2 job (its end makes the card safe, or not; eject-after)."""
        i = self.cards.by_path(path)
        if i < 0 or not found:
            return
        row = self.cards.row(i)
        if row.status is not Status.KNOWN or (row.queue_id is not None and self._busy(row.queue_id)):
            return
        ids = {j.offload_id for j in found}
        items = [q for q in self.queue.rows if q.stage == 2 and q.offload_id in ids and not q.card_path]
        for q in items:
            q.card_path = path
        follow = next((q for q in items if self._busy(q.id)), items[0] if items else None)
        roots = tuple(r for j in found for r in cascade.stage2_roots(j))
        self.cards.update(path, status=Status.RELEASED, detail=released_text(roots),
                          queue_id=follow.id if follow is not None else row.queue_id)

    def add_stage2(self, item: QueueItem) -> QueueItem:
        """A stage-2 job in the queue. The card's row follows it (its queue_id), but keeps its RELEASED status:
        the card itself is not read again."""
        self.queue.append(item)
        if item.card_path:
            self.cards.update(item.card_path, queue_id=item.id)
        if item.status is Status.QUEUED:
            self.bridge.run(drives_of, item.request, self.catalog,
                            on_done=partial(self._drives_known, item.id),
                            on_error=partial(self._drives_unknown, item.id))
        return item

    def _stage2_card(self, item: QueueItem, **changes: Any) -> None:
        """Update the card of a stage-2 job, if the window lists it and still follows this job."""
        i = self.cards.by_path(item.card_path) if item.card_path else -1
        if i < 0 or self.cards.row(i).queue_id != item.id:
            return
        if self.cards.row(i).status is Status.SAFE and changes.get("status", Status.SAFE) is not Status.SAFE:
            return  # stage 1 alone made enough copies: whatever stage 2 does, the card stays safe to format
        if "status" not in changes and self.cards.row(i).status is not Status.RELEASED:
            return
        self.cards.update(item.card_path, **changes)

    def _stage2_ended(self, item: QueueItem, outcome: OffloadOutcome, detail: str) -> None:
        """Stage 2's end decides the card's verdict: safe, verified but not safe, failed, or (stopped) still
        released and waiting for a Resume. Its stage 1's row says how it ended."""
        parent = next((q for q in self.queue.rows if q.stage == 1 and q.offload_id == item.cascade_of), None)
        if parent is not None:
            parent.stage2_status = Status.SAFE if outcome.safe else item.status
            self._changed(parent)
        if outcome.safe:  # the catalog counts every copy of the card, whichever offload made it
            status = Status.SAFE
        elif item.status in (Status.CANCELLED, Status.INTERRUPTED):
            self._stage2_card(item, status=Status.RELEASED, progress=-1.0, detail=cascade.stopped_text(item))
            return
        else:
            status = Status.VERIFIED if item.status is Status.VERIFIED else Status.FAILED
        if status is Status.FAILED:
            mismatch = any(f.code is Code.STAGE_SOURCE_MISMATCH for f in outcome.result.failures)
            todo = ("the stage-1 copy no longer matches the card: copy the card again (do not format it)" if mismatch
                    else "resume stage 2 from the queue, or copy the card again")
            detail = f"Stage 2 to {drive_names(item.targets)} failed: {detail} The card is NOT safe to format: {todo}."
        self._stage2_card(item, status=status, copies=outcome.copies, progress=-1.0, failed_files=item.failed_count,
                          detail=detail, judgement=outcome.verdict.sentence)
