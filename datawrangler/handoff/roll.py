"""The handoff files of one destination roll, written in one pass over the offload's catalog rows.

Each file (checksum lists, legacy MHL 1.1, CSV and JSON manifests, the ASC MHL manifest) is open at once and
gets its part of every row as the row arrives from the cursor, each into its own temporary file; at the end
they are put under their names in the order they always were (the sidecars, then the ASC MHL generation whose
ignore patterns name them, then its chain). Nothing is held for the whole roll but the warnings, so a card of a
million files costs the memory of one row; a failure half way leaves no half file under a final name.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Collection, Iterable

from datawrangler.handoff import ascmhl
from datawrangler.handoff.common import AtomicFile, CreatorInfo, make_folder, remove_stale_temps, write_atomic, xml_ok
from datawrangler.handoff.history import History, HistoryError, load
from datawrangler.handoff.legacy import Legacy11
from datawrangler.handoff.lists import ChecksumList
from datawrangler.handoff.manifests import CsvManifest, JsonManifest
from datawrangler.handoff.options import EDITORIAL_KINDS, HandoffOptions, HandoffResult, sidecar_names
from datawrangler.store.handoff import FileRow, OffloadSummary
from datawrangler.store.handoff_names import ASCMHL_CHAIN, ASCMHL_FOLDER

Sidecar = ChecksumList | Legacy11 | CsvManifest | JsonManifest


def digests_at(f: FileRow, dest_id: int) -> dict[str, str]:
    c = f.copies[dest_id]
    return {**f.digests, **c.digests}


def faithful_failure(f: FileRow, dest_id: int) -> bool:
    """A copy recorded failed although it was read back equal to the card's file (the card's file itself no
    longer matches the card's own history: handoff.source). Its generation entry says `failed`: the reference
    and any post house then see what the catalog says."""
    c = f.copies.get(dest_id)
    if c is None or c.state != "failed" or not c.digests or not f.digests:
        return False
    common = [a for a in f.digests if a in c.digests]
    return bool(common) and all(c.digests[a] == f.digests[a] for a in common)


def transplant(source: History, roll: str) -> History | None:
    """Continue a source's history at a destination: its manifests, byte for byte, and its chain."""
    folder = os.path.join(roll, ASCMHL_FOLDER)
    make_folder(folder)
    names = [link.path for link in source.chain] or [g.filename for g in source.generations]
    for name in names:
        if os.path.basename(name) != name:  # a second guard: load() refuses such names already
            continue
        src = os.path.join(source.folder, name)
        dst = os.path.join(folder, name)
        if os.path.isfile(src) and not os.path.exists(dst):
            with open(src, "rb") as fh:
                write_atomic(dst, fh.read())
    chain = os.path.join(source.folder, ASCMHL_CHAIN)
    if os.path.isfile(chain):
        with open(chain, "rb") as fh:
            write_atomic(os.path.join(folder, ASCMHL_CHAIN), fh.read())
    return load(roll)


def _sidecar(kind: str, out: AtomicFile, summary: OffloadSummary, creator: CreatorInfo, now: dt.datetime) -> Sidecar:
    if kind.startswith("list:"):
        return ChecksumList(kind[5:], out)
    if kind == "legacy":
        return Legacy11(out, creator, summary.started_at, summary.ended_at or now)
    return CsvManifest(summary, out) if kind == "csv" else JsonManifest(summary, out)


def _feed(doc: Sidecar, f: FileRow, dest_id: int) -> None:
    if isinstance(doc, CsvManifest | JsonManifest):
        doc.add(f)
        return
    c = f.copies.get(dest_id)
    if c is None or c.state != "verified":
        return
    if isinstance(doc, ChecksumList):
        doc.add(f.rel_path, digests_at(f, dest_id))
    elif xml_ok(f.rel_path):
        doc.add(f.rel_path, f.size, f.mtime_ns, digests_at(f, dest_id), c.verified_at)


def _entry(f: FileRow, dest_id: int, history: History | None, roll: str, said: list[str]) -> ascmhl.Entry | None:
    """The file's entry in the new generation, or None (a failed copy is only listed to say that it differs
    from the history)."""
    c = f.copies.get(dest_id)
    if c is None or not (c.state == "verified" or faithful_failure(f, dest_id)):
        return None
    if not xml_ok(f.rel_path):
        said.append(f"{roll}: {f.rel_path!r} cannot be written in XML; it is not in the ASC MHL.")
        return None
    acts = ascmhl.actions(history, f.rel_path, digests_at(f, dest_id))
    if c.state != "verified" and not any(act == "failed" for _, _, act in acts):
        return None
    if not acts:
        said.append(f"{roll}: {f.rel_path!r}: the ASC MHL history records it with other hash algorithms only; it "
                    "is not in the new generation.")
        return None
    return ascmhl.Entry(f.rel_path, f.size, f.mtime_ns, tuple(ascmhl.Hash(a, v, act, c.verified_at)
                                                              for a, v, act in acts))


def write_roll(summary: OffloadSummary, dest_id: int, roll: str, rows: Iterable[FileRow], taken: Collection[str],
               options: HandoffOptions, now: dt.datetime, creator: CreatorInfo, source_history: History | None,
               result: HandoffResult) -> None:
    """The handoff files of the offload into `roll` (destination `dest_id`), from `rows` (store.handoff's
    offload_files, read once). `taken`: the sidecar names that are files of the card (never overwritten)."""
    with RollWriter(summary, dest_id, roll, taken, options, now, creator, source_history) as writer:
        for f in rows:
            writer.add(f)
        writer.finish(result)


class RollWriter:
    """The handoff files of one roll, open while the offload's rows go by: `add` each row, then `finish`. Several
    rolls are fed from one pass over the catalog (handoff.writer). Leaving the `with` block without `finish`
    (an error half way) removes every temporary file and leaves the roll as it was."""

    def __init__(self, summary: OffloadSummary, dest_id: int, roll: str, taken: Collection[str],
                 options: HandoffOptions, now: dt.datetime, creator: CreatorInfo,
                 source_history: History | None) -> None:
        self.roll = roll
        self.dest_id = dest_id
        self._summary, self._taken, self._options = summary, taken, options
        self._now, self._creator, self._source_history = now, creator, source_history
        self._files = contextlib.ExitStack()
        self._docs: list[tuple[str, AtomicFile, Sidecar]] = []
        self._generation: ascmhl.NewGeneration | None = None
        self._history: History | None = None
        self._said: dict[str, list[str]] = {}  # what each sidecar kind says, in the order of the kinds
        self._late: list[str] = []  # said of the ASC MHL, after the sidecars

    def __enter__(self) -> RollWriter:
        try:
            self._open()
        except BaseException:
            self._files.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def discard(self) -> None:
        """Leave the roll as it was: every temporary file removed (nothing was committed, or all of it was)."""
        self._files.close()

    def _open(self) -> None:
        roll, summary, options = self.roll, self._summary, self._options
        for folder in (roll, os.path.join(roll, ASCMHL_FOLDER)):  # what a power cut left of an earlier run
            remove_stale_temps(folder)
        with contextlib.suppress(OSError):  # an ascmhl/ made for a generation a power cut stopped: empty, no history
            os.rmdir(os.path.join(roll, ASCMHL_FOLDER))
        size_only = summary.verify_mode == "size"
        said = self._said
        todo: list[tuple[str, str]] = []
        written_names: list[str] = []  # ignored by the new generation (the editorial files are written later)
        for kind, name in sidecar_names(roll, summary.started_at, options, summary.algorithms).items():
            said[kind] = []
            if name in self._taken:
                if kind not in EDITORIAL_KINDS:  # handoff.editorial says it when it comes to write the file
                    said[kind].append(f"{roll}: the card has a file named {name}; the {kind} file was not written.")
            elif kind in EDITORIAL_KINDS:
                written_names.append(name)
            elif size_only and kind not in ("csv", "json"):
                said[kind].append(f"{roll}: verify mode 'size': no copy was read back, so no {kind} list was "
                                  "written.")
            else:
                todo.append((kind, name))
                written_names.append(name)
        wanted = options.ascmhl and not size_only
        if options.ascmhl and size_only:
            self._late.append(f"{roll}: verify mode 'size': no copy was read back, so no ASC MHL generation was "
                              "written.")
        elif wanted:
            try:
                self._history = load(roll)
                if self._history is None and self._source_history is not None:
                    self._history = transplant(self._source_history, roll)
            except HistoryError as exc:
                self._late.append(f"{roll}: {exc} No ASC MHL generation was added to it.")
                wanted = False
        for kind, name in todo:
            out = self._files.enter_context(AtomicFile(os.path.join(roll, name)))
            self._docs.append((kind, out, _sidecar(kind, out, summary, self._creator, self._now)))
        if wanted:
            history = self._history
            ignore = [*(history.latest_ignore() if history else ()), *summary.ignore,
                      *(ascmhl.ignore_pattern(n) for n in written_names)]
            self._generation = self._files.enter_context(ascmhl.NewGeneration(
                roll, creator=self._creator, process="transfer", ignore=ignore, now=self._now, history=history))

    def add(self, f: FileRow) -> None:
        dest_id = self.dest_id
        for _, _, doc in self._docs:
            _feed(doc, f, dest_id)
        if self._generation is not None and (
                entry := _entry(f, dest_id, self._history, self.roll, self._late)) is not None:
            self._generation.add(entry)

    def finish(self, result: HandoffResult) -> None:
        """Put every file under its name (the sidecars, then the ASC MHL generation and its chain) and say what
        there is to say into `result`."""
        roll, said = self.roll, self._said
        for kind, out, doc in self._docs:
            if isinstance(doc, Legacy11 | JsonManifest):
                doc.close()
            out.commit()
            result.written.append(out.path)
            if isinstance(doc, ChecksumList):
                said[kind] += [f"{roll}: {p!r} cannot be written in a checksum list; check it by other means."
                               for p in doc.left_out]
        for kind_said in said.values():
            result.warnings += kind_said
        result.warnings += self._late
        generation = self._generation
        if generation is None:
            return
        if generation.count == 0:
            result.warnings.append(f"{roll}: no file is verified there: no ASC MHL generation was written.")
            return
        result.written.append(generation.commit())
