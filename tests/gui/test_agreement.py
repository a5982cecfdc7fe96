"""The three ways to offload a card agree, because they are one (app.offload.run_offload): the same card
offloaded with the same preset through `datawrangler offload --preset`, through the window (offscreen, a
real worker process) and through auto-offload gives the same catalog rows (modulo ids, times and the
destination roots), the same handoff files in each roll, and an offload report each. A resume started from
the window checks the card's own ASC MHL history, as a new offload does."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from datawrangler.app.auto import AutoOffloader
from datawrangler.app.offload import run_offload
from datawrangler.app.request import OffloadRequest
from datawrangler.cli import main as cli
from datawrangler.config import Settings, save_presets
from datawrangler.core.events import OffloadControl
from datawrangler.core.presets import Preset
from datawrangler.gui.messages import Message
from datawrangler.gui.prefs import GuiPrefs, Profile
from datawrangler.gui.theme import Status
from datawrangler.platform import Volume
from tests.conftest import CardBuilder

PRESET = dict(template="{project}/{date}/{card}", algorithms=("xxh64", "md5"), handoff=("ascmhl", "md5sum", "csv"),
              copies_required=1, project="NS", day=3, keep_awake=False)  # test folders: one physical disk
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}(_\d{4,6}Z?)?")


def _home(monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    monkeypatch.setenv("DATAWRANGLER_HOME", str(root / "home"))
    return root / "home"


def _drives(root: Path) -> tuple[Path, Path]:
    out = (root / "SHUTTLE1", root / "SHUTTLE2")
    for d in out:
        d.mkdir(parents=True)
    return out


def _catalog_rows(catalog: Path, roots: tuple[Path, ...]) -> dict[str, Any]:
    con = sqlite3.connect(catalog)
    try:
        def q(sql: str) -> list[tuple]:
            return [tuple(r) for r in con.execute(sql)]

        rolls = [(idx, str(Path(path).relative_to(roots[idx])), state, files_ok, files_failed)
                 for idx, path, state, files_ok, files_failed in
                 q("SELECT idx, path, state, files_ok, files_failed FROM destinations ORDER BY idx")]
        return {
            "offloads": q("SELECT reel, camera, project, operator, state, verify_mode, algorithms, files_total, "
                          "bytes_total, files_verified, files_failed, files_skipped, shooting_day, location, "
                          "incremental_of, resumes, message FROM offloads"),
            "cards": q("SELECT fingerprint, vendor, reel, file_count, total_bytes FROM cards"),
            "destinations": rolls,
            "files": q("SELECT rel_path, size, mtime_ns, digests, status, code, source_reverified FROM files "
                       "ORDER BY rel_path"),
            "copies": q("SELECT f.rel_path, d.idx, c.state, c.digests, c.code, c.already_present, c.cache_bypassed "
                        "FROM copies c JOIN files f ON f.id = c.file_id JOIN destinations d ON d.id = "
                        "c.destination_id ORDER BY 1, 2"),
            "verifications": q("SELECT f.rel_path, d.idx, v.method, v.result, v.digests FROM verifications v JOIN "
                               "copies c ON c.id = v.copy_id JOIN files f ON f.id = c.file_id JOIN destinations d "
                               "ON d.id = c.destination_id ORDER BY 1, 2"),
            # the clips read after the copies (the card's .mov files are random bytes: possibly damaged, alike)
            "clips": q("SELECT c.name, c.kind, c.state, c.problems, c.files, c.bytes, c.codec, c.tc_in, d.idx, "
                       "json_array_length(c.thumbnails) FROM clips c LEFT JOIN destinations d ON d.id = c.read_from "
                       "ORDER BY 1"),
            "clip_files": q("SELECT c.name, f.rel_path FROM clip_files cf JOIN clips c ON c.id = cf.clip_id "
                            "JOIN files f ON f.id = cf.file_id ORDER BY 1, 2"),
        }
    finally:
        con.close()


def _handoff(roll: Path) -> dict[str, Any]:
    """The handoff files of one roll: their names (dates taken out) and what they say about each file."""
    names = sorted(STAMP.sub("<when>", str(p.relative_to(roll))) for p in roll.rglob("*")
                   if p.is_file() and (p.parent.name == "ascmhl" or p.suffix in (".md5", ".csv")))
    manifests = sorted((roll / "ascmhl").glob("0001_*.mhl"))
    assert len(manifests) == 1, names
    hashes = sorted(re.findall(r'<path size="(\d+)"[^>]*>([^<]+)</path>\s*<md5 action="(\w+)"[^>]*>(\w+)</md5>\s*'
                               r'<xxh64 action="(\w+)"[^>]*>(\w+)</xxh64>', manifests[0].read_text()))
    md5 = next(p for p in roll.iterdir() if p.suffix == ".md5").read_text()
    return {"names": names, "mhl": hashes, "md5sum": md5}


def _outcome(home: Path, catalog: Path, drives: tuple[Path, ...]) -> dict[str, Any]:
    rows = _catalog_rows(catalog, drives)
    rolls = [d / rel for d, (_i, rel, *_r) in zip(drives, rows["destinations"], strict=True)]
    reports = sorted((home / "data" / "reports").rglob("offload-*.pdf"))
    assert len(reports) == 1, f"one offload report each: {reports}"
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(reports[0]).pages).split())
    assert "Card A001: Safe to format" in text and "Production NS" in text, text[:400]
    return {"catalog": rows, "handoff": [_handoff(r) for r in rolls],
            "report": STAMP.sub("<when>", reports[0].name)}


@pytest.mark.slow
def test_cli_window_and_auto_offload_write_the_same_catalog_rows_handoff_files_and_report(
        env: Callable, make_card: CardBuilder, tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    card = make_card(name="A001R2EC")
    seen: dict[str, dict[str, Any]] = {}

    # 1. the command line, with the preset saved in the settings folder
    home = _home(monkeypatch, tmp_path / "cli")
    drives = _drives(tmp_path / "cli")
    save_presets([Preset("Main", destinations=tuple(map(str, drives)), **PRESET)])  # type: ignore[arg-type]
    catalog = home / "data" / "catalog.sqlite"
    assert cli(["--catalog", str(catalog), "offload", str(card), "--preset", "Main", "-q"]) == 0
    seen["cli"] = _outcome(home, catalog, drives)

    # 2. the window: the card appears, is inspected, queued and offloaded in a worker process
    home = _home(monkeypatch, tmp_path / "window")
    drives = _drives(tmp_path / "window")
    preset = Preset("Main", destinations=tuple(map(str, drives)), **PRESET)  # type: ignore[arg-type]
    e = env(Profile(Settings(), (preset,), GuiPrefs(last_preset="Main")), window=False)
    catalog = Path(e.catalog)
    c = e.controller
    c.add_source(str(card))
    e.wait(lambda: e.card(card) is not None and e.card(card).status is Status.NEW, 30_000)
    item = c.enqueue(str(card))
    assert item is not None
    e.wait(lambda: item.status in (Status.SAFE, Status.VERIFIED, Status.FAILED, Status.CANCELLED), 120_000)
    assert item.status is Status.SAFE, item.error
    seen["window"] = _outcome(home, catalog, drives)

    # 3. auto-offload: the card mounts, the preset has auto-offload on
    home = _home(monkeypatch, tmp_path / "auto")
    drives = _drives(tmp_path / "auto")
    catalog = home / "data" / "catalog.sqlite"
    preset = Preset("Main", destinations=tuple(map(str, drives)), auto_offload=True, **PRESET)  # type: ignore[arg-type]
    auto = AutoOffloader(preset, catalog)
    done = auto.handle(Volume(str(card), "A001R2EC", "exfat", "/dev/sdz1", None, None, None, True, "8:1"))
    assert done.kind == "finished" and done.safe_to_format, done
    seen["auto"] = _outcome(home, catalog, drives)

    assert seen["cli"]["catalog"]["files"] and seen["cli"]["catalog"]["copies"], "the comparison compares rows"
    assert seen["cli"]["catalog"]["offloads"][0][:5] == ("A001", "A", "NS", None, "verified")
    assert seen["cli"]["catalog"]["clips"] and seen["cli"]["catalog"]["clip_files"]  # compared, not vacuous
    for path in ("window", "auto"):
        for part in ("catalog", "handoff", "report"):
            assert seen[path][part] == seen["cli"][part], f"{path} differs from the CLI in its {part}"


@pytest.mark.slow
def test_a_resume_from_the_window_checks_the_cards_own_ascmhl_history(
        env: Callable, profile_with: Callable, make_card: CardBuilder, tmp_path: Path) -> None:
    """A shuttle drive arrives with its ASC MHL history, and one of its files no longer matches it. Its
    offload was interrupted; the DIT presses Resume in the window: the mismatch is said, by name."""
    card = make_card(name="A001R2EC")
    shuttle = tmp_path / "shuttle"
    shuttle.mkdir()
    catalog = tmp_path / "catalog.sqlite"
    first = run_offload(OffloadRequest(str(card), (str(shuttle),), copies_required=1, report=False), catalog=catalog)
    roll = shuttle / "A001R2EC"
    assert first.safe and list((roll / "ascmhl").glob("*.mhl"))
    bad = roll / "A001R2EC/A001C002_231014_R2EC.mov"
    st = bad.stat()
    data = bytearray(bad.read_bytes())
    data[1000] ^= 0xFF  # bit rot on the shuttle drive: same size, same date
    bad.write_bytes(bytes(data))
    os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns))

    raid = tmp_path / "RAID"
    raid.mkdir()
    control = OffloadControl()
    control.cancel()  # stopped before its end: resumable
    stopped = run_offload(OffloadRequest(str(roll), (str(raid),), copies_required=1, report=False), control,
                          catalog=catalog)
    assert stopped.result.state.value == "cancelled"

    e = env(profile_with([raid], copies_required=1), window=False)
    assert Path(e.catalog) == catalog
    said: list[Message] = []
    e.messages.posted.connect(said.append)
    c = e.controller
    c.load_resumable()
    e.wait(lambda: any(q.offload_id == stopped.offload_id for q in c.queue.rows), 20_000)
    old = next(q for q in c.queue.rows if q.offload_id == stopped.offload_id)
    item = c.retry(old.id)
    assert item is not None
    e.wait(lambda: item.status in (Status.SAFE, Status.VERIFIED, Status.FAILED, Status.CANCELLED), 120_000)
    assert item.outcome is not None, f"the resume ran to its end: {item.error}"
    assert item.outcome.offload_id == stopped.offload_id and item.outcome.result.files_total == 4
    texts = [m.text for m in said]
    assert any("A001R2EC/A001C002_231014_R2EC.mov differs from the source's ASC MHL history" in t for t in texts), texts
    assert any("source ASC MHL history" in t and "1 MISMATCH" in t for t in texts), texts
    con = sqlite3.connect(catalog)
    try:
        resumes = con.execute("SELECT resumes FROM offloads WHERE id = ?", (stopped.offload_id,)).fetchone()[0]
    finally:
        con.close()
    assert resumes == 1, "the window resumed the offload in the catalog, not a new one"
    # the window's verdict says what the handoff says: that file failed against the card's own history
    assert item.status is Status.FAILED, item.status
    assert item.outcome.result.state.value == "completed with errors"
    failed = [f for f in item.outcome.result.failures if f.rel_path == "A001R2EC/A001C002_231014_R2EC.mov"]
    assert failed and failed[0].code is not None and failed[0].code.value == "source_history_mismatch", failed
    assert "does not match the card's own ASC MHL history" in failed[0].message
