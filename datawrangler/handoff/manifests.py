"""CSV and JSON manifests of an offload's roll: every file with size, modification time, the card's digests
and what the catalog says of each destination (verified / copied / failed / not copied).

Both are written a file at a time as the catalog's rows arrive, never held whole. The JSON is the same bytes
`json.dumps(document, indent=2, ensure_ascii=False)` gives for the whole document: its head (the offload, the
destinations) is dumped with an empty file list and cut open there, and each file is dumped alone and indented
to its place in the list.
"""

from __future__ import annotations

import csv
import json
from typing import Any

from datawrangler.handoff.common import Sink, iso, iso_ns
from datawrangler.store.handoff import FileRow, OffloadSummary

_FILES_KEY = '"files": '
_EMPTY_TAIL = _FILES_KEY + "[]\n}"


def _state(f: FileRow, dest_id: int) -> str:
    c = f.copies.get(dest_id)
    return c.state if c is not None else "not copied"


class _Encoded:
    """What csv.writer writes (text) to a Sink (bytes); names that are not UTF-8 keep their bytes."""

    def __init__(self, out: Sink) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text.encode("utf-8", "surrogateescape"))


class CsvManifest:
    """The header row on creation, a row per `add`."""

    def __init__(self, summary: OffloadSummary, out: Sink) -> None:
        self.summary = summary
        self.algs = list(summary.algorithms)
        self.writer = csv.writer(_Encoded(out), lineterminator="\r\n")
        self.writer.writerow(["path", "size", "mtime", *self.algs,
                              *(f"verification {d.path}" for d in summary.destinations)])

    def add(self, f: FileRow) -> None:
        self.writer.writerow([f.rel_path, f.size, iso_ns(f.mtime_ns), *(f.digests.get(a, "") for a in self.algs),
                              *(_state(f, d.id) for d in self.summary.destinations)])


def _file_doc(summary: OffloadSummary, f: FileRow) -> dict[str, Any]:
    return {
        "path": f.rel_path, "size": f.size, "mtime": iso_ns(f.mtime_ns), "digests": dict(f.digests),
        "status": f.status,
        "verification": [{
            "destination": d.path, "state": _state(f, d.id),
            "verified_at": iso(c.verified_at, micro=True) if (c := f.copies.get(d.id)) and c.verified_at else None,
            "cache_bypassed": c.cache_bypassed if c else None,
        } for d in summary.destinations],
    }


class JsonManifest:
    """The offload and its destinations on creation, a file per `add`, the end of the document on `close`."""

    def __init__(self, summary: OffloadSummary, out: Sink) -> None:
        self.summary = summary
        self.out = out
        self.count = 0
        head = {
            "offload": {"uuid": summary.uuid, "source": summary.source, "roll": summary.roll_name,
                        "reel": summary.reel, "project": summary.project, "state": summary.state,
                        "verify_mode": summary.verify_mode, "algorithms": list(summary.algorithms),
                        "started": iso(summary.started_at),
                        "ended": iso(summary.ended_at) if summary.ended_at else None},
            "destinations": [{"path": d.path, "state": d.state} for d in summary.destinations],
            "files": [],
        }
        text = json.dumps(head, indent=2, ensure_ascii=False)
        if not text.endswith(_EMPTY_TAIL):  # json's own layout changed: refuse rather than write another form
            raise RuntimeError("json.dumps no longer ends a document with an empty list as expected; the JSON "
                               "manifest cannot be streamed in its documented form (a DataWrangler bug).")
        self._write(text[:-len(_EMPTY_TAIL)] + _FILES_KEY)

    def _write(self, text: str) -> None:
        self.out.write(text.encode("utf-8", "surrogateescape"))

    def add(self, f: FileRow) -> None:
        text = json.dumps(_file_doc(self.summary, f), indent=2, ensure_ascii=False)
        self._write(("[\n" if self.count == 0 else ",\n") + "\n".join("    " + line for line in text.split("\n")))
        self.count += 1

    def close(self) -> None:
        self._write("[]\n}\n" if self.count == 0 else "\n  ]\n}\n")
