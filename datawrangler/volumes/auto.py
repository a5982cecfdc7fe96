"""AutoOffloader: a card mounts, is recognised and named, offloaded with a preset, and ejected (when the
preset says eject_after) once it is safe to format, without a click.

Attach it to a VolumeMonitor as (or inside) its callback. Mounts are queued and offloaded one at a time
on the offloader's own thread, so the monitor keeps watching; a card removed before its turn is dropped.
What happens is reported as AutoStatus values through `on_status` (the CLI prints them, the GUI shows them).

A card is NOT copied automatically when: the preset has auto-offload off; it is not recognised (unless the
preset says `auto_generic`); it is already in the catalog and safe to format; its reel collides with a
different card already offloaded under that name (flagged: the DIT decides); preflight refuses the plan.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from datawrangler.config import Settings, load_settings
from datawrangler.core.cards import CardInfo, CardRule, recognise
from datawrangler.core.errors import OffloadError
from datawrangler.core.events import OffloadControl, OffloadState
from datawrangler.core.plan import OffloadPlan, preflight
from datawrangler.core.presets import Preset, TemplateError
from datawrangler.core.scan import ScanResult, scan_source
from datawrangler.core.words import plural
from datawrangler.store import redundancy
from datawrangler.store.db import open_catalog
from datawrangler.store.liveness import mark_interrupted
from datawrangler.store.offloads import OffloadMeta
from datawrangler.volumes.awake import keep_awake
from datawrangler.volumes.eject import EjectResult, eject
from datawrangler.volumes.identity import Volume
from datawrangler.volumes.monitor import VolumeEvent, VolumeMounted, VolumeUnmounted
from datawrangler.volumes.naming import CardName, name_card
from datawrangler.volumes.record import RecordedOffload, run_recorded_offload

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AutoStatus:
    """kind: recognised, skipped, flagged, refused, started, finished, handoff, ejected, eject_failed, error."""

    kind: str
    volume: Volume
    message: str
    card: CardInfo | None = None
    reel: str | None = None
    roll: str | None = None
    offload_id: int | None = None
    state: str | None = None
    safe_to_format: bool | None = None


# After a finished offload: (offload id, preset) -> messages (e.g. the handoff files written). The CLI and
# GUI pass the handoff writer here (volumes cannot import handoff: they are one layer).
AfterOffload = Callable[[int, Preset], Sequence[str]]


class AutoOffloader:
    def __init__(self, preset: Preset, catalog: str | os.PathLike[str], *, settings: Settings | None = None,
                 on_status: Callable[[AutoStatus], None] | None = None, after_offload: AfterOffload | None = None,
                 ejector: Callable[[Volume], EjectResult] = eject, rules: Sequence[CardRule] | None = None,
                 operator: str | None = None) -> None:
        self.preset = preset
        self.catalog = Path(catalog)
        self.settings = settings or load_settings()
        self.on_status = on_status
        self.after_offload = after_offload
        self.ejector = ejector
        self.rules = rules
        self.operator = operator or self.settings.operator or None
        self._queue: queue.Queue[Volume | None] = queue.Queue()
        self._gone: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._control: OffloadControl | None = None
        self._thread: threading.Thread | None = None

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
        self._thread = threading.Thread(target=self._run, name="dw-auto-offload", daemon=True)
        self._thread.start()

    def stop(self, cancel: bool = True) -> None:
        """Stop after the running offload (cancelled if `cancel`: resumable); queued cards are dropped."""
        with self._lock:
            if cancel and self._control is not None:
                self._control.cancel()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join()
            self._thread = None

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
        """Recognise, name, check, offload, hand off and eject one mounted volume (synchronously)."""
        p = self.preset
        scan = scan_source(volume.mount_point, self.settings.ignore)
        card = recognise(volume.mount_point, scan=scan, label=volume.label, rules=self.rules)
        what = f"{card.vendor} {card.family}" if not card.generic else "an unrecognised card"
        self._say("recognised", volume, f"{volume.name}: {what}, {plural(card.clip_count, 'clip')}"
                  + (f", reel {card.reel}" if card.reel else ""), card=card)
        if not p.auto_offload:
            return self._say("skipped", volume, f"Preset {p.name!r} has auto-offload off.", card=card)
        if card.generic and not p.auto_generic:
            return self._say("skipped", volume, f"{volume.name} is not a recognised camera card: offload it by "
                             "hand (or set auto_generic in the preset).", card=card)
        if not scan.files:
            return self._say("skipped", volume, f"{volume.name} holds no files.", card=card)
        db = open_catalog(self.catalog)
        try:
            mark_interrupted(db)
            try:
                name = name_card(db, p, card, scan.files)
            except TemplateError as exc:
                return self._say("refused", volume, f"Preset {p.name!r}: {exc}", card=card)
            if name.known is not None and name.known.exact:
                red = redundancy.card_redundancy(db, name.known.card_id, p.copies_required)
                if red.safe:
                    return self._say("skipped", volume, f"{volume.name} was already offloaded as {name.reel} and "
                                     "is safe to format: not copied again.", card=card, reel=name.reel,
                                     safe_to_format=True)
        finally:
            db.close()
        if name.collision is not None:
            return self._say("flagged", volume, name.collision.message, card=card, reel=name.reel, roll=name.roll)
        return self._offload(volume, card, name, scan)

    def _plan(self, volume: Volume, name: CardName) -> OffloadPlan:
        p, s = self.preset, self.settings
        prefix, _, leaf = name.roll.rpartition("/")
        roots = []
        for d in p.destinations:
            root = os.path.join(d, *prefix.split("/")) if prefix else d
            if prefix and os.path.isdir(d):
                os.makedirs(root, exist_ok=True)  # the template's folders above the roll (e.g. the date)
            roots.append(root)
        return OffloadPlan.create(volume.mount_point, roots, roll_name=leaf, algorithms=p.algorithms,
                                  verify_mode=p.verify_mode, ignore=tuple(s.ignore), retries=s.retries,
                                  read_retries=s.read_retries, chunk_size=s.chunk_mib << 20,
                                  queue_depth=s.queue_depth, overlap_verify=s.overlap_verify)

    def _offload(self, volume: Volume, card: CardInfo, name: CardName, scan: ScanResult) -> AutoStatus:
        p = self.preset
        info = {"card": card, "reel": name.reel, "roll": name.roll}
        try:
            plan = self._plan(volume, name)
        except OffloadError as exc:
            return self._say("refused", volume, str(exc), **info)
        pf = preflight(plan, scan)
        if not pf.ok:
            return self._say("refused", volume, " ".join(e.message for e in pf.errors), **info)
        for w in pf.warnings:
            log.warning("auto-offload %s: %s", volume.mount_point, w.message)
        meta = OffloadMeta(project=p.project or None, reel=name.reel, camera=name.camera, operator=self.operator,
                           vendor=None if card.generic else card.vendor,
                           lineage=name.known.lineage if name.known is not None else None, shooting_day=p.day)
        control = OffloadControl()
        with self._lock:
            self._control = control
        self._say("started", volume, f"Offloading {volume.name} as {name.reel} to "
                  + ", ".join(plan.destinations), **info)
        try:
            if p.keep_awake:
                with keep_awake(f"Offloading {name.reel}"):
                    done = self._record(plan, scan, card, meta, control)
            else:
                done = self._record(plan, scan, card, meta, control)
        finally:
            with self._lock:
                self._control = None
        r = done.result
        status = self._say("finished", volume, f"{name.reel}: {r.state.value}: {r.message}"
                           + ("" if done.safe_to_format else " Not safe to format: " + " ".join(done.reasons)),
                           **info, offload_id=done.offload_id, state=r.state.value,
                           safe_to_format=done.safe_to_format)
        if self.after_offload is not None and r.state not in (OffloadState.INTERRUPTED, OffloadState.CANCELLED):
            try:
                notes = list(self.after_offload(done.offload_id, p))
                self._say("handoff", volume, " ".join(notes) or "Handoff files written.", **info,
                          offload_id=done.offload_id)
            except Exception as exc:
                log.exception("auto-offload: after-offload step failed")
                self._say("error", volume, f"The handoff files of offload {done.offload_id} could not be written "
                          f"({exc}). The copies are not affected.", **info, offload_id=done.offload_id)
        if p.eject_after:
            # the preset's promise: eject once the card is safe to format (every file verified on enough
            # distinct drives), not merely once this offload verified what it copied
            if done.safe_to_format:
                ej = self.ejector(volume)
                return self._say("ejected" if ej.ok else "eject_failed", volume, ej.message, **info,
                                 offload_id=done.offload_id, state=r.state.value,
                                 safe_to_format=done.safe_to_format)
            why = " ".join(done.reasons) or f"the offload ended {r.state.value}."
            self._say("skipped", volume, f"{volume.name} is not ejected: it is not safe to format yet. {why}",
                      **info, offload_id=done.offload_id, state=r.state.value, safe_to_format=False)
        return status

    def _record(self, plan: OffloadPlan, scan: ScanResult, card: CardInfo, meta: OffloadMeta,
                control: OffloadControl) -> RecordedOffload:
        return run_recorded_offload(self.catalog, plan, scan, card.fingerprint, meta,
                                    copies_required=self.preset.copies_required, control=control)


def with_preset(preset: Preset, **changes: object) -> Preset:
    """A validated copy of a preset with some fields changed (e.g. the CLI forcing auto_offload)."""
    out = replace(preset, **changes)  # type: ignore[arg-type]
    out.validate()
    return out
