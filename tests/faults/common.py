"""What every reliability test checks: the catalog, the ASC MHL manifests and the disk agree, and none of
them says more than what is true.

The manifests are parsed here with ElementTree, independently of datawrangler.handoff, so a bug in the
writer cannot hide itself from the check.
"""

from __future__ import annotations

import json
import os
import sqlite3
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xxhash

from datawrangler.config import app_paths
from datawrangler.core.transfer import is_temp_name

MHL_NS = "{urn:ASC:MHL:v2.0}"


def catalog_file() -> Path:
    """The catalog the CLI uses under the test's DATAWRANGLER_HOME."""
    return app_paths().catalog_file


def xxh64_of(path: Path) -> str:
    h = xxhash.xxh64()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def tree(root: Path) -> dict[str, tuple[int, int, str]]:
    """{rel path: (size, mtime_ns, xxh64)} of every regular file under root (the card's state)."""
    out: dict[str, tuple[int, int, str]] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            p = Path(dirpath) / name
            if p.is_symlink() or not p.is_file():
                continue
            st = p.stat()
            out[p.relative_to(root).as_posix()] = (st.st_size, st.st_mtime_ns, xxh64_of(p))
    return out


def footage(roll: Path) -> dict[str, str]:
    """{rel path: xxh64} under a roll folder, without the ascmhl/ history and temp files."""
    if not roll.is_dir():
        return {}
    return {rel: v[2] for rel, v in tree(roll).items() if not rel.startswith("ascmhl/")
            and not is_temp_name(rel.rsplit("/", 1)[-1])}


def temp_files(*roots: Path) -> list[Path]:
    return [p for r in roots if r.exists() for p in r.rglob("*") if is_temp_name(p.name)]


@dataclass(frozen=True)
class CopyRow:
    offload_id: int
    rel_path: str
    roll: str
    state: str
    code: str | None
    message: str | None
    file_status: str
    file_digests: dict[str, str]
    copy_digests: dict[str, str]


def copies(catalog: Path | None = None, offload_id: int | None = None) -> list[CopyRow]:
    con = sqlite3.connect(catalog or catalog_file())
    try:
        rows = con.execute(
            "SELECT f.offload_id, f.rel_path, d.path, c.state, c.code, c.message, f.status, f.digests, c.digests"
            " FROM copies c JOIN files f ON f.id = c.file_id JOIN destinations d ON d.id = c.destination_id"
            + (" WHERE f.offload_id = ?" if offload_id is not None else "") + " ORDER BY f.rel_path, d.idx",
            (offload_id,) if offload_id is not None else ()).fetchall()
    finally:
        con.close()
    return [CopyRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7] or "{}"), json.loads(r[8] or "{}"))
            for r in rows]


def offload_rows(catalog: Path | None = None) -> list[dict[str, Any]]:
    con = sqlite3.connect(catalog or catalog_file())
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM offloads ORDER BY id")]
    finally:
        con.close()


def integrity_ok(catalog: Path | None = None) -> bool:
    con = sqlite3.connect(catalog or catalog_file())
    try:
        return bool(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                    and not con.execute("PRAGMA foreign_key_check").fetchall())
    finally:
        con.close()


def mhl_entries(roll: Path) -> dict[str, dict[str, tuple[str, str]]]:
    """Every path the roll's ASC MHL manifests list: {path: {algorithm: (digest, action)}} (later
    generations override earlier ones)."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for manifest in sorted((roll / "ascmhl").glob("*.mhl")):
        root = ET.parse(manifest).getroot()
        for h in root.iter(f"{MHL_NS}hash"):
            path_el = h.find(f"{MHL_NS}path")
            assert path_el is not None and path_el.text, f"a hash without a path in {manifest}"
            digests = {child.tag.removeprefix(MHL_NS): ((child.text or "").strip(), child.get("action", ""))
                       for child in h if child.tag != f"{MHL_NS}path"}
            out.setdefault(path_el.text, {}).update(digests)
    return out


def has_copies_table(catalog: Path) -> bool:
    """False for a catalog whose schema was never committed (a SIGKILL while it was being created)."""
    con = sqlite3.connect(catalog)
    try:
        return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'copies'").fetchone() \
            is not None
    finally:
        con.close()


def assert_nothing_claimed_falsely(card_state: dict[str, tuple[int, int, str]], catalog: Path | None = None,
                                   rolls: list[Path] | None = None, offload_id: int | None = None) -> None:
    """The promise, checked against the disk:
    - every copy the catalog calls verified is on disk, with the card's bytes and the recorded digest;
    - every file under a final name in a roll has the card's bytes;
    - every path an ASC MHL lists as original/verified is on disk with the listed digest and the card's bytes,
      and the catalog holds that copy verified."""
    cat = catalog or catalog_file()
    verified: set[tuple[str, str]] = set()
    if cat.exists():
        assert integrity_ok(cat), "the catalog fails its integrity check"
        for c in copies(cat, offload_id) if has_copies_table(cat) else []:  # no schema yet: it claims nothing
            if c.state != "verified":
                continue
            on_disk = Path(c.roll) / c.rel_path
            assert on_disk.is_file(), f"the catalog calls {on_disk} verified, but it is not there"
            digest = xxh64_of(on_disk)
            assert digest == card_state[c.rel_path][2], f"the catalog calls {on_disk} verified, its bytes differ"
            if "xxh64" in c.file_digests:
                assert c.file_digests["xxh64"] == digest
            verified.add((os.path.normpath(c.roll), c.rel_path))
    for roll in rolls or []:
        for rel, digest in footage(roll).items():
            assert rel in card_state and digest == card_state[rel][2], f"wrong bytes under a final name: {roll}/{rel}"
        for rel, digests in mhl_entries(roll).items():
            actions = {a for _, a in digests.values()}
            if actions & {"original", "verified"}:
                p = roll / rel
                assert p.is_file(), f"the ASC MHL of {roll} lists {rel} as {actions}, but it is not there"
                if "xxh64" in digests:
                    assert digests["xxh64"][0] == xxh64_of(p), f"the ASC MHL lists a wrong digest for {rel}"
                assert xxh64_of(p) == card_state[rel][2], f"the ASC MHL lists {rel}, its bytes differ from the card"
                assert (os.path.normpath(roll), rel) in verified, f"the ASC MHL lists {rel}; the catalog does not"


def events_of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("event") == kind]
