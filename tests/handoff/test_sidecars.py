"""Checksum lists that xxhsum/md5sum/sha1sum accept, legacy MHL 1.1, CSV/JSON manifests, and byte-stable output."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from datawrangler.core.hashing import LIST_ALGORITHMS, REGISTRY
from datawrangler.handoff import ascmhl
from datawrangler.handoff.writer import HandoffOptions, write_handoff
from datawrangler.store.db import open_catalog
from tests.conftest import CardBuilder
from tests.handoff.conftest import CREATOR, NOW, Oracle, RunOffload

CARD = {"A.mov": 100_000, "Clips/B 2.mov": 50_000, "Clips/Über/Café.wav": 7_000, "Clips/none.bin": 0}
ALL = HandoffOptions(legacy_mhl=True, checksum_lists=("xxh64", "md5", "xxh128", "xxh3"), csv=True, json=True)


def _offload(make_card: CardBuilder, dest_dirs, recorded_offload: RunOffload, algorithms=("xxh64", "md5", "xxh128",
             "xxh3"), options: HandoffOptions = ALL):
    rec = recorded_offload(make_card(CARD), dest_dirs(2), algorithms=algorithms)
    db = open_catalog(rec.db_path)
    try:
        result = write_handoff(db, rec.offload_id, options, now=NOW, creator=CREATOR)
    finally:
        db.close()
    assert not result.warnings, result.warnings
    return rec, result


@pytest.mark.parametrize(("alg", "tool"), [(a, REGISTRY[a].checker) for a in LIST_ALGORITHMS])
def test_checksum_lists_pass_the_standard_checkers(make_card, dest_dirs, recorded_offload, alg: str,
                                                   tool: str) -> None:
    """Every algorithm the registry gives a checksum list is checked by the checker the registry names."""
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    rec, _ = _offload(make_card, dest_dirs, recorded_offload, algorithms=LIST_ALGORITHMS,
                      options=HandoffOptions(checksum_lists=LIST_ALGORITHMS))
    roll = Path(rec.plan.destinations[0])
    [listing] = roll.glob(f"*.{alg}")
    ok = subprocess.run([tool, "-c", listing.name], cwd=roll, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count(": OK") == len(CARD)
    victim = roll / "Clips" / "Über" / "Café.wav"
    data = bytearray(victim.read_bytes())
    data[10] ^= 0xFF
    victim.write_bytes(bytes(data))
    bad = subprocess.run([tool, "-c", listing.name], cwd=roll, capture_output=True, text=True)
    assert bad.returncode != 0 and "Café.wav: FAILED" in bad.stdout


def test_sidecars_do_not_disturb_the_asc_mhl(make_card, dest_dirs, recorded_offload, oracle: Oracle) -> None:
    rec, result = _offload(make_card, dest_dirs, recorded_offload)
    roll = Path(rec.plan.destinations[1])
    names = {Path(p).name for p in result.written if Path(p).parent == roll}
    assert names == {f"A001R2EC_{_start(rec)}Z.{ext}" for ext in ("xxh64", "md5", "xxh128", "xxh3", "mhl", "csv",
                                                                   "json")}
    assert (roll / "ascmhl" / "0001_A001R2EC_2023-10-14_224105Z.mhl").is_file()
    v = oracle.verify(roll)
    assert v.returncode == 0, v.stdout + v.stderr  # the sidecars are ignored by name, not "new files"


def _start(rec) -> str:
    """The offload's start as the catalog holds it, which names the sidecars (the engine's own start can be in
    the second before: the test failed when the two straddled a second)."""
    import datetime as dt

    from datawrangler.store.handoff import offload_summary

    db = open_catalog(rec.db_path)
    try:
        summary = offload_summary(db, rec.offload_id)
    finally:
        db.close()
    assert summary is not None
    return dt.datetime.fromtimestamp(summary.started_at, dt.UTC).strftime("%Y-%m-%d_%H%M%S")


def test_legacy_mhl_uses_xxhash64be_with_the_canonical_digest(make_card, dest_dirs, recorded_offload) -> None:
    rec, _ = _offload(make_card, dest_dirs, recorded_offload, algorithms=("xxh64", "md5"))
    roll = Path(rec.plan.destinations[0])
    [mhl] = roll.glob("*.mhl")
    root = ET.parse(mhl).getroot()
    assert root.tag == "hashlist" and root.get("version") == "1.1"
    hashes = {h.findtext("file"): h for h in root.iter("hash")}
    assert set(hashes) == set(CARD)
    a = hashes["A.mov"]
    assert a.find("xxhash64") is None
    out = subprocess.run(["xxhsum", "A.mov"], cwd=roll, capture_output=True, text=True, check=True).stdout
    assert a.findtext("xxhash64be") == out.split()[0]
    assert a.findtext("size") == "100000" and a.findtext("md5")
    assert [c.tag for c in a] == ["file", "size", "lastmodificationdate", "md5", "xxhash64be", "hashdate"]


def test_csv_and_json_manifests_say_what_the_catalog_says(make_card, dest_dirs, recorded_offload) -> None:
    rec, _ = _offload(make_card, dest_dirs, recorded_offload, algorithms=("xxh64",))
    roll = Path(rec.plan.destinations[0])
    [c] = roll.glob("*.csv")
    rows = list(csv.reader(io.StringIO(c.read_text(encoding="utf-8"), newline="")))
    d1, d2 = rec.plan.destinations
    assert rows[0] == ["path", "size", "mtime", "xxh64", f"verification {d1}", f"verification {d2}"]
    body = {r[0]: r for r in rows[1:]}
    assert set(body) == set(CARD)
    assert body["Clips/B 2.mov"][1] == "50000" and body["Clips/B 2.mov"][4:] == ["verified", "verified"]
    [j] = roll.glob("*.json")
    doc = json.loads(j.read_text(encoding="utf-8"))
    f = {x["path"]: x for x in doc["files"]}["Clips/Über/Café.wav"]
    assert f["size"] == 7000 and len(f["digests"]["xxh64"]) == 16
    assert [v["state"] for v in f["verification"]] == ["verified", "verified"]
    assert all(v["verified_at"] for v in f["verification"])


def test_manifest_bytes_are_stable_and_exact() -> None:
    entries = [ascmhl.Entry("Clips/a & b.mov", 5, 1_697_280_000_000_000_000,
                            (ascmhl.Hash("xxh64", "0ea03b369a463d9d", "original", NOW),
                             ascmhl.Hash("c4", "c4x", "original", NOW)))]
    one = ascmhl.render_manifest(entries, CREATOR, "transfer", ["*.tmp"], NOW)
    assert one == ascmhl.render_manifest(entries, CREATOR, "transfer", ["*.tmp"], NOW)
    assert one.decode() == """<?xml version="1.0" encoding="UTF-8"?>
<hashlist version="2.0" xmlns="urn:ASC:MHL:v2.0">
  <creatorinfo>
    <creationdate>2023-10-14T22:41:05+00:00</creationdate>
    <hostname>cart-01.local</hostname>
    <tool version="0.1.0">DataWrangler</tool>
    <author>Kim DIT</author>
  </creatorinfo>
  <processinfo>
    <process>transfer</process>
    <ignore>
      <pattern>.DS_Store</pattern>
      <pattern>ascmhl</pattern>
      <pattern>ascmhl/</pattern>
      <pattern>*.tmp</pattern>
    </ignore>
  </processinfo>
  <hashes>
    <hash>
      <path size="5" lastmodificationdate="2023-10-14T10:40:00+00:00">Clips/a &amp; b.mov</path>
      <c4 action="original" hashdate="2023-10-14T22:41:05+00:00">c4x</c4>
      <xxh64 action="original" hashdate="2023-10-14T22:41:05+00:00">0ea03b369a463d9d</xxh64>
    </hash>
  </hashes>
</hashlist>
"""
