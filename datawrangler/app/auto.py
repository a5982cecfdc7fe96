"""AutoOffloader: a card mounts, is inspected (app.inspection), offloaded with a preset through the one
offload path (app.offload, in a worker process of its own: app.isolated), and ejected (when the preset says
eject_after) once it is safe to format, without a click.

With a cascading copy (the preset's `stage2`, app.cascade) the card is said released once stage 1 is
verified (it may leave the reader; NOT safe to format yet), and its stage-2 copy runs on a thread of its own
while the next card's stage 1 runs; its end says whether the card is now safe to format, and the card is
ejected then (eject_after), as the window does: eject-after keeps its promise of safe to format.

Attach it to a VolumeMonitor as (or inside) its callback. Mounts are queued and offloaded one at a time
on the offloader's own thread, so the monitor keeps watching; a card removed before its turn is dropped.
What happens is reported as AutoStatus values through `on_status` (the CLI prints them).

Whether a card is copied is `app.inspection.auto_decision`, the rule the window's auto-enqueue follows too:
not when the preset has auto-offload off, the card is not recognised (unless `auto_generic`), it holds no
files, it is already in the catalog and safe to format, its reel collides with a different card (flagged:
the DIT decides), or the naming template cannot name it; preflight may still refuse the plan.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from datawrangler.app import request as requests
from datawrangler.app.catalog import catalog_location
from datawrangler.app.inspection import Inspection, auto_decision, describe, inspect_card
from datawrangler.app.isolated import run_offload_isolated
from datawrangler.app.offload import Notice, Observer, OffloadOutcome, open_db
from datawrangler.config import Settings, load_settings
from datawrangler.core.cards import CardInfo, CardRule
from datawrangler.core.errors import OffloadError
from datawrangler.core.events import OffloadControl
from datawrangler.core.presets import Preset
from datawrangler.core.words import plural
from datawrangler.platform import EjectResult, Volume, eject
from datawrangler.store.db import CatalogError
from datawrangler.store.liveness import mark_interrupted
from datawrangler.volumes.monitor import VolumeEvent, VolumeMounted, VolumeUnmounted

log = logging.getLogger(__name__)

# How an offload is run: in a worker process (the default), or in this thread (app.offload.run_offload).
Runner = Callable[..., OffloadOutcome]


@dataclass(frozen=True)
class AutoStatus:
    """kind: recognised, skipped, flagged, refused, started, warning, finished, handoff (the handoff files and
    the report written), released (a cascade's stage 1 verified), stage2_started, stage2_finished, ejected,
    eject_failed, error."""

    kind: str
    volume: Volume
    message: str
    card: CardInfo | None = None
    reel: str | None = None
    roll: str | None = None
    offload_id: int | None = None
    state: str | None = None
    safe_to_format: bool | None = None


class AutoOffloader:
    def __init__(self, preset: Preset, catalog: str | os.PathLike[str], *, settings: Settings | None = None,
                 on_status: Callable[[AutoStatus], None] | None = None,
                 ejector: Callable[[Volume], EjectResult] = eject, rules: Sequence[CardRule] | None = None,
                 operator: str | None = None, runner: Runner = run_offload_isolated) -> None:
        self.preset = preset
        self.catalog = catalog_location(catalog)
        self.settings = settings or load_settings()
        self.on_status = on_status
        self.ejector = ejector
        self.rules = rules
        self.operator = operator or self.settings.operator or None
        self.runner = runner
        self._queue: queue.Queue[Volume | None] = queue.Queue()
        self._gone: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._control: OffloadControl | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        # stage-2 copies (cascade), run one after another beside the cards' stage 1: (offload id, volume, data)
        self._stage2: queue.Queue[tuple[int, Volume, dict] | None] = queue.Queue()
        self._stage2_control: OffloadControl | None = None
        self._stage2_thread: threading.Thread | None = None

    # -- wiring

    def __call__(self, event: VolumeEvent) -> None:
        """The monitor's callback (its thread): queue a mounted card, forget a removed one."""
        key = (event.volume.mount_point, event.volume.dev)
        with self._lock:
            if isinstance(event, VolumeMounted):
                self._gone.discard(key)
                self._queue.put(event.volume)
            elif isinstance(event, VolumeUnmounted):
                self._gone.add(key)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("AutoOffloader already started")
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="dw-auto-offload", daemon=True)
        self._thread.start()
        self._stage2_thread = threading.Thread(target=self._run_stage2, name="dw-auto-stage2", daemon=True)
        self._stage2_thread.start()

    def stop(self, cancel: bool = True) -> None:
        """Stop after the running offload (cancelled if `cancel`: resumable); queued cards are dropped. A
        stage-2 copy running is cancelled too (resumable: `datawrangler stage2 run`); queued ones stay queued
        in the catalog."""
        with self._lock:
            self._stopping = cancel  # an offload about to start (its card being read) does not start
            if cancel and self._control is not None:
                self._control.cancel()
            if cancel and self._stage2_control is not None:
                self._stage2_control.cancel()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if not cancel:  # the stage-2 copies already queued run first
            self._stage2.put(None)
        else:
            while True:
                try:
                    self._stage2.get_nowait()
                except queue.Empty:
                    break
            self._stage2.put(None)
        if self._stage2_thread is not None:
            self._stage2_thread.join()
            self._stage2_thread = None

    def __enter__(self) -> AutoOffloader:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while True:
            volume = self._queue.get()
            if volume is None:
                return
            with self._lock:
                if (volume.mount_point, volume.dev) in self._gone:
                    continue
            try:
                self.handle(volume)
            except Exception as exc:  # a bug: say it, keep serving the next card
                log.exception("auto-offload of %s failed", volume.mount_point)
                self._say("error", volume, f"Auto-offload of {volume.name} failed: {exc}. See the log.")

    def _say(self, kind: str, volume: Volume, message: str, **data: object) -> AutoStatus:
        status = AutoStatus(kind, volume, message, **data)  # type: ignore[arg-type]
        if self.on_status is not None:
            try:
                self.on_status(status)
            except Exception:
                log.exception("auto-offload: on_status failed")
        return status

    # -- one card

    def handle(self, volume: Volume) -> AutoStatus:
        """Inspect, decide, offload and eject one mounted volume (synchronously)."""
        p = self.preset
        db = open_db(self.catalog)
        try:
            mark_interrupted(db)
            info = inspect_card(db, volume.mount_point, self.settings, p, label=volume.label,
                                rules=list(self.rules) if self.rules is not None else None)
        finally:
            db.close()
        card = info.card
        self._say("recognised", volume, describe(info).replace(info.label, volume.name, 1), card=card)
        decision = auto_decision(info, p)
        if not decision.offload:
            return self._say(decision.kind, volume, decision.message, card=card, reel=info.reel,
                             safe_to_format=True if info.safe and info.known_exact else None)
        return self._offload(volume, info)

    def _offload(self, volume: Volume, info: Inspection) -> AutoStatus:
        p = self.preset
        try:
            req = replace(requests.from_preset(info, p, self.settings), operator=self.operator)
        except ValueError as exc:
            return self._say("refused", volume, str(exc), card=info.card, reel=info.reel)
        data = {"card": info.card, "reel": info.reel, "roll": req.roll}
        control = OffloadControl()
        with self._lock:
            if self._stopping:
                return self._say("skipped", volume, f"{volume.name} was not offloaded: auto-offload is stopping.",
                                 **data)
            self._control = control
        self._say("started", volume, f"Offloading {volume.name} as {info.reel} to "
                  + ", ".join(os.path.join(r, req.roll) for r in req.dest_roots), **data)

        def notice(n: Notice) -> None:  # what went wrong on the way; the rest is summed up in "finished"
            if n.level != "info":
                self._say("warning", volume, n.message, **data)

        try:
            done = self.runner(req, control, catalog=self.catalog, observer=Observer(notice=notice))
        except OffloadError as exc:  # refused by preflight: nothing was written
            return self._say("refused", volume, str(exc), **data)
        finally:
            with self._lock:
                self._control = None
        r = done.result
        status = self._say("finished", volume, f"{info.reel}: {r.state.value}: {r.message}"
                           + ("" if done.safe else " Not safe to format: " + " ".join(done.reasons)),
                           **data, offload_id=done.offload_id, state=r.state.value, safe_to_format=done.safe)
        after = [f"{plural(len(done.handoff_written), 'handoff file')} written."] if done.handoff_written else []
        after += [f"Report: {done.reports_written[0]}."] if done.reports_written else []
        if after:
            self._say("handoff", volume, " ".join(after), **data, offload_id=done.offload_id)
        if done.released:
            for job in done.stage2:
                self._stage2.put((job, volume, data))
            self._say("released", volume, f"{volume.name} is released: every file is verified on the stage-1 "
                      f"drive, the card may leave the reader. It is NOT safe to format until stage 2 is verified "
                      f"(queued: {plural(len(done.stage2), 'stage-2 copy', 'stage-2 copies')}).", **data,
                      offload_id=done.offload_id, state=r.state.value, safe_to_format=done.safe)
        if p.eject_after:
            # the preset's promise: eject once the card is safe to format (every file verified on enough
            # distinct drives), not merely once this offload verified what it copied (a released card of a
            # cascading copy: once its stage 2 makes it safe, _one_stage2)
            if done.released and not done.safe:
                return status
            if done.safe:
                ej = self.ejector(volume)
                return self._say("ejected" if ej.ok else "eject_failed", volume, ej.message, **data,
                                 offload_id=done.offload_id, state=r.state.value, safe_to_format=done.safe)
            why = " ".join(done.reasons) or f"the offload ended {r.state.value}."
            self._say("skipped", volume, f"{volume.name} is not ejected: it is not safe to format yet. {why}",
                      **data, offload_id=done.offload_id, state=r.state.value, safe_to_format=False)
        return status

    # -- stage 2 (cascading copy)

    def _run_stage2(self) -> None:
        while True:
            item = self._stage2.get()
            if item is None:
                return
            job, volume, data = item
            try:
                self._one_stage2(job, volume, data)
            except Exception as exc:  # a bug: say it, keep serving the next copy
                log.exception("stage 2 (offload %s) failed", job)
                self._say("error", volume, f"Stage 2 (offload {job}) of {volume.name} failed: {exc}. See the log; "
                          f"run it again with 'datawrangler stage2 run {job}'.", **data, offload_id=job)

    def _one_stage2(self, job: int, volume: Volume, data: dict) -> AutoStatus:
        control = OffloadControl()
        with self._lock:
            if self._stopping:
                return self._say("skipped", volume, f"Stage 2 (offload {job}) did not start: auto-offload is "
                                 f"stopping. Run it with 'datawrangler stage2 run {job}'.", **data, offload_id=job)
            self._stage2_control = control
        self._say("stage2_started", volume, f"Stage 2 of {volume.name} (offload {job}): copying the verified "
                  "stage-1 copy to the stage-2 drives.", **data, offload_id=job)

        def notice(n: Notice) -> None:
            if n.level != "info":
                self._say("warning", volume, n.message, **data, offload_id=job)

        req = requests.resume_request(job, "", self.settings, self.preset, label=f"{volume.name} stage 2")
        try:
            done = self.runner(req, control, catalog=self.catalog, observer=Observer(notice=notice))
        except (OffloadError, CatalogError) as exc:
            return self._say("refused", volume, str(exc), **data, offload_id=job)
        finally:
            with self._lock:
                self._stage2_control = None
        r = done.result
        verdict = ("SAFE TO FORMAT." if done.safe else "Not safe to format: " + " ".join(done.reasons))
        status = self._say("stage2_finished", volume, f"Stage 2 of {volume.name}: {r.state.value}: {r.message} "
                           f"{verdict}", **data, offload_id=job, state=r.state.value, safe_to_format=done.safe)
        with self._lock:
            gone = (volume.mount_point, volume.dev) in self._gone  # the DIT took the released card out already
        if self.preset.eject_after and done.safe and not gone:
            ej = self.ejector(volume)
            return self._say("ejected" if ej.ok else "eject_failed", volume, ej.message, **data, offload_id=job,
                             state=r.state.value, safe_to_format=True)
        return status


def with_preset(preset: Preset, **changes: object) -> Preset:
    """A validated copy of a preset with some fields changed (e.g. the CLI forcing auto_offload)."""
    out = replace(preset, **changes)  # type: ignore[arg-type]
    out.validate()
    return out
