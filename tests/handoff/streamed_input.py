"""A fixed offload, as the catalog would give it to the handoff writer (store.handoff rows), for comparing the
handoff files of a roll byte for byte with committed expectations (tests/handoff/golden/streamed/).

Two offloads into the same two rolls, a day apart: the second continues the first one's ASC MHL history
(a digest that changed since: `failed`; a new file: `original`) and its card holds a file named as one of its
own checksum lists. The rows carry what the files' names and states make hard: XML escapes, a carriage return,
a newline and a backslash (left out of the checksum lists), a control character and an undecodable byte (not
in the XML), an empty file, failed and never copied copies, a failed copy read back equal to the card (listed
as `failed` against the history), digests only the copy has.

The expectations were written by the writer before it streamed (whole lists and documents in memory); the
streamed writer must give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from datawrangler.core.hashing import c4_from_sha512
from datawrangler.handoff.writer import HandoffOptions
from datawrangler.store.handoff import CopyRow, DestRow, FileRow, OffloadSummary
from datawrangler.store.handoff_names import sidecar_name

ALGS = ("xxh64", "md5", "sha1", "xxh128", "xxh3", "c4")
OPTIONS = HandoffOptions(legacy_mhl=True, checksum_lists=("xxh64", "md5", "sha1", "xxh128", "xxh3"), csv=True,
                         json=True, ale=True, clip_csv=True)
ROLL = "A001R2EC"
DESTS = ("d1", "d2")  # each roll is <tmp>/<dest>/A001R2EC
NOW1 = dt.datetime(2023, 10, 14, 22, 41, 5, tzinfo=dt.UTC)
NOW2 = dt.datetime(2023, 10, 15, 23, 2, 9, tzinfo=dt.UTC)
STARTED1 = 1697322600.25
STARTED2 = 1697410800.5


def _digests(seed: int, algs: tuple[str, ...] = ALGS) -> dict[str, str]:
    width = {"xxh64": 16, "md5": 32, "sha1": 40, "xxh128": 32, "xxh3": 16}
    out = {}
    for a in algs:
        if a == "c4":
            out[a] = c4_from_sha512(hashlib.sha512(str(seed).encode()).digest())
        else:
            out[a] = f"{seed * 7919 + len(a):x}".rjust(width[a], "0")[-width[a]:]
    return out


def summary(second: bool = False) -> OffloadSummary:
    started = STARTED2 if second else STARTED1
    return OffloadSummary(
        id=2 if second else 1, uuid=("b" if second else "a") * 8 + "-1111-4222-8333-444455556666",
        source="/Volumes/A001R2EC", roll_name=ROLL, reel="A001", project='Night & Day <2> "B"',
        operator="Kim DIT", host="cart-01.local", algorithms=ALGS, verify_mode="destinations",
        state="failed", started_at=started, ended_at=started + 605.125, ignore=("*.tmp", "#notes"),
        destinations=(DestRow(11, 0, "/Volumes/RAID/A001R2EC", "verified"),
                      DestRow(12, 1, "/Volumes/SHUTTLE 2/A001R2EC", "failed")))


def _copy(state: str, digests: dict[str, str], at: float | None, bypassed: bool | None = True) -> CopyRow:
    return CopyRow(state, digests, at, bypassed, False)


def _file(path: str, size: int, seed: int, copies: dict[int, CopyRow], *, status: str = "verified",
          digests: dict[str, str] | None = None) -> FileRow:
    return FileRow(path, size, 1697300000_123456789 + seed * 1_000_000_001, status,
                   _digests(seed) if digests is None else digests, copies)


def rows(second: bool = False) -> list[FileRow]:
    at = (STARTED2 if second else STARTED1) + 30.000125
    d = _digests

    def both(seed: int) -> dict[int, CopyRow]:
        return {11: _copy("verified", d(seed), at + seed), 12: _copy("verified", d(seed), at + seed + 0.5, False)}

    changed = 4 if not second else 44  # the card's file no longer matches its first offload
    out = [
        _file("A001C001/A001C001_231014_R2EC.mxf", 100_000, 1, both(1)),
        _file("Clips/Über/Café & <Son> \"take\".wav", 7_000, 2, both(2)),
        _file("Clips/none.bin", 0, 3, both(3)),
        _file("Clips/changed.mov", 4_096, changed, both(changed)) if not second else
        _file("Clips/changed.mov", 4_096, changed,
              {11: _copy("verified", d(changed), at), 12: _copy("failed", d(changed), at, None)},
              status="failed"),
        _file("new\nline.bin", 12, 5, both(5)),
        _file("carriage\rreturn.bin", 13, 6, both(6)),
        _file("back\\slash.bin", 14, 7, both(7)),
        _file("control\x01char.bin", 15, 8, both(8)),
        _file("undecodable\udcff.bin", 16, 9, both(9)),
        _file("Clips/bad copy.mov", 17, 10,
              {11: _copy("verified", d(10), at), 12: _copy("failed", d(99), at)}, status="failed"),
        _file("Clips/never copied.mov", 18, 11, {11: _copy("verified", d(11), at)}, status="failed"),
        _file("Clips/copied only.mov", 19, 12, {11: _copy("copied", {}, None, None), 12: _copy("verified", d(12), at)},
              status="copied"),
        _file("Clips/copy digests.mov", 20, 13, both(13), digests=d(13, ("xxh64",))),
    ]
    if second:
        out.append(_file("Clips/new on day 2.mov", 21, 14, both(14)))
        out.append(_file(sidecar_name(ROLL, STARTED2, "md5"), 22, 15, both(15)))  # named as the md5 list
    return out
