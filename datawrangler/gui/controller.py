"""What the window does, apart from how it looks: sources in, offloads queued and scheduled, results
out. Owns the models; every file or catalog access goes through the bridge.

Scheduling: each queued offload knows the physical drives it reads and writes; an offload starts only
when none of its drives is busy with another one, so two cards that share a destination run one after
the other instead of thrashing the drive, and cards going to different drives run side by side.

The cascading copy (gui.cascade, gui.stage2_jobs): a stage 1 that ends verified with stage-2 drives in its preset leaves
the card RELEASED (it may leave the reader; not safe to format yet) and its stage-2 offloads are queued as
jobs of their own; while one runs, the card's row shows its progress, and its end decides the card's
verdict (SAFE TO FORMAT when its outcome is safe).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from datawrangler.app import request as requests
from datawrangler.app import scheduler
from datawrangler.app.drives import DriveInfo, drives_of, measure_with_kinds, set_media_kind
from datawrangler.app.inspection import Inspection, auto_decision
from datawrangler.app.isolated import run_offload_isolated
from datawrangler.app.offload import Notice, Observer, OffloadOutcome, run_offload
from datawrangler.app.request import OffloadRequest
from datawrangler.core.events import FileResult, OffloadControl, ProgressEvent
from datawrangler.core.words import agree, plural
from datawrangler.gui import cascade, jobs
from datawrangler.gui.bridge import Bridge, Pump
from datawrangler.gui.catalog_watch import CatalogWatch
from datawrangler.gui.messages import Messages
from datawrangler.gui.models.cards import CardRow, CardsModel
from datawrangler.gui.models.destinations import DestinationsModel
from datawrangler.gui.models.queue import (
    ACTIVE,
    QueueItem,
    QueueModel,
    drive_names,
    released_text,
    status_from,
    status_of,
)
from datawrangler.gui.prefs import Profile, save_profile
from datawrangler.gui.sources import SourceMonitor
from datawrangler.gui.stage2_jobs import Stage2Jobs
from datawrangler.gui.theme import Status

log = logging.getLogger(__name__)


class Controller(QObject, Stage2Jobs):
    progress_changed = Signal(int, float)  # running offloads, overall fraction
    offload_ended = Signal(object)  # QueueItem
    settings_changed = Signal()
    history_changed = Signal()

    def __init__(self, bridge: Bridge, messages: Messages, profile: Profile,
                 catalog: str | os.PathLike[str] | None = None, parent: QObject | None = None,
                 drive_refresh_ms: int = 2000, isolate: bool = True) -> None:
        super().__init__(parent)
        self.bridge, self.messages, self.profile = bridge, messages, profile
        self.catalog = catalog
        # Each offload runs in a worker process of its own (app.isolated), so its threads never hold the
        # GIL the GUI thread needs; isolate=False runs it on the offload worker thread (some tests).
        self.run_offload = run_offload_isolated if isolate else run_offload
        self.cards = CardsModel(self)
        self.destinations = DestinationsModel(self)
        self.queue = QueueModel(self)
        self.destinations.set_preset(profile.preset, profile.gui)
        self._monitor: SourceMonitor | None = None
        self._measuring = False
        self._saves: list[tuple[Profile, str]] = []  # profiles waiting to be saved, oldest first
        self._saving = False
        self._counter = 0
        self._drive_timer = QTimer(self)
        self._drive_timer.setInterval(drive_refresh_ms)
        self._drive_timer.timeout.connect(self.refresh_drives)
        self._drive_timer.start()
        self.refresh_drives()
        # a catalog other stations share (a server): their offloads show here too, and an absent server is said
        self.catalog_watch = CatalogWatch(bridge, catalog, parent=self)
        self.catalog_watch.changed.connect(self._catalog_changed)

    def _catalog_changed(self) -> None:
        """Another station recorded something: the History reloads, and each card in a reader that no offload of
        this window owns now is judged again (another station's verified copy may have made it safe)."""
        self.history_changed.emit()
        for row in self.cards.rows:
            if row.present and row.queue_id is None and row.status in (Status.KNOWN, Status.NEW, Status.SAFE):
                self.bridge.run(jobs.inspect, row.path, self.settings, self.preset, self.catalog, None,
                                on_done=partial(self._card_inspected, rejudge=True),
                                on_error=partial(self._card_failed, row.path))

    # -- sources

    def watch(self, monitor: SourceMonitor) -> None:
        self._monitor = monitor
        monitor.start(lambda p, label=None: self.bridge.call_soon(self.add_source, p, True, label),
                      lambda p: self.bridge.call_soon(self.source_removed, p))

    def stop_watching(self) -> None:
        if self._monitor is not None:
            self._monitor.stop()
            self._monitor = None

    @property
    def settings(self) -> Any:
        return self.profile.settings

    @property
    def preset(self) -> Any:
        return self.profile.preset

    def add_source(self, path: str, auto: bool = False, label: str | None = None) -> None:
        path = os.path.normpath(path)
        if auto and self._is_destination(path):
            return  # a destination drive mounted under the roots is not a card
        i = self.cards.by_path(path)
        if i >= 0:
            row = self.cards.row(i)
            if not row.present:  # a released card back in the reader while its stage 2 runs: the queue
                self.cards.update(path, present=True, auto=auto)  # keeps its status; read what it holds now
            elif row.status is not Status.GONE:
                return
            else:
                self.cards.update(path, status=Status.SCANNING, detail="", auto=auto)
        else:
            self.cards.append(CardRow(path, required=self.preset.copies_required, rule=self.preset.rule, auto=auto))
        self.bridge.run(jobs.inspect, path, self.settings, self.preset, self.catalog, label,
                        on_done=self._card_inspected, on_error=partial(self._card_failed, path))

    def _card_inspected(self, info: Inspection, rejudge: bool = False) -> None:
        """`rejudge`: the card was judged again after another station's change: its status and line change, and
        nothing is said or queued again."""
        i = self.cards.by_path(info.path)
        if i < 0:
            return
        row = self.cards.row(i)
        if row.queue_id is not None:  # queued or copying since: the queue owns the status now
            self.cards.update(info.path, info=info)
            return
        if info.safe:
            status = Status.SAFE
        elif info.card_id is not None and info.offload_state in ("completed with errors", "interrupted", "cancelled"):
            status = Status.FAILED if info.offload_state == "completed with errors" else Status.KNOWN
        elif info.card_id is not None:
            status = Status.KNOWN
        else:
            status = Status.NEW
        detail = " ".join(info.reasons)
        if info.scan_problems:
            detail = f"{plural(info.scan_problems, 'entry')} on the card cannot be read. " + detail
        if info.collision:
            detail = info.collision + " " + detail
            if not rejudge:
                self.messages.warning(f"{info.label}: {info.collision}", "reel_collision")
        self.cards.update(info.path, info=info, status=status, copies=info.copies, detail=detail,
                          judgement=info.judgement)
        if status is Status.KNOWN and info.card_id is not None and not info.new_or_changed:
            self.bridge.run(cascade.card_stage2, self.catalog, info.card_id,
                            on_done=partial(self._card_stage2, info.path),
                            on_error=partial(self.messages.exception, context=f"{info.label}: reading its stage 2"))
        if row.auto and self.preset.auto_offload and not rejudge:  # the rule `watch --auto` follows too
            decision = auto_decision(info, self.preset)
            if decision.offload:
                self.enqueue(info.path)
            elif decision.kind == "refused":
                self.messages.error(f"{info.label}: {decision.message}", "not_queued")
            elif decision.kind == "skipped":
                self.messages.info(f"Not offloaded automatically: {decision.message}")

    def _card_failed(self, path: str, exc: BaseException) -> None:
        self.cards.update(path, status=Status.FAILED, detail=str(exc))
        self.messages.exception(exc, os.path.basename(path))

    def _is_destination(self, path: str) -> bool:
        for d in (*self.preset.destinations, *self.preset.stage2):
            d = os.path.normpath(d)
            if d == path or d.startswith(path.rstrip(os.sep) + os.sep) or path.startswith(d + os.sep):
                return True
        return False

    def source_removed(self, path: str) -> None:
        path = os.path.normpath(path)
        i = self.cards.by_path(path)
        if i < 0:
            return
        row = self.cards.row(i)
        item = self._item(row.queue_id)
        if item is not None and item.stage == 2 and self._busy(item.id):  # released: it may go; its row stays
            self.cards.update(path, present=False)  # until stage 2 says whether it is safe to format
            return
        if item is not None and item.status in (*ACTIVE, Status.QUEUED):
            self.cards.update(path, detail="The card was removed during its offload.")
            return
        if row.status in (Status.SAFE,):
            self.messages.info(f"{row.label} removed (safe to format).")
        self.cards.remove(i)

    def forget_card(self, path: str) -> None:
        i = self.cards.by_path(path)
        if i >= 0 and (self.cards.row(i).queue_id is None or not self._busy(self.cards.row(i).queue_id)):
            self.cards.remove(i)

    # -- destinations

    def set_profile(self, profile: Profile) -> None:
        self.profile = profile
        self.destinations.set_preset(profile.preset, profile.gui)
        for r in self.cards.rows:
            r.required = profile.preset.copies_required
            r.rule = profile.preset.rule
        self.refresh_drives()

    def refresh_drives(self) -> None:
        if self._measuring:
            return
        paths = [r.spec.path for r in self.destinations.rows]
        if not paths:
            return
        self._measuring = True
        self.bridge.run(measure_with_kinds, paths, self.catalog, on_done=self._drives_measured,
                        on_error=self._drives_failed)

    def set_media_kind(self, path: str, kind: str | None) -> None:
        """Say in the catalog what the drive holding `path` is (a 3-2-1 rule counts kinds of media)."""
        self.bridge.run(set_media_kind, self.catalog, path, kind,
                        on_done=self._media_kind_set,
                        on_error=partial(self.messages.exception, context=f"{path}: recording its media kind"))

    def _media_kind_set(self, text: str) -> None:
        self.messages.info(text)
        self.refresh_drives()

    def _drives_measured(self, infos: list[DriveInfo]) -> None:
        self._measuring = False
        self.destinations.set_infos(infos)
        self.destinations.set_needed(self._bytes_needed())

    def _drives_failed(self, exc: BaseException) -> None:
        self._measuring = False
        self.messages.exception(exc, "Measuring the drives")

    def _bytes_needed(self) -> int:
        need = 0
        for q in self.queue.rows:
            if q.status is Status.QUEUED:
                need += q.bytes_total
            elif q.running and q.event is not None:
                need += max(0, q.event.bytes_total - min((d.bytes_written for d in q.event.destinations), default=0))
        return need

    # -- queue

    def request_for(self, path: str) -> OffloadRequest:
        """The offload of this card with the current preset and settings (app.request.from_preset). Raises
        ValueError with a sentence when it cannot be made (no destination, a template that names no folder)."""
        i = self.cards.by_path(os.path.normpath(path))
        info = self.cards.row(i).info if i >= 0 else None
        return requests.from_preset(info if info is not None else path, self.preset, self.settings)

    def enqueue(self, path: str) -> QueueItem | None:
        path = os.path.normpath(path)
        i = self.cards.by_path(path)
        if i >= 0 and self.cards.row(i).queue_id is not None and self._busy(self.cards.row(i).queue_id):
            self.messages.warning(f"{self.cards.row(i).label} is already in the queue.")
            return None
        try:
            req = self.request_for(path)
        except ValueError as exc:  # TemplateError too
            self.messages.error(str(exc), "not_queued")
            return None
        info = self.cards.row(i).info if i >= 0 else None
        item = QueueItem(info.label if info else os.path.basename(path), req, path,
                         bytes_total=info.bytes if info else 0, stage2_to=req.stage2)
        return self._add(item)

    def _add(self, item: QueueItem) -> QueueItem:
        self.queue.append(item)
        self.cards.update(item.card_path, queue_id=item.id, status=Status.QUEUED, progress=-1.0, detail="")
        self.bridge.run(drives_of, item.request, self.catalog, on_done=partial(self._drives_known, item.id),
                        on_error=partial(self._drives_unknown, item.id))
        self.destinations.set_needed(self._bytes_needed())
        return item

    def _drives_unknown(self, item_id: int, exc: BaseException) -> None:
        """Its drives could not be told (the catalog could not be read): it blocks nobody and waits for none."""
        log.warning("the drives of queue item %s are unknown: %s", item_id, exc)
        self._drives_known(item_id, frozenset())

    def _drives_known(self, item_id: int, drives: Any) -> None:
        item = self._item(item_id)
        if item is None:
            return
        item.drives = drives if isinstance(drives, frozenset) else frozenset()
        self.schedule()

    def schedule(self) -> None:
        """Start what app.scheduler says may start; say what each waiting card waits for."""
        jobs_ = [scheduler.Job(q.id, q.label, q.drives, q.running) for q in self.queue.rows
                 if q.running or q.status is Status.QUEUED]
        plan = scheduler.schedule(jobs_)
        for q in self.queue.rows:
            if q.status is Status.QUEUED and q.waiting_for != plan.waiting.get(q.id, ""):
                q.waiting_for = plan.waiting.get(q.id, "")
                self._changed(q)
        for item_id in plan.start:
            item = self._item(item_id)  # type: ignore[arg-type]
            if item is not None:
                self._start(item)

    def _start(self, item: QueueItem) -> None:
        item.status = Status.PREPARING
        item.control = OffloadControl()
        self._changed(item)
        if item.stage == 2:
            self._stage2_card(item, progress=0.0)
        else:
            self.cards.update(item.card_path, status=Status.COPYING, progress=0.0)
        pump = Pump(self.bridge, partial(self._progress, item.id), partial(self._items, item.id))
        self.bridge.run(_offload_task, self.run_offload, item.request, item.control, pump, self.bridge, self.catalog,
                        partial(self._started, item.id), long=True,
                        on_done=partial(self._done, item.id), on_error=partial(self._failed, item.id))
        self._overall()

    def _started(self, item_id: int, offload_id: int) -> None:
        item = self._item(item_id)
        if item is not None:
            item.offload_id = offload_id

    def _progress(self, item_id: int, e: ProgressEvent) -> None:
        item = self._item(item_id)
        if item is None or not item.running:
            return
        item.event = e
        item.status = status_from(e)
        self._changed(item)
        if item.stage == 2:
            self._stage2_card(item, progress=e.fraction)
            self._overall()
            return
        card_status = {Status.PAUSED: Status.PAUSED, Status.VERIFYING: Status.VERIFYING}.get(item.status,
                                                                                            Status.COPYING)
        self.cards.update(item.card_path, status=card_status, progress=e.fraction)
        self._overall()

    def _items(self, item_id: int, items: list) -> None:
        item = self._item(item_id)
        if item is None:
            return
        for kind, *rest in items:
            if kind == "failed":
                f: FileResult = rest[0]
                item.failed_count += 1
                if len(item.failed) < 200:
                    item.failed.append(f)
            elif kind == "notice":
                n: Notice = rest[0]
                if n.level == "info":
                    self.messages.info(f"{item.label}: {n.message}")
                else:
                    item.warnings.append(n.message)
                    self.messages.warning(f"{item.label}: {n.message}", n.code or n.event)
        if any(k == "failed" for k, *_ in items):
            first = next(r[0] for k, *r in items if k == "failed")
            self.cards.update(item.card_path, failed_files=item.failed_count,
                              detail=f"{plural(item.failed_count, 'file')} failed, e.g. {first.rel_path}: "
                                     f"{first.message}")
        self._changed(item)

    def _done(self, item_id: int, outcome: OffloadOutcome) -> None:
        item = self._item(item_id)
        if item is None:
            return
        item.outcome = outcome
        item.offload_id = outcome.offload_id
        item.status = status_of(outcome)
        item.failed_count = max(item.failed_count, outcome.result.files_failed)
        self._changed(item)
        r = outcome.result
        card_status = {Status.SAFE: Status.SAFE, Status.VERIFIED: Status.VERIFIED, Status.CANCELLED: Status.CANCELLED,
                       Status.RELEASED: Status.RELEASED, Status.INTERRUPTED: Status.FAILED}.get(item.status,
                                                                                             Status.FAILED)
        detail = " ".join((r.message, *outcome.reasons))
        if item.stage == 2:
            self._stage2_ended(item, outcome, detail)
        else:
            if item.status is Status.RELEASED:
                detail = released_text(item.stage2_to)
            self.cards.update(item.card_path, status=card_status, copies=outcome.copies, progress=-1.0,
                              failed_files=item.failed_count, detail=detail, judgement=outcome.verdict.sentence)
        if outcome.stage2:
            self._queue_stage2(item, outcome)
        if item.status is Status.RELEASED:
            pass  # app.offload said RELEASED (a notice, in the messages already); the card's row says it too
        elif item.status is Status.SAFE:
            self.messages.success(f"{item.label}: every file verified on "
                                  f"{plural(outcome.copies, 'drive')}. SAFE TO FORMAT.")
        elif item.status is Status.VERIFIED:
            self.messages.warning(f"{item.label}: {r.message} Not safe to format: {' '.join(outcome.reasons)}")
        elif item.status is Status.CANCELLED:
            self.messages.warning(f"{item.label}: cancelled. Resume it from the queue to finish.", "cancelled")
        else:
            self.messages.error(f"{item.label}: {r.message} NOT safe to format.",
                                (r.failures[0].code.value if r.failures and r.failures[0].code else "failed"))
        self.offload_ended.emit(item)
        self.history_changed.emit()
        self._after_end()

    def _failed(self, item_id: int, exc: BaseException) -> None:
        item = self._item(item_id)
        if item is None:
            return
        item.status = Status.FAILED
        item.error = str(exc)
        self._changed(item)
        if item.stage == 2:
            self._stage2_card(item, status=Status.FAILED, progress=-1.0,
                              detail=f"Stage 2 to {drive_names(item.targets)} failed: {exc} The card is NOT safe "
                                     "to format.")
        else:
            self.cards.update(item.card_path, status=Status.FAILED, progress=-1.0, detail=str(exc))
        self.messages.exception(exc, item.label)
        self.offload_ended.emit(item)
        self.history_changed.emit()
        self._after_end()

    def _after_end(self) -> None:
        self._overall()
        self.destinations.set_needed(self._bytes_needed())
        self.refresh_drives()
        self.schedule()

    def _overall(self) -> None:
        n, frac = self.queue.overall()
        self.progress_changed.emit(n, frac)

    # -- queue actions

    def _item(self, item_id: int | None) -> QueueItem | None:
        i = self.queue.by_id(item_id) if item_id is not None else -1
        return self.queue.row(i) if i >= 0 else None

    def _busy(self, item_id: int | None) -> bool:
        item = self._item(item_id)
        return item is not None and (item.running or item.status is Status.QUEUED)

    def _changed(self, item: QueueItem) -> None:
        self.queue.changed(self.queue.by_id(item.id))

    def pause(self, item_id: int) -> None:
        item = self._item(item_id)
        if item is not None and item.running:
            item.control.pause()
            item.status = Status.PAUSED
            self._changed(item)
            if item.stage == 1:  # a stage-2 job reads a stage-1 copy: the card stays RELEASED
                self.cards.update(item.card_path, status=Status.PAUSED)

    def resume(self, item_id: int) -> None:
        item = self._item(item_id)
        if item is not None and item.status is Status.PAUSED:
            item.control.resume()
            item.status = Status.COPYING
            self._changed(item)
            if item.stage == 1:
                self.cards.update(item.card_path, status=Status.COPYING)

    def cancel(self, item_id: int) -> None:
        item = self._item(item_id)
        if item is None:
            return
        if item.status is Status.QUEUED:
            item.status = Status.CANCELLED
            self._changed(item)
            # the DIT said no: the card is not auto-offloaded again when it is read again below
            self.cards.update(item.card_path, queue_id=None, auto=False)
            self.add_source(item.card_path) if self.cards.by_path(item.card_path) < 0 else self._reinspect(item)
            self.schedule()
        elif item.running:
            item.control.cancel()

    def _reinspect(self, item: QueueItem) -> None:
        self.cards.update(item.card_path, status=Status.SCANNING, queue_id=None)
        self.bridge.run(jobs.inspect, item.card_path, self.settings, self.preset, self.catalog, None,
                        on_done=self._card_inspected, on_error=partial(self._card_failed, item.card_path))

    def retry(self, item_id: int) -> QueueItem | None:
        """Failed files, a cancelled or an interrupted offload: redo only what is not verified yet."""
        item = self._item(item_id)
        if item is None or item.running or item.status is Status.QUEUED:
            return None
        if item.offload_id is None:  # refused before it began: try again from scratch
            return self.enqueue(item.card_path)
        req = dataclasses.replace(item.request, resume_id=item.offload_id)
        new = QueueItem(item.label, req, item.card_path, bytes_total=item.bytes_total, stage=item.stage,
                        cascade_of=item.cascade_of, stage2_to=item.stage2_to, targets=item.targets)
        self.queue.remove(self.queue.by_id(item.id))
        if new.stage == 2:  # it reads the stage-1 copy, not the card: the card's row keeps its verdict
            new.offload_id = item.offload_id
            self.add_stage2(new)
            self._stage2_card(new, status=Status.RELEASED, progress=-1.0, detail=released_text(new.targets))
            return new
        if self.cards.by_path(item.card_path) < 0:
            self.cards.append(CardRow(item.card_path, required=self.preset.copies_required, rule=self.preset.rule))
            self._reinspect(new)
        return self._add(new)

    def remove(self, item_id: int) -> None:
        i = self.queue.by_id(item_id)
        if i >= 0 and not self.queue.row(i).running and self.queue.row(i).status is not Status.QUEUED:
            self.queue.remove(i)

    def load_resumable(self) -> None:
        """After a restart: offer to resume the offloads that stopped before their end; stage-2 offloads
        still queued in the catalog are queued and start (gui.cascade)."""
        self.bridge.run(cascade.startup_jobs, self.catalog, on_done=self._resumable,
                        on_error=partial(self.messages.exception, context="Reading the catalog"))

    def _resumable(self, found: cascade.StartupJobs) -> None:
        rows, stage2 = found
        known = {q.offload_id for q in self.queue.rows}
        for r in rows:
            if r.id in known:
                continue
            known.add(r.id)
            label = cascade.stage2_label(r.reel, r.source) if r.stage == 2 else (r.reel or os.path.basename(r.source))
            req = requests.resume_request(r.id, r.source, self.settings, self.preset, label=label)
            item = QueueItem(label, req, "" if r.stage == 2 else r.source,
                             status=Status.INTERRUPTED if r.state == "interrupted" else Status.CANCELLED,
                             offload_id=r.id, bytes_total=r.bytes_total, error=r.message, stage=r.stage,
                             cascade_of=r.cascade_of)
            self.queue.append(item)
        queued, stopped = 0, len(rows)
        for job in stage2:
            if job.offload_id in known:
                continue
            known.add(job.offload_id)
            item = cascade.stage2_item(job, self.settings, self.preset)
            queued += item.status is Status.QUEUED
            stopped += item.status is not Status.QUEUED
            self.add_stage2(item)
        if queued:
            self.messages.info(f"{plural(queued, 'stage-2 copy', 'stage-2 copies')} waiting since the last session: "
                               f"{agree(queued, 'it starts', 'they start')} when {agree(queued, 'its', 'their')} "
                               "drives are free.", "stage2_queued")
        if stopped:
            n = stopped
            self.messages.warning(f"{plural(n, 'offload')} stopped before {agree(n, 'its', 'their')} end. Select "
                                  f"{agree(n, 'it', 'one')} in the queue and press Resume to finish it.", "resumable")

    def cancel_all(self) -> None:
        for q in self.queue.rows:
            if q.running:
                q.control.cancel()
            elif q.status is Status.QUEUED:
                q.status = Status.CANCELLED

    # -- settings

    def apply_profile(self, profile: Profile, say: str = "Settings saved.") -> None:
        """Use the profile now and save it (on a worker). Saves run one after the other, in order: two at once
        wrote the same temporary file, and one of them failed (a preset chosen, then Save, in a second)."""
        self.set_profile(profile)
        self._saves.append((profile, say))
        if not self._saving:
            self._save_next()
        self.settings_changed.emit()

    def _save_next(self) -> None:
        if not self._saves:
            self._saving = False
            return
        self._saving = True
        profile, say = self._saves.pop(0)
        self.bridge.run(save_profile, profile, on_done=partial(self._saved, say), on_error=self._save_failed)

    def _saved(self, say: str, _: object) -> None:
        if say:
            self.messages.info(say)
        self._save_next()

    def _save_failed(self, exc: BaseException) -> None:
        self.messages.exception(exc, "Saving the settings")
        self._save_next()

    def shutdown(self) -> None:
        self._drive_timer.stop()
        self.stop_watching()
        self.cancel_all()


def _offload_task(run: Callable[..., OffloadOutcome], req: OffloadRequest, control: OffloadControl,
                  pump: Pump, bridge: Bridge, catalog: str | os.PathLike[str] | None,
                  on_started: Any) -> OffloadOutcome:
    """Runs on an offload worker: app.offload.run_offload (`run`, or its isolated twin), reporting through
    the pump."""
    observer = Observer(started=lambda s: bridge.call_soon(on_started, s.offload_id), progress=pump.progress,
                        failed=lambda f: pump.item(("failed", f)), notice=lambda n: pump.item(("notice", n)))
    try:
        return run(req, control, catalog=catalog, observer=observer)
    finally:
        pump.flush()
