"""`datawrangler inspect PATH` (what recognition sees on a card) and `datawrangler watch` (mount events and
recognised cards as they come; `--auto PRESET` offloads them).

Wired into the parser by `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import threading
from collections.abc import Sequence
from typing import Any

from datawrangler import platform as mounttable
from datawrangler.app.auto import AutoOffloader, AutoStatus, with_preset
from datawrangler.app.catalog import catalog_file
from datawrangler.app.inspection import source_ignore
from datawrangler.app.naming import name_card
from datawrangler.cli.common import CATALOG_HELP, EXIT_OK, EXIT_REFUSED, catalog_path
from datawrangler.cli.output import Output
from datawrangler.config import find_preset, load_settings
from datawrangler.core.cards import CardInfo, recognise
from datawrangler.core.presets import Preset
from datawrangler.core.scan import SourceFile, scan_source
from datawrangler.core.words import human_bytes, plural, when
from datawrangler.platform import Volume, describe
from datawrangler.store.db import is_server
from datawrangler.store.location import open_location
from datawrangler.volumes.cards import CardFilter
from datawrangler.volumes.monitor import VolumeEvent, VolumeMonitor, VolumeMounted


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--catalog", metavar="LOCATION", default=argparse.SUPPRESS,
                        help=CATALOG_HELP)
    common.add_argument("--json", action="store_true", help="JSON lines on stdout, for scripts")

    i = subparsers.add_parser("inspect", parents=[common], help="what recognition sees on a card",
                              description="Recognise the card at PATH from its folder layout and file names "
                              "(no footage is read): vendor, family, camera letter, reel, clips, fingerprint; and "
                              "what the catalog knows of it.")
    i.add_argument("path", metavar="PATH", help="the card's mount point or folder")
    i.set_defaults(func=cmd_inspect)

    w = subparsers.add_parser("watch", parents=[common], help="report cards as they mount (and offload them)",
                              description="Watch the mount roots and print every mount, unmount and recognised "
                              "card until Ctrl-C. With --auto PRESET, offload each recognised card with the preset "
                              "(presets.json in the config folder), and eject it if the preset says so.")
    w.add_argument("--root", action="append", metavar="DIR",
                   help="a folder whose volumes are all cards (repeatable; default: the settings' 'mount_roots'); "
                   "removable media under the platform's roots (/media, /run/media/$USER, /mnt; /Volumes on "
                   "macOS) are found anyway, network shares and fixed disks never")
    w.add_argument("--auto", metavar="PRESET", help="offload recognised cards with this preset")
    w.add_argument("--existing", action="store_true", help="also report volumes mounted before the watch began")
    w.add_argument("--duration", type=float, metavar="SECONDS", help="stop after SECONDS (default: until Ctrl-C)")
    w.set_defaults(func=cmd_watch)


# -- inspect


def _label_of(path: str) -> str | None:
    real = os.path.realpath(path)
    for mp, m in mounttable.current([os.path.dirname(real) or "/"]).items():
        if mp == real:
            return describe(m).label
    return None


def _card_json(card: CardInfo) -> dict[str, Any]:
    return {**dataclasses.asdict(card), "generic": card.generic}


def cmd_inspect(args: argparse.Namespace) -> int:
    settings = load_settings()
    scan = scan_source(args.path, source_ignore(args.path, settings.ignore))
    card = recognise(args.path, scan=scan, label=_label_of(args.path))
    catalog = _catalog_view(args, card, scan.files)
    out = Output.of(args)
    if out.json:
        out.emit("card", **_card_json(card), catalog=catalog)
        return EXIT_OK
    kind = "not a recognised camera card (generic)" if card.generic else f"{card.vendor} {card.family}"
    out.line(f"{card.root}: {kind}; media: {card.media}")
    if card.reel:
        out.line(f"  reel {card.reel} (camera {card.camera_letter})"
                 + (f", card id {card.card_id}" if card.card_id and card.card_id != card.reel else ""))
    else:
        out.line("  reel: none in the names (the offload counter names it)")
    clips = "clip" if card.clip_count == 1 else "clips"
    span = f": {card.first_clip} … {card.last_clip}" if card.clip_count > 1 else (
        f": {card.first_clip}" if card.first_clip else "")
    out.line(f"  {card.clip_count} {clips}{span}")
    out.line(f"  {plural(card.file_count, 'file')}, {human_bytes(card.total_bytes)}"
             + (f"; label {card.label}" if card.label else ""))
    out.line(f"  fingerprint {card.fingerprint}")
    if catalog is not None:
        out.line(f"  catalog: {catalog['message']}")
    for s in scan.skipped[:10]:
        out.line(f"  skipped {s.rel_path}: {s.message}")
    return EXIT_OK


def _catalog_view(args: argparse.Namespace, card: CardInfo, files: Sequence[SourceFile]) -> dict[str, Any] | None:
    """What the catalog knows: a card seen before, the next reel, a reel collision (None: no catalog yet)."""
    where = catalog_path(args)
    if not is_server(where) and not os.path.exists(catalog_file(where)):
        return None
    db = open_location(where)
    try:
        name = name_card(db, Preset("inspect"), card, files)
    finally:
        db.close()
    if name.known is not None:
        exact = "this card" if name.known.exact else "an earlier state of this card (it shot more since)"
        msg = (f"{exact} was offloaded as {name.known.reel or name.reel} on {when(name.known.last_offload_at)} "
               f"(offload {name.known.last_offload_id})")
    elif name.collision is not None:
        msg = "REEL COLLISION: " + name.collision.message
    else:
        msg = (f"a new card; it would be reel {name.reel}" + (" (from the counter)" if name.from_counter else "")
               if name.reel is not None else "an empty card (no files after the ignore rules): no reel name")
    return {"message": msg, "reel": name.reel, "from_counter": name.from_counter,
            "known_offload": name.known.last_offload_id if name.known else None,
            "exact": name.known.exact if name.known else None,
            "collision": dataclasses.asdict(name.collision) if name.collision else None}


# -- watch


def _volume_json(v: Volume) -> dict[str, Any]:
    return dataclasses.asdict(v)


def _volume_line(v: Volume) -> str:
    bits = [v.fstype or "?"]
    if v.capacity is not None:
        bits.append(f"{human_bytes(v.capacity)}, {human_bytes(v.free or 0)} free")
    if v.fs_uuid:
        bits.append(f"UUID {v.fs_uuid}")
    if v.device:
        bits.append(v.device)
    if v.removable:
        bits.append("removable")
    return f"{v.mount_point} [{v.label or '-'}] ({'; '.join(bits)})"


def cmd_watch(args: argparse.Namespace) -> int:
    """Every mount, unmount, recognised card and auto-offload step: an event and its line on stdout; a
    warning or error (an unreadable card, a failed auto-offload) on stderr. The watch goes on."""
    settings = load_settings()
    cards = CardFilter.for_roots(args.root) if args.root else CardFilter(user_roots=settings.mount_roots)
    out = Output.of(args)
    auto: AutoOffloader | None = None
    if args.auto:
        preset = find_preset(args.auto)
        if not preset.destinations:
            out.error("no_destination", f"preset {preset.name!r} has no destinations.")
            return EXIT_REFUSED
        catalog = catalog_path(args)

        def status(s: AutoStatus) -> None:
            data: dict[str, Any] = dict(mount_point=s.volume.mount_point, reel=s.reel, roll=s.roll,
                                        offload_id=s.offload_id, state=s.state, safe_to_format=s.safe_to_format,
                                        card=_card_json(s.card) if s.card else None)
            if s.kind == "warning":
                out.warning(s.message, **data)
            elif s.kind == "error":
                out.error("auto_offload_failed", s.message, **data)
            else:
                out.event(s.kind, f"{s.kind}: {s.message}", **data)

        auto = AutoOffloader(with_preset(preset, auto_offload=True), catalog, settings=settings, on_status=status)

    def on_volume(e: VolumeEvent) -> None:
        v = e.volume
        kind = "mounted" if isinstance(e, VolumeMounted) else "unmounted"
        out.event(kind, f"{kind}: {_volume_line(v)}", volume=_volume_json(v))
        if auto is not None:
            auto(e)
        elif isinstance(e, VolumeMounted):
            try:
                card = recognise(v.mount_point, label=v.label)
            except Exception as exc:  # an unreadable card is reported, the watch goes on
                out.error("inspect_failed", f"cannot inspect {v.mount_point}: {exc}", mount_point=v.mount_point)
                return
            what = "not a recognised camera card" if card.generic else f"{card.vendor} {card.family}"
            reel = card.reel if card.file_count else None  # an empty volume is given no reel
            out.event("card", f"card: {v.mount_point}: {what}; reel {reel or '-'}; "
                      f"{plural(card.clip_count, 'clip')}", mount_point=v.mount_point, card=_card_json(card))

    monitor = VolumeMonitor(on_volume, cards=cards, report_existing=args.existing,
                            on_ignored=lambda d: out.event("ignored", f"ignored: {d}", mount_point=d.mount_point,
                                                           reason=d.why))
    out.event("watching", "watching " + ", ".join(monitor.roots)
              + (f" (auto-offload: {args.auto})" if args.auto else "") + "; Ctrl-C to stop",
              roots=list(monitor.roots), auto=args.auto)
    done = threading.Event()
    try:
        if auto is not None:
            auto.start()
        monitor.start()
        done.wait(args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        monitor.stop()
        if auto is not None:
            auto.stop(cancel=True)
    out.event("stopped", "stopped")
    return EXIT_OK
